"""Metrics computed with numpy only."""

import numpy as np
import pytest

from nlp.metrics import expected_calibration_error, report


def test_perfect_predictions_score_one() -> None:
    truth = np.array([0, 1, 2, 1])
    r = report(truth, np.eye(3)[truth], ("a", "b", "c"))
    assert r.accuracy == r.macro_recall == r.macro_f1 == 1.0
    assert r.confusion.tolist() == [[1, 0, 0], [0, 2, 0], [0, 0, 1]]


def test_macro_recall_averages_per_class() -> None:
    truth = np.array([0, 0, 0, 1])
    probs = np.array([[0.9, 0.1]] * 4)  # always predicts class 0
    r = report(truth, probs, ("no", "yes"))
    assert r.macro_recall == pytest.approx(0.5)
    assert r.accuracy == pytest.approx(0.75)


def test_calibration_error_is_zero_when_confidence_matches_accuracy() -> None:
    confidence = np.array([0.75] * 4)
    assert expected_calibration_error(confidence, np.array([1, 1, 1, 0], dtype=bool)) == pytest.approx(0.0)
    assert expected_calibration_error(confidence, np.array([0, 0, 0, 0], dtype=bool)) == pytest.approx(0.75)


def test_table_names_every_label() -> None:
    r = report(np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]), ("negative", "positive"))
    assert "negative" in r.table() and "positive" in r.table()
