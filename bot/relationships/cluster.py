"""TF-IDF vectors and average-link clustering in numpy: what topics need, without scikit-learn and SciPy.

Both compute what scikit-learn's `TfidfVectorizer(stop_words="english", sublinear_tf=True)` and
`AgglomerativeClustering(metric="cosine", linkage="average", distance_threshold=...)` compute (a test
compares them where scikit-learn is installed); the runtime stays 200 MB smaller without them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

STOP_WORDS_FILE = Path(__file__).resolve().parents[1] / "data" / "english_stop_words.txt"


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    lines = STOP_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def tfidf(
    texts: Sequence[str], preprocess: Callable[[str], str], token: re.Pattern[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of l2-normalised TF-IDF (1 + log tf, smoothed idf) and the sorted vocabulary.

    A ValueError when no text holds a word that is not a stop word, as scikit-learn raises.
    """
    stop = stop_words()
    counts = [Counter(w for w in token.findall(preprocess(t)) if w not in stop) for t in texts]
    vocabulary = sorted(set().union(*counts))
    if not vocabulary:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    column = {w: j for j, w in enumerate(vocabulary)}
    matrix = np.zeros((len(texts), len(vocabulary)))
    for i, c in enumerate(counts):
        for w, n in c.items():
            matrix[i, column[w]] = 1.0 + np.log(n)
    df = (matrix > 0).sum(axis=0)
    matrix *= np.log((1 + len(texts)) / (1 + df)) + 1.0
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0), np.array(vocabulary)


def average_link(vectors: np.ndarray, max_distance: float) -> np.ndarray:
    """A cluster number per row: average-link clusters by cosine distance, merged while nearer than `max_distance`.

    The nearest-neighbour chain algorithm (as SciPy's `linkage(method="average")`): O(n^2) time and memory.
    """
    n = len(vectors)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    distance = np.clip(1.0 - unit @ unit.T, 0.0, 2.0)
    np.fill_diagonal(distance, np.inf)
    size = np.ones(n)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    merges: list[tuple[float, int, int]] = []
    chain: list[int] = []
    while len(members) > 1:
        if not chain:
            chain.append(next(iter(members)))
        a = chain[-1]
        b = int(np.argmin(distance[a]))
        if len(chain) > 1 and distance[a, chain[-2]] <= distance[a, b]:
            b = chain[-2]  # ties go to the chain, so it never cycles
        if len(chain) < 2 or b != chain[-2]:
            chain.append(b)
            continue
        chain.pop()
        chain.pop()
        merges.append((float(distance[a, b]), a, b))
        # Lance-Williams: the average distance to the merged pair, kept in row and column a.
        row = (size[a] * distance[a] + size[b] * distance[b]) / (size[a] + size[b])
        distance[a], distance[:, a] = row, row
        distance[b], distance[:, b] = np.inf, np.inf
        distance[a, a] = np.inf
        size[a] += size[b]
        members[a] += members.pop(b)
    # Average link never merges closer than an earlier merge inside it, so the clusters below the
    # threshold are the leaves joined by the merges below it, in whatever order the chain found them.
    labels = np.arange(n)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for d, a, b in merges:
        if d < max_distance:
            parent[root(b)] = root(a)
    for i in range(n):
        labels[i] = root(i)
    return labels
