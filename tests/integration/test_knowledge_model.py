"""The knowledge base on the classifier's real encoder: the bundled articles answer their own questions
and paraphrases, not off-topic ones; article vectors are cached on disk and redone when a file changes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.config import KnowledgeSettings
from bot.knowledge import BUNDLED, Encoder, KnowledgeBase
from bot.knowledge.cache import VectorCache
from bot.knowledge.index import SEMANTIC_WEIGHT
from nlp.loader import load_classifier
from nlp.model import TransformerClassifier

pytestmark = pytest.mark.model

DEFAULTS = KnowledgeSettings()
THRESHOLDS = DEFAULTS.model_dump(include={"min_score", "min_score_lexical"})


@pytest.fixture(scope="module")
def classifier() -> TransformerClassifier:
    os.environ["HF_HUB_OFFLINE"] = "1"
    c = load_classifier(threads=2)
    assert isinstance(c, TransformerClassifier), "the shipped weights should load, not the rule fallback"
    return c


@pytest.fixture(scope="module")
def kb(classifier: TransformerClassifier) -> KnowledgeBase:
    encoder = Encoder(classifier.embed, classifier.version)
    return KnowledgeBase(BUNDLED, **THRESHOLDS, encoder=encoder)


class CountingEncoder:
    """The real encoder, recording which texts it was asked to embed."""

    def __init__(self, classifier: TransformerClassifier) -> None:
        self.classifier = classifier
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Any:
        self.calls.append(list(texts))
        return self.classifier.embed(texts)


def test_the_bundled_articles_answer_their_own_questions(kb: KnowledgeBase) -> None:
    assert kb.semantic
    for article in kb.articles:
        for question in article.questions:
            found = kb.answer(question, article.language)
            assert found is not None and (found.article, found.answered) == (article.stem, True), question


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("What are your opening hours for phone support?", "opening-hours"),
        ("@brand what is your return policy for opened items?", "return-policy"),
        ("what is the return policy for opened items", "return-policy"),
        ("Hi, I ordered last week. How long does delivery usually take?", "shipping-time"),
        ("I forgot my login password, how can I get a new one?", "reset-password"),
        ("what forms of payment do you take", "payment-methods"),
    ],
)
def test_paraphrases_the_word_overlap_faq_missed_are_answered(kb: KnowledgeBase, question: str, article: str) -> None:
    found = kb.answer(question)
    assert found is not None and found.article == article and found.answered, found


@pytest.mark.parametrize(
    "question",
    [
        "what is the meaning of life",
        "Which warehouse ships orders to Iceland?",
        "Can I talk to a real person please?",
        "Is there a discount for students?",
        "how do I delete my account",
        "Ok, thanks for your help.",
    ],
)
def test_off_topic_questions_are_left_to_a_person(kb: KnowledgeBase, question: str) -> None:
    found = kb.answer(question)
    assert found is not None and not found.answered, found


def test_scores_blend_the_encoder_with_bm25_on_a_0_to_1_scale(kb: KnowledgeBase) -> None:
    exact = kb.answer("how do I reset my password")
    assert exact is not None and exact.score == pytest.approx(1.0, abs=0.01)  # cosine 1 and the whole BM25 share
    assert 0 < SEMANTIC_WEIGHT < 1


def test_article_vectors_are_cached_and_redone_only_for_what_changed(
    classifier: TransformerClassifier, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "gift-cards.md").write_text("---\nquestions: ['do gift cards expire']\n---\nThey never expire.\n")
    (folder / "hours.md").write_text("---\nquestions: ['when are you open']\n---\nEvery day, 8 to 20.\n")
    counting = CountingEncoder(classifier)
    encoder = Encoder(counting.embed, classifier.version)
    cache = VectorCache(tmp_path / "cache", folder)

    def build() -> KnowledgeBase:
        return KnowledgeBase(folder, **THRESHOLDS, encoder=encoder, cache=cache)

    first = build()
    assert counting.calls == [["Gift cards", "do gift cards expire", "Hours", "when are you open"]]
    assert cache.path.is_file()
    build()  # a restart with the folder unchanged reads every vector from the file
    assert len(counting.calls) == 1

    (folder / "hours.md").write_text(
        "---\nquestions: ['when are you open', 'are you open on sundays']\n---\nEvery day, 8 to 20.\n"
    )
    assert first.reload()
    assert counting.calls[1:] == [["are you open on sundays"]]
    with np.load(cache.path) as stored:
        assert "are you open on sundays" in stored["texts"].tolist()
    found = first.answer("are you open on sundays")
    assert found is not None and found.article == "hours" and found.score == pytest.approx(1.0, abs=0.01)
    assert not first.reload()  # nothing changed since


def test_another_encoder_version_rebuilds_the_cache(classifier: TransformerClassifier, tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("Reply.\n")
    counting = CountingEncoder(classifier)
    cache = VectorCache(tmp_path / "cache", tmp_path)
    for version in ("v1", "v1", "v2"):
        KnowledgeBase(tmp_path, **THRESHOLDS, encoder=Encoder(counting.embed, version), cache=cache)
    assert counting.calls == [["A"], ["A"]]
