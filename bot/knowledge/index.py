"""Retrieval: a question against every article's phrasings, by meaning and by words.

An article's score is the best over its phrasings (title and questions) and over the message's
sentences of SEMANTIC_WEIGHT x cosine(encoder vectors) + (1 - SEMANTIC_WEIGHT) x BM25 share.
Both parts are absolute (a cosine, and a share of what an identical phrasing would earn), not ranks
within the folder, so a threshold keeps its meaning from eight articles to a thousand. On CLINC150
(bench/kb_clinc.py, test split) the threshold calibrated with 100 phrasings per article (0.60) keeps
precision near where it was with 5 phrasings per article (0.90 against 0.92) and answers far fewer
out-of-scope questions (1.1% against 6.5%), at a lower coverage; the default takes the stricter of
the two calibrations.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.errors import ConfigError
from bot.knowledge.articles import Article, lint, read_folder
from bot.knowledge.cache import Embed, VectorCache, unit
from bot.knowledge.lexical import Lexical, terms
from bot.ports import Answer

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).parents[1] / "data" / "knowledge"
DEFAULT_LANGUAGE = "en"
# Measured on CLINC150's validation split (bench/kb_clinc.py): 0.8 beat 1.0 (cosine alone), 0.7 and 0.6
# at the same out-of-scope rate; BM25 catches the product words ("paypal") the encoder blurs.
SEMANTIC_WEIGHT = 0.8
MAX_SENTENCES = 8  # a long message's first sentences are scored one by one as well as whole

# Handles, channel references and links say nothing about the question (Slack writes <@U123> and <https://..|x>).
_NOISE = re.compile(r"<[@#!][^>]*>|<https?://[^>]*>|https?://\S+|www\.\S+|[@#]\w+", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.?!])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Encoder:
    """The classifier's sentence encoder, and the version that keys its cached vectors."""

    embed: Embed
    version: str


@dataclass(frozen=True, slots=True)
class _Shelf:
    """One language's articles, their phrasings in article order, and both indexes over them."""

    language: str
    articles: tuple[Article, ...]
    starts: np.ndarray  # index of each article's first phrasing (for np.maximum.reduceat)
    lexical: Lexical
    vectors: np.ndarray | None  # unit rows, one per phrasing; None without an encoder


def queries(text: str) -> list[str]:
    """The texts a message is scored as: all of it, and each sentence of two words or more."""
    cleaned = _NOISE.sub(" ", text[:2000])
    whole = " ".join(cleaned.split())
    if not whole:
        return []
    parts = [" ".join(p.split()) for p in _SENTENCE.split(cleaned)]
    sentences = [p for p in parts if len(p.split()) >= 2 and p != whole]
    # Scored alone too: in "How do I reset my password? The app logs me out." the context sentence
    # should not drown the question.
    return [whole, *list(dict.fromkeys(sentences))[:MAX_SENTENCES]]


