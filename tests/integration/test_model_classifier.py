"""The shipped transformer classifier, loaded for real from the installed package and nlp/weights."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nlp.loader import load_classifier
from nlp.model import TransformerClassifier
from nlp.types import Analysis, Intent, Sentiment

pytestmark = pytest.mark.model

HEADS = ("sentiment", "intent", "urgent", "abusive")


@pytest.fixture(scope="module")
def classifier() -> TransformerClassifier:
    os.environ["HF_HUB_OFFLINE"] = "1"
    c = load_classifier(threads=2)
    assert isinstance(c, TransformerClassifier), "the shipped weights should load, not the rule fallback"
    return c


def test_angry_broken_order_is_a_negative_complaint(classifier: TransformerClassifier) -> None:
    (a,) = classifier.classify(["My order arrived broken AGAIN and nobody answers the phone. Absolutely useless."])
    assert a.intent is Intent.COMPLAINT
    assert a.sentiment is Sentiment.NEGATIVE


def test_thanks_is_positive_praise(classifier: TransformerClassifier) -> None:
    (a,) = classifier.classify(["thank you, great service"])
    assert a.intent is Intent.PRAISE
    assert a.sentiment is Sentiment.POSITIVE


def test_password_reset_is_a_question(classifier: TransformerClassifier) -> None:
    (a,) = classifier.classify(["how do I reset my password?"])
    assert a.intent is Intent.QUESTION


def test_cancellation_and_urgency(classifier: TransformerClassifier) -> None:
    cancel, charged = classifier.classify(
        ["Please close my account, I'm switching to another provider.", "You charged my card twice for one order!"]
    )
    assert cancel.intent is Intent.CANCELLATION
    assert charged.urgent


def test_probabilities_of_each_head_sum_to_one(classifier: TransformerClassifier) -> None:
    for a in classifier.classify(["where is my parcel", "love it", ""]):
        for head in HEADS:
            assert sum(a.head(head).values()) == pytest.approx(1.0, abs=1e-4)
        assert a.confidence == pytest.approx(max(a.head("intent").values()))
        assert 0.0 <= a.confidence <= 1.0


def test_batched_and_single_results_agree(classifier: TransformerClassifier) -> None:
    texts = [
        "hi",
        "my internet has been down since this morning and I work from home, please fix it",
        "thanks!",
        "Do you ship to Canada?",
        "worst airline ever, lost my bag and the staff were rude about it",
    ]
    batched = classifier.classify(texts)
    for text, b in zip(texts, batched, strict=True):
        (single,) = classifier.classify([text])
        assert (single.intent, single.sentiment, single.urgent, single.abusive) == (
            b.intent,
            b.sentiment,
            b.urgent,
            b.abusive,
        )
        for key, value in b.scores.items():
            assert single.scores[key] == pytest.approx(value, abs=2e-3)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😀😀😀🎉", "https://t.co/abc123", "a" * 1_000_000, "word " * 200_000, "\x00\ufeff\u200d"],
    ids=["empty", "blank", "emoji", "url", "1MB-run", "1MB-words", "control"],
)
def test_odd_inputs_get_an_analysis(classifier: TransformerClassifier, text: str) -> None:
    (a,) = classifier.classify([text])
    assert isinstance(a, Analysis)
    assert sum(a.head("intent").values()) == pytest.approx(1.0, abs=1e-4)


def test_non_english_is_flagged(classifier: TransformerClassifier) -> None:
    es, de = classifier.classify(
        ["¿Dónde está mi pedido? Llevo dos semanas esperando", "Meine Bestellung ist nie angekommen"]
    )
    assert (es.language, de.language) == ("es", "de")
    assert not es.english and not de.english


def test_empty_list_gives_no_analyses(classifier: TransformerClassifier) -> None:
    assert classifier.classify([]) == []


def test_version_names_model_and_backend(classifier: TransformerClassifier) -> None:
    assert classifier.version.startswith("minilm") and classifier.version.endswith(classifier.backend)


def test_onnx_runtime_is_the_default_backend(classifier: TransformerClassifier) -> None:
    assert classifier.backend == "onnx"


@pytest.mark.parametrize("backend", ["onnx-int8", "torch", "int8"])
def test_other_backends_agree_on_clear_cut_texts(classifier: TransformerClassifier, backend: str) -> None:
    """int8 ONNX and both PyTorch backends give the default's clear-cut answers (PyTorch: the `train` extra)."""
    if backend in ("torch", "int8"):
        pytest.importorskip("torch")
    other = load_classifier(backend=backend, threads=2)
    assert isinstance(other, TransformerClassifier)
    assert other.backend == backend  # not a silent fall-back
    texts = ["thank you, great service", "how do I reset my password?"]
    for a, b in zip(classifier.classify(texts), other.classify(texts), strict=True):
        assert (a.intent, a.sentiment) == (b.intent, b.sentiment)


SHARED_DATA = Path(__file__).parents[3] / "shared" / "data"


@pytest.mark.skipif(not (SHARED_DATA / "unlabelled_twcs_sample.csv").exists(), reason="needs ../shared/data")
def test_the_cues_find_more_urgent_tweets_and_lose_no_intent_on_the_hand_labelled_test_split(
    classifier: TransformerClassifier,
) -> None:
    from nlp import hand_labels

    figures = hand_labels.evaluate(classifier, SHARED_DATA)
    cues, alone = figures["with cues"], figures["model alone"]
    assert cues.n == alone.n > 200
    assert cues.urgent_f1 > alone.urgent_f1 and cues.urgent_recall > alone.urgent_recall
    assert cues.intent_accuracy >= alone.intent_accuracy and cues.sentiment_accuracy >= alone.sentiment_accuracy
