"""Benchmark: topics' numpy TF-IDF and average-link clustering beside scikit-learn's, same tweets, same thresholds.

Real customer tweets (TWCS sample rows 2,000 on, ../shared/data), clustered on TF-IDF vectors and on
the classifier's base-encoder vectors; prints whether vocabulary, vectors and partitions agree and
both run times. Needs the `train` extra (scikit-learn). Asserts nothing.

    python bench/topics_clustering.py [--data ../shared/data] [--n 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.classifier import customer_tweets  # noqa: E402
from bot.relationships.cluster import average_link, tfidf  # noqa: E402
from bot.relationships.topics import _WORD, _plain_words  # noqa: E402
from nlp.loader import load_classifier  # noqa: E402


def partition(labels: np.ndarray) -> list[tuple[int, ...]]:
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    return sorted(tuple(g) for g in groups.values())


def main() -> None:
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    texts = customer_tweets(args.data, args.n)
    vectorizer = TfidfVectorizer(
        stop_words="english", sublinear_tf=True, preprocessor=_plain_words, token_pattern=_WORD.pattern
    )
    expected = vectorizer.fit_transform(texts).toarray()
    ours, vocabulary = tfidf(texts, _plain_words, _WORD)
    same_vocabulary = list(vocabulary) == list(vectorizer.get_feature_names_out())
    print(f"{len(texts)} tweets; TF-IDF vocabulary equal: {same_vocabulary}, largest difference "
          f"{np.abs(expected - ours).max():.1e}")  # fmt: skip
    encoder = load_classifier(threads=2).embed(texts)
    for name, vectors, thresholds in (("TF-IDF", ours, (0.2, 0.3)), ("encoder", encoder, (0.45, 0.6))):
        rows = vectors[np.linalg.norm(vectors, axis=1) > 0]
        for t in thresholds:
            started = time.perf_counter()
            mine = partition(average_link(rows, 1 - t))
            middle = time.perf_counter()
            model = AgglomerativeClustering(
                n_clusters=None, metric="cosine", linkage="average", distance_threshold=1 - t
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = partition(model.fit_predict(rows / np.linalg.norm(rows, axis=1, keepdims=True)))
            done = time.perf_counter()
            print(f"{name:<8} similarity {t}: {len(rows)} rows, {len(mine)} topics (scikit-learn {len(theirs)}), "
                  f"same partition: {mine == theirs}; {middle - started:.2f} s vs {done - middle:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
