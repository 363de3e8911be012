"""Cohen's kappa in nlp/agreement.py against hand-computed values."""

import pytest

from nlp.agreement import cohen_kappa, raw_agreement


def test_perfect_agreement_is_one() -> None:
    labels = ["complaint", "question", "praise", "complaint", "other"]
    assert cohen_kappa(labels, list(labels)) == 1.0
    assert raw_agreement(labels, list(labels)) == 1.0


def test_textbook_example() -> None:
    # 50 items, two annotators, yes/no (the example in Wikipedia's "Cohen's kappa"):
    # both yes 20, A yes B no 5, A no B yes 10, both no 15.
    # p_o = 35/50 = 0.7; A says yes 25/50, B 30/50: p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2/0.5 = 0.4.
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert raw_agreement(a, b) == pytest.approx(0.7)
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_unequal_lengths_are_refused() -> None:
    with pytest.raises(ValueError):
        cohen_kappa(["a", "b"], ["a"])
