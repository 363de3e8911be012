"""The lexical model: fitting, the complaint blend into the intent head, and cross-validation's weight choice."""

import numpy as np
import pytest

from nlp import lexical
from nlp.crossval import OutOfFold, fold_of
from nlp.data import Example
from nlp.labels import COMPLAINT_LIKE, INTENTS
from nlp.lexical_train import complaint_label

COMPLAINTS = [f"my order {i} arrived broken and nobody answers" for i in range(20)]
OTHERS = [f"what a lovely sunny day number {i}" for i in range(20)]


def _fitted() -> lexical.Lexical:
    y = np.array([1] * len(COMPLAINTS) + [0] * len(OTHERS))
    return lexical.fit({lexical.COMPLAINT: COMPLAINTS + OTHERS}, {lexical.COMPLAINT: y}, min_df=2)


def test_fitted_complaint_model_separates_its_training_texts() -> None:
    logp = _fitted().log_probabilities(["the order arrived broken", "a lovely sunny day"])[lexical.COMPLAINT]
    assert np.allclose(np.exp(logp).sum(1), 1.0, atol=1e-5)
    assert logp[0, 1] > logp[0, 0] and logp[1, 0] > logp[1, 1]


def test_vocabulary_only_texts_shape_the_vocabulary_but_train_no_head() -> None:
    y = np.array([1] * len(COMPLAINTS) + [0] * len(OTHERS))
    extra = ["zebra crossing"] * 5
    model = lexical.fit(
        {lexical.COMPLAINT: COMPLAINTS + OTHERS},
        {lexical.COMPLAINT: y},
        min_df=2,
        vocabulary_only=lexical.document_frequencies(extra),
    )
    assert "w:zebra" in model.index and set(model.coef) == {lexical.COMPLAINT}


def _intent_rows() -> np.ndarray:
    rng = np.random.default_rng(0)
    p = rng.random((6, len(INTENTS)))
    return p / p.sum(1, keepdims=True)


def test_shift_with_weight_zero_and_unit_temperature_changes_nothing() -> None:
    p = _intent_rows()
    lexical_logp = np.log(np.full((6, 2), 0.5))
    assert np.allclose(lexical.shifted(p, lexical_logp, 0.0, 1.0), p, atol=1e-6)


def test_shift_moves_mass_between_the_sides_and_keeps_proportions_within_each() -> None:
    p = _intent_rows()
    sure = np.log(np.tile([0.01, 0.99], (6, 1)))  # the lexical model is sure these are complaints
    out = lexical.shifted(p, sure, 0.5, 1.0)
    like = list(COMPLAINT_LIKE)
    rest = [i for i in range(len(INTENTS)) if i not in like]
    assert np.allclose(out.sum(1), 1.0, atol=1e-5)
    assert (lexical.complaint_probability(out) > lexical.complaint_probability(p)).all()
    assert np.allclose(out[:, like] / out[:, like].sum(1, keepdims=True), p[:, like] / p[:, like].sum(1, keepdims=True))
    assert np.allclose(out[:, rest] / out[:, rest].sum(1, keepdims=True), p[:, rest] / p[:, rest].sum(1, keepdims=True))


def test_shift_into_a_side_the_heads_gave_exactly_zero_is_spread_evenly_not_nan() -> None:
    like = list(COMPLAINT_LIKE)
    p = np.zeros((1, len(INTENTS)), dtype=np.float32)
    p[0, [i for i in range(len(INTENTS)) if i not in like]] = 1 / (len(INTENTS) - len(like))
    sure = np.log(np.array([[1e-30, 1.0]]))  # the lexical model has no doubt at all
    out = lexical.shifted(p, sure, 0.9, 0.05)
    assert np.isfinite(out).all() and np.allclose(out.sum(1), 1.0, atol=1e-5)
    assert np.allclose(out[0, like], out[0, like[0]]) and lexical.complaint_probability(out)[0] > 0.99


def test_a_blend_with_no_usable_temperature_is_refused_on_load(tmp_path) -> None:
    model = _fitted()
    model.blend = {lexical.COMPLAINT: {"weight": 0.3, "temperature": float("nan")}}
    model.save(tmp_path)
    with pytest.raises(ValueError, match="temperature"):
        lexical.Lexical.load(tmp_path)


@pytest.mark.parametrize(
    ("source", "intents", "label"),
    [
        ("complaints", ("complaint", "cancellation"), 1),
        ("complaints", ("question", "request", "purchase_interest", "praise", "other"), 0),
        ("own", ("cancellation",), 1),
        ("own", ("complaint", "request"), None),  # mixed: says nothing about complaint or not
        ("banking77", ("complaint",), None),  # another register: not taught to the lexical model
        ("own", (), None),
    ],
)
def test_complaint_label(source: str, intents: tuple[str, ...], label: int | None) -> None:
    e = Example("text", source, intents=tuple(sorted(INTENTS.index(i) for i in intents)))
    assert complaint_label(e) == label


def test_nested_blend_chooses_each_folds_weight_without_that_fold() -> None:
    # The lexical model is right everywhere and the heads are wrong everywhere but fold 0, whose
    # rows alone would prefer no lexical weight: the nested choice must still blend fold 0.
    ids = [str(i) for i in range(200)]
    folds = np.array([fold_of(i, 5) for i in ids])
    truth = np.array([i % 2 for i in range(200)])
    heads = np.where(folds == 0, truth * 0.9 + 0.05, 1 - (truth * 0.9 + 0.05))
    lexical_logp = np.log(np.stack([1 - (truth * 0.98 + 0.01), truth * 0.98 + 0.01], axis=1))
    oof = OutOfFold(folds, truth, heads, lexical_logp)
    assert oof.best_weight(folds == 0) == 0.0
    _, weights = oof.nested()
    assert weights[0] > 0.0


def test_a_blend_for_a_head_without_coefficients_is_refused_on_load(tmp_path) -> None:
    model = _fitted()  # a complaint head only
    model.blend = {"sentiment": {"weight": 0.2, "temperature": 1.0}}
    model.save(tmp_path)
    with pytest.raises(ValueError, match="no coefficients"):
        lexical.Lexical.load(tmp_path)
