"""The heads the model predicts and their label order (the order of the weight rows)."""

from __future__ import annotations

from nlp.types import Intent, Sentiment

SENTIMENTS: tuple[str, ...] = tuple(s.value for s in Sentiment)
INTENTS: tuple[str, ...] = tuple(i.value for i in Intent)
BINARY: tuple[str, ...] = ("false", "true")

HEADS: dict[str, tuple[str, ...]] = {
    "sentiment": SENTIMENTS,
    "intent": INTENTS,
    "urgent": BINARY,
    "abusive": BINARY,
}

# What the complaint data set calls a complaint: a cancellation is a complaint too (and takes precedence).
COMPLAINT_LIKE: tuple[int, ...] = (INTENTS.index("complaint"), INTENTS.index("cancellation"))
