"""Classification metrics with numpy only: recall, F1, accuracy, confusion matrix, calibration error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Report:
    """Scores of one head on one data set."""

    labels: tuple[str, ...]
    n: int
    accuracy: float
    macro_recall: float
    macro_f1: float
    confusion: np.ndarray  # rows: truth, columns: prediction
    ece: float  # expected calibration error of the top probability, 10 bins

    def table(self) -> str:
        """The confusion matrix as aligned text."""
        width = max(8, *(len(label) for label in self.labels)) + 1
        lines = [" " * width + "".join(f"{label[: width - 1]:>{width}}" for label in self.labels) + "   <- predicted"]
        for label, row in zip(self.labels, self.confusion, strict=True):
            lines.append(f"{label:<{width}}" + "".join(f"{v:>{width}}" for v in row))
        return "\n".join(lines)


def report(truth: np.ndarray, probs: np.ndarray, labels: tuple[str, ...]) -> Report:
    """Scores of probabilities `probs` (n x k) against integer labels `truth`."""
    pred = probs.argmax(1)
    k = len(labels)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (truth, pred), 1)
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(1)
    predicted = confusion.sum(0)
    present = support > 0  # macro averages over the classes the data set has
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    return Report(
        labels=labels,
        n=len(truth),
        accuracy=float((pred == truth).mean()) if len(truth) else 0.0,
        macro_recall=float(recall[present].mean()),
        macro_f1=float(f1[present].mean()),
        confusion=confusion,
        ece=expected_calibration_error(probs.max(1), pred == truth),
    )


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(gap)


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 5) -> list[tuple[str, int, float, float]]:
    """Per confidence bin: range, count, mean confidence, accuracy (for the model card)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            rows.append(
                (
                    f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                    int(inside.sum()),
                    float(confidence[inside].mean()),
                    float(correct[inside].mean()),
                )
            )
    return rows


def binary_report(truth: np.ndarray, p: np.ndarray) -> Report:
    """Scores of yes-probabilities `p` (thresholded at 0.5) against 0/1 labels `truth`."""
    return report(truth, np.stack([1 - p, p], axis=1), ("no", "yes"))
