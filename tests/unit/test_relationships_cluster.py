"""Topics' TF-IDF and average-link clustering compute what scikit-learn does (it is in the `train` extra)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from bot.relationships.cluster import average_link, stop_words, tfidf
from bot.relationships.topics import _WORD, _plain_words

DEMO = Path(__file__).parents[2] / "bot" / "data" / "demo.jsonl"


def demo_texts() -> list[str]:
    return [json.loads(line)["text"] for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]


def partition(labels: np.ndarray) -> list[tuple[int, ...]]:
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    return sorted(tuple(g) for g in groups.values())


def test_stop_words_are_scikit_learns_english_list() -> None:
    text = pytest.importorskip("sklearn.feature_extraction.text")
    assert stop_words() == text.ENGLISH_STOP_WORDS


def test_tfidf_matches_scikit_learns_vectorizer() -> None:
    text = pytest.importorskip("sklearn.feature_extraction.text")
    texts = demo_texts()
    vectorizer = text.TfidfVectorizer(
        stop_words="english", sublinear_tf=True, preprocessor=_plain_words, token_pattern=_WORD.pattern
    )
    expected = vectorizer.fit_transform(texts).toarray()
    matrix, vocabulary = tfidf(texts, _plain_words, _WORD)
    assert list(vocabulary) == list(vectorizer.get_feature_names_out())
    np.testing.assert_allclose(matrix, expected, atol=1e-12)


@pytest.mark.parametrize("min_similarity", [0.1, 0.2, 0.35, 0.6])
def test_average_link_matches_scikit_learns_clustering(min_similarity: float) -> None:
    cluster = pytest.importorskip("sklearn.cluster")
    matrix, _ = tfidf(demo_texts(), _plain_words, _WORD)
    rows = matrix[np.linalg.norm(matrix, axis=1) > 0]
    model = cluster.AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1 - min_similarity
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = model.fit_predict(rows)
    assert partition(average_link(rows, 1 - min_similarity)) == partition(expected)


def test_average_link_joins_on_the_mean_distance_not_the_nearest_member() -> None:
    # b is close to a and c; a and c are far apart: single link would chain all three, average link stops.
    points = np.array([[1.0, 0.0], [np.cos(0.6), np.sin(0.6)], [np.cos(1.2), np.sin(1.2)]])
    labels = average_link(points, max_distance=1 - np.cos(0.61))
    assert len(set(labels[:2])) == 1 or len(set(labels[1:])) == 1
    assert len(set(labels)) == 2


def test_text_of_stop_words_alone_has_no_vocabulary() -> None:
    with pytest.raises(ValueError, match="empty vocabulary"):
        tfidf(["the and of", "it is"], _plain_words, _WORD)
