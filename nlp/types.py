"""The classifier's output and the protocol every classifier implements.

The core (`bot/`) depends on these types; `nlp/` never imports the core.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Intent(StrEnum):
    COMPLAINT = "complaint"
    CANCELLATION = "cancellation"
    QUESTION = "question"
    REQUEST = "request"
    PURCHASE_INTEREST = "purchase_interest"
    PRAISE = "praise"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Analysis:
    """What a classifier concluded about one message.

    `scores` maps "<head>:<label>" (e.g. "intent:complaint", "sentiment:negative", "urgent:true")
    to a probability; the probabilities of one head sum to 1.
    """

    sentiment: Sentiment
    intent: Intent
    urgent: bool
    abusive: bool
    language: str  # ISO 639-1 code, or "unknown"
    confidence: float  # probability of the chosen intent
    low_confidence: bool
    scores: Mapping[str, float] = field(default_factory=dict)
    model_version: str = "unknown"

    @property
    def english(self) -> bool:
        # Short or symbol-only texts have no detectable language; treat them as English
        # rather than sending every "ok thanks" to a human.
        return self.language in ("en", "unknown")

    def head(self, name: str) -> dict[str, float]:
        """The probability distribution of one head, e.g. head("sentiment")."""
        prefix = name + ":"
        return {k[len(prefix) :]: v for k, v in self.scores.items() if k.startswith(prefix)}


@runtime_checkable
class Classifier(Protocol):
    """Anything that turns texts into analyses. CPU-bound and synchronous: callers run it in a thread."""

    @property
    def version(self) -> str: ...

    def classify(self, texts: Sequence[str]) -> list[Analysis]:
        """One analysis per text, in order. Must accept empty and very long texts."""
        ...
