"""Labelled examples: our JSON-lines format, and readers for the public sets in ../shared/data.

One example may label any subset of the heads. Our own format (what `rapport train --extra`
reads) is one JSON object a line with `text` and any of `sentiment`, `intent` (one of ours, or a
list of allowed ones), `urgent`, `abusive` (true/false).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nlp import intent_map
from nlp.labels import INTENTS, SENTIMENTS


@dataclass(frozen=True, slots=True)
class Example:
    """A text and what is known about it; None means the head is not labelled here."""

    text: str
    source: str
    sentiment: int | None = None
    intents: tuple[int, ...] = ()  # allowed intent indices; empty means unlabelled
    urgent: int | None = None
    abusive: int | None = None
    group: str = ""  # e.g. the complaint data set's row id, for cross-validation folds


def _read(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _intents(names: Iterable[str]) -> tuple[int, ...]:
    return tuple(sorted(INTENTS.index(n) for n in names))


def _flag(value: object) -> int | None:
    return None if value is None else int(bool(value))


def read_own(path: Path, source: str = "own") -> list[Example]:
    """Examples in our own format (see the module docstring)."""
    out = []
    for row in _read(path):
        intent = row.get("intent")
        names = [intent] if isinstance(intent, str) else list(intent or [])  # type: ignore[call-overload]
        sentiment = row.get("sentiment")
        out.append(
            Example(
                text=str(row["text"]),
                source=source,
                sentiment=SENTIMENTS.index(str(sentiment)) if sentiment else None,
                intents=_intents(names),
                urgent=_flag(row.get("urgent")),
                abusive=_flag(row.get("abusive")),
            )
        )
    return out


def read_sentiment(path: Path) -> list[Example]:
    """SemEval/TweetEval sentiment tweets: sentiment only."""
    return [Example(str(r["text"]), "sentiment", sentiment=SENTIMENTS.index(str(r["sentiment"]))) for r in _read(path)]


def read_abuse(path: Path) -> list[Example]:
    """OffensEval tweets: offensive counts as abusive (it also covers profanity not aimed at us)."""
    return [Example(str(r["text"]), "abuse", abusive=int(r["offensive"])) for r in _read(path)]  # type: ignore[call-overload]


def read_complaints(path: Path) -> list[Example]:
    """Tweets to brands labelled complaint or not: complaint allows cancellation too, and vice versa."""
    yes = _intents([intent_map.COMPLAINT, intent_map.CANCEL])
    no = tuple(i for i in range(len(INTENTS)) if i not in yes)
    return [
        Example(str(r["text"]), "complaints", intents=yes if r["complaint"] else no, group=str(r["id"]))
        for r in _read(path)
    ]


def read_intents(path: Path, kind: str) -> list[Example]:
    """Bitext, Banking77 or CLINC150 rows, mapped to our intents (and urgency where it is clear)."""
    mapper = {"bitext": intent_map.bitext, "banking77": intent_map.banking, "clinc150": intent_map.clinc}[kind]
    urgent_set = {"banking77": intent_map.BANKING_URGENT, "clinc150": intent_map.CLINC_URGENT}.get(kind, set())
    out = []
    for r in _read(path):
        name = str(r["intent"])
        urgent = int(name in urgent_set) if kind != "bitext" else None
        text = str(r["text"])
        out.append(Example(text, kind, intents=_intents(intent_map.by_wording(text, mapper(name))), urgent=urgent))
    return out


def _sample(rows: list[Example], n: int, rng: random.Random) -> list[Example]:
    # CLINC150 is mostly personal-assistant commands; a sample keeps it from outweighing the tweets.
    return rng.sample(rows, min(n, len(rows)))


@dataclass(frozen=True, slots=True)
class Corpus:
    """Training examples, and held-out ones for calibration and evaluation."""

    train: list[Example]
    calibration: list[Example]


def shared_corpus(root: Path, extra: Iterable[Path] = (), sentiment_limit: int | None = None, seed: int = 0) -> Corpus:
    """Everything `rapport train` learns from; 5% of each source is held out to fit calibration."""
    rng = random.Random(seed)
    sources: list[list[Example]] = [
        read_sentiment(root / "sentiment/train.jsonl"),
        read_abuse(root / "abuse/train.jsonl"),
        read_complaints(root / "complaints/train.jsonl"),
        read_intents(root / "intents/bitext_customer_support.jsonl", "bitext"),
        read_intents(root / "intents/banking77_train.jsonl", "banking77"),
        _sample(read_intents(root / "intents/clinc150_train.jsonl", "clinc150"), 6000, rng),
    ]
    sources += [read_own(p) for p in extra]
    if sentiment_limit:
        sources[0] = rng.sample(sources[0], min(sentiment_limit, len(sources[0])))
    train: list[Example] = []
    calibration: list[Example] = []
    for rows in sources:
        rows = list(rows)
        rng.shuffle(rows)
        cut = len(rows) // 20
        calibration += rows[:cut]
        train += rows[cut:]
    return Corpus(train, calibration)
