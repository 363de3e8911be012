"""Answering questions from a small FAQ file by word overlap.

Lexical matching is deliberate: an FAQ answer goes to a customer unreviewed, so it should fire only
when the question plainly is the FAQ's question; everything fuzzier goes to a human.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ConfigError

BUNDLED = Path(__file__).parent / "data" / "faq.toml"

_STOP = frozenset(
    "a an the i my me we our you your is are am be do does did can could would should will to of in on at for "
    "with and or it this that there what how when where why which who please hi hello hey thanks thank any "
    "just get got have has i'm im i've ive it's its i'd id don't dont can't cant am was were been being also "
    "know tell".split()
)
_TOKEN = re.compile(r"[a-z0-9']+")
_MENTION = re.compile(r"[@#]\w+|https?://\S+")
_SENTENCE = re.compile(r"(?<=[.?!])\s+|\n+")


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> Counter[str]:
    return Counter(_stem(w) for w in _TOKEN.findall(text.lower().replace("’", "'")) if w not in _STOP)


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: str
    questions: tuple[str, ...]
    answer: str


@dataclass(frozen=True, slots=True)
class FaqMatch:
    entry: FaqEntry
    score: float


class Faq:
    def __init__(self, entries: list[FaqEntry]) -> None:
        self.entries = entries
        self._index = [(e, [_terms(q) for q in e.questions]) for e in entries]

    @classmethod
    def load(cls, path: str | Path | None = None) -> Faq:
        source = Path(path) if path else BUNDLED
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"faq.path: {source} not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"faq.path: {source} is not valid TOML: {exc}") from None
        entries = []
        for i, raw in enumerate(data.get("entry", [])):
            try:
                entries.append(FaqEntry(str(raw["id"]), tuple(str(q) for q in raw["questions"]), str(raw["answer"])))
            except (KeyError, TypeError):
                raise ConfigError(f"faq.path: {source}: entry {i + 1} needs id, questions and answer") from None
        return cls(entries)

    def best(self, text: str) -> FaqMatch | None:
        """The closest entry by overlap (Jaccard) of content words, or None if nothing overlaps."""
        cleaned = _MENTION.sub(" ", text[:2000])
        # Score each sentence alone too: "How do I reset my password? The app logs me out." asks
        # the FAQ's question, and the context sentence should not drown it.
        queries = [q for q in (_terms(part) for part in [cleaned, *_SENTENCE.split(cleaned)]) if q]
        best: FaqMatch | None = None
        for query in queries:
            for entry, variants in self._index:
                for terms in variants:
                    score = _jaccard(query, terms)
                    if best is None or score > best.score:
                        best = FaqMatch(entry, score)
        return best if best and best.score > 0 else None


def _jaccard(a: Counter[str], b: Counter[str]) -> float:
    # Jaccard rather than cosine: extra words in the question ("...to Iceland?") must count against
    # the match, or any question sharing two words with an FAQ entry would get its answer.
    shared = len(a.keys() & b.keys())
    if shared < min(2, len(b)):  # one common word ("update") is a coincidence, not a match
        return 0.0
    return shared / len(a.keys() | b.keys())
