"""The lexical half of retrieval: Okapi BM25 (rank-bm25) over each article's title and questions,
scaled to [0, 1] so it can be added to a cosine similarity."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Plus

# English function words; other languages keep theirs (BM25's idf discounts what every article has).
_STOP = frozenset(
    "a an the i my me we our you your is are am be do does did can could would should will to of in on at for "
    "with and or it this that there what how when where why which who please hi hello hey thanks thank any "
    "just get got have has i'm im i've ive it's its i'd id don't dont can't cant am was were been being also "
    "know tell".split()
)
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str, language: str = "en") -> list[str]:
    """Lower-cased content words; English ones without stop words and with plural/tense endings cut."""
    words = _TOKEN.findall(text.lower().replace("’", "'"))
    if language != "en":
        return words
    return [_stem(w) for w in words if w not in _STOP]


class Lexical:
    """BM25 with one document per phrasing; `scores` are in [0, 1] whatever the size of the folder."""

    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        self.size = len(documents)
        # BM25+ for its idf, log((N + 1) / n), which stays positive in a folder of two articles (Okapi's
        # is zero or negative there); delta 0 leaves Okapi's term weighting, so a word a phrasing lacks
        # adds nothing. rank-bm25 divides by the mean length: a folder of stop words only has none.
        self._bm25 = BM25Plus([list(d) for d in documents], delta=0) if any(documents) else None
        self._postings: dict[str, list[int]] = {}
        for i, doc in enumerate(documents):
            for term in set(doc):
                self._postings.setdefault(term, []).append(i)
        self._rarest = max(self._bm25.idf.values(), default=0.0) if self._bm25 is not None else 0.0

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Each phrasing's BM25 score as a share of what a phrasing identical to the query would earn.

        A share, not the raw score, so that one threshold means the same in a folder of eight articles
        and one of a thousand; a word no phrasing has counts at the rarest word's idf, so words the
        folder has never seen ("...to Iceland?") pull the score down instead of being ignored.
        """
        out = np.zeros(self.size, dtype=np.float32)
        bm25 = self._bm25
        if bm25 is None or not query:
            return out
        # Only phrasings that share a word can score; rank-bm25 would otherwise visit every one.
        candidates = sorted({i for t in set(query) for i in self._postings.get(t, ())})
        if not candidates:
            return out
        raw = np.asarray(bm25.get_batch_scores(list(query), candidates), dtype=np.float64)
        length = bm25.k1 * (1 - bm25.b + bm25.b * len(query) / bm25.avgdl)
        ceiling = 0.0
        for term in set(query):
            tf = query.count(term)
            ceiling += max(bm25.idf.get(term, self._rarest), 0.0) * tf * (bm25.k1 + 1) / (tf + length)
        if ceiling > 0:
            out[candidates] = np.clip(raw / ceiling, 0.0, 1.0)
        return out