class KnowledgeBase:
    """The `Knowledge` port over a folder of Markdown articles, reloaded when the folder changes."""

    def __init__(
        self,
        folder: Path,
        *,
        min_score: float,
        min_score_lexical: float,
        encoder: Encoder | None = None,
        cache: VectorCache | None = None,
        check_seconds: float = 5.0,
        semantic_weight: float = SEMANTIC_WEIGHT,
    ) -> None:
        self.folder = folder
        self.min_score = min_score
        self.min_score_lexical = min_score_lexical
        self.encoder = encoder
        self.cache = cache
        self.check_seconds = check_seconds
        self.semantic_weight = semantic_weight
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._fingerprint = _fingerprint(folder)
        self.articles, self._shelves = self._build()

    @property
    def semantic(self) -> bool:
        """Whether answers use the encoder (else BM25 alone, against `min_score_lexical`)."""
        return self.encoder is not None and any(s.vectors is not None for s in self._shelves.values())

    def answer(self, text: str, language: str | None = None) -> Answer | None:
        found = self._scored(text, language)
        if found is None:
            return None
        shelf, scores, semantic = found
        threshold = self.min_score if semantic else self.min_score_lexical
        col = int(np.argmax(scores))
        best = shelf.articles[col]
        score = float(scores[col])
        return Answer(best.stem, round(score, 4), best.reply, score >= threshold)

    def search(
        self, text: str, language: str | None = None, *, limit: int = 3, floor: float = 0.0, floor_lexical: float = 0.0
    ) -> list[Answer]:
        """The best `limit` articles, best first, scoring at least `floor` (`floor_lexical` when scored by
        words alone, on that scale); for a person to pick from, so below the answering threshold too."""
        found = self._scored(text, language)
        if found is None:
            return []
        shelf, scores, semantic = found
        threshold, least = (self.min_score, floor) if semantic else (self.min_score_lexical, floor_lexical)
        order = np.argsort(-scores, kind="stable")[:limit]
        picked = [(shelf.articles[i], float(scores[i])) for i in order if scores[i] >= least and scores[i] > 0]
        return [Answer(a.stem, round(score, 4), a.reply, score >= threshold) for a, score in picked]

    def _scored(self, text: str, language: str | None) -> tuple[_Shelf, np.ndarray, bool] | None:
        """The language's articles, each one's best score over the message's queries, and whether they
        were scored by meaning (else by words alone: no encoder, or it failed)."""
        self._maybe_reload()
        shelf = self._shelves.get(language if language not in (None, "unknown") else DEFAULT_LANGUAGE)
        asked = queries(text)
        if shelf is None or not asked:
            return None
        lexical = np.stack([shelf.lexical.scores(terms(q, shelf.language)) for q in asked])
        scores = np.maximum.reduceat(lexical, shelf.starts, axis=1)
        semantic = False
        if self.encoder is not None and shelf.vectors is not None and shelf.vectors.size:
            try:
                vectors = unit(np.asarray(self.encoder.embed(asked), dtype=np.float32))
            except Exception as exc:  # a failing encoder must leave BM25 answering, not the message failing
                log.warning("knowledge base: encoder failed (%s); scoring by words alone", type(exc).__name__)
            else:
                cosine = np.maximum.reduceat(vectors @ shelf.vectors.T, shelf.starts, axis=1)
                scores = self.semantic_weight * cosine + (1 - self.semantic_weight) * scores
                semantic = True
        return shelf, scores.max(axis=0), semantic

    def reload(self) -> bool:
        """Rebuild from the folder if it changed since the last look; True if it did. A folder that no
        longer reads (an article saved half-edited) keeps the articles there were, with a warning."""
        with self._lock:
            self._checked = time.monotonic()
            current = _fingerprint(self.folder)
            if current == self._fingerprint:
                return False
            try:
                self.articles, self._shelves = self._build()
            except ConfigError as exc:
                log.warning("knowledge base: keeping the previous articles: %s", exc)
                return False
            finally:
                self._fingerprint = current
            log.info("knowledge base: reloaded %d articles from %s", len(self.articles), self.folder)
            return True

    def _maybe_reload(self) -> None:
        if time.monotonic() - self._checked >= self.check_seconds:
            self.reload()

    def _build(self) -> tuple[tuple[Article, ...], dict[str, _Shelf]]:
        if not self.folder.is_dir():
            raise ConfigError(f"knowledge.path: {self.folder} is not a folder of Markdown articles")
        articles, problems = read_folder(self.folder)
        if problems:
            listed = "\n".join(f"  {p}" for p in problems[:10])
            more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
            raise ConfigError(
                f"knowledge.path: {self.folder}: {len(problems)} problem(s) keep articles out "
                f"(`rapport kb check` lists them all):\n{listed}{more}"
            )
        for problem in lint(articles):
            log.warning("knowledge base: %s", problem)
        # One encoder call (and one cache file) for every phrasing, then each language's rows.
        vectors = self._vectors([p for a in articles for p in a.phrasings])
        rows: dict[str, range] = {}
        start = 0
        for article in articles:
            rows[article.stem] = range(start, start + len(article.phrasings))
            start += len(article.phrasings)
        shelves: dict[str, _Shelf] = {}
        for language in sorted({a.language for a in articles}):
            group = tuple(a for a in articles if a.language == language)
            picked = [i for a in group for i in rows[a.stem]]
            shelves[language] = _Shelf(
                language,
                group,
                np.cumsum([0, *(len(a.phrasings) for a in group[:-1])]),
                Lexical([terms(p, language) for a in group for p in a.phrasings]),
                vectors[picked] if vectors is not None else None,
            )
        return tuple(articles), shelves

    def _vectors(self, phrasings: list[str]) -> np.ndarray | None:
        """Unit vectors of the phrasings; None without an encoder, or when it fails (BM25 then answers)."""
        if self.encoder is None or not phrasings:
            return None
        try:
            if self.cache is not None:
                return self.cache.vectors(phrasings, self.encoder.embed, self.encoder.version)
            return unit(np.asarray(self.encoder.embed(phrasings), dtype=np.float32))
        except Exception as exc:
            log.warning("knowledge base: encoder failed (%s); answering by words alone", type(exc).__name__)
            return None


def _fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of the folder's articles: cheap to take every few seconds."""
    digest = hashlib.sha256()
    try:
        for path in sorted(folder.rglob("*.md")):
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    except OSError:
        digest.update(b"unreadable")
    return digest.hexdigest()
