"""Scoring on our hand-labelled TWCS customer tweets (nlp/data/twcs_labels.jsonl, test split): what the
model alone finds and what the analysis with its cues (nlp/cues.py) finds. The texts stay in
../shared/data; only the labels, keyed by tweet id, are ours."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.cues import adjust
from nlp.labels import INTENTS
from nlp.types import Analysis

LABELS = Path(__file__).parent / "data" / "twcs_labels.jsonl"
SAMPLE = "unlabelled_twcs_sample.csv"
FIRST_ROW = 2000  # rows before this are kept for an outside check, never labelled or scored


@dataclass(frozen=True, slots=True)
class Figures:
    n: int
    urgent_precision: float
    urgent_recall: float
    urgent_f1: float
    cancellation_found: int
    cancellations: int
    intent_accuracy: float
    sentiment_accuracy: float
    questions_called_complaints: int
    questions: int
    abusive_f1: float = 0.0
    abusive: int = 0
    # Rows: the label's intent, columns: the predicted one, both in INTENTS order.
    intent_confusion: tuple[tuple[int, ...], ...] = ()

    def line(self) -> str:
        return (
            f"n={self.n} urgent P {self.urgent_precision:.2f} R {self.urgent_recall:.2f} F1 {self.urgent_f1:.2f}; "
            f"cancellations found {self.cancellation_found}/{self.cancellations}; intent accuracy "
            f"{self.intent_accuracy:.3f}; sentiment accuracy {self.sentiment_accuracy:.3f}; questions called "
            f"complaints {self.questions_called_complaints}/{self.questions}; abusive F1 {self.abusive_f1:.2f} "
            f"({self.abusive} abusive)"
        )

    def table(self) -> str:
        """The intent confusion matrix as text (rows: our label, columns: predicted)."""
        width = max(len(i) for i in INTENTS) + 1
        lines = ["".join(f"{i[:9]:>10}" for i in INTENTS).rjust(width + 10 * len(INTENTS)) + "   <- predicted"]
        for label, row in zip(INTENTS, self.intent_confusion, strict=True):
            lines.append(f"{label:<{width}}" + "".join(f"{c:>10}" for c in row))
        return "\n".join(lines)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def labelled(data_root: Path, split: str = "test") -> list[tuple[str, dict[str, object]]]:
    """(text, labels) of the split's labelled tweets; empty where the TWCS sample is absent."""
    sample = data_root / SAMPLE
    if not sample.exists():
        return []
    # One text holds a bare carriage return (the data README): read it as part of the text.
    # read_text would turn that bare \r into a line end before it could be replaced: decode the bytes.
    raw = sample.read_bytes().decode("utf-8").replace("\r\n", "\n").replace("\r", " ")
    texts = {row["tweet_id"]: row["text"] for i, row in enumerate(csv.DictReader(io.StringIO(raw))) if i >= FIRST_ROW}
    rows = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    return [(texts[r["tweet_id"]], r) for r in rows if r["split"] == split and r["tweet_id"] in texts]


def score(rows: Sequence[tuple[str, dict[str, object]]], analyses: Sequence[Analysis]) -> Figures:
    tp = fp = fn = found = cancellations = intent_ok = sentiment_ok = q_as_c = questions = 0
    abusive = [0, 0, 0]  # true positives, false positives, false negatives
    confusion = [[0] * len(INTENTS) for _ in INTENTS]
    for (_text, label), a in zip(rows, analyses, strict=True):
        confusion[INTENTS.index(str(label["intent"]))][INTENTS.index(a.intent.value)] += 1
        abusive[0] += a.abusive and bool(label["abusive"])
        abusive[1] += a.abusive and not label["abusive"]
        abusive[2] += (not a.abusive) and bool(label["abusive"])
        tp += a.urgent and bool(label["urgent"])
        fp += a.urgent and not label["urgent"]
        fn += (not a.urgent) and bool(label["urgent"])
        if label["intent"] == "cancellation":
            cancellations += 1
            found += a.intent.value == "cancellation"
        if label["intent"] == "question":
            questions += 1
            q_as_c += a.intent.value == "complaint"
        intent_ok += a.intent.value == label["intent"]
        sentiment_ok += a.sentiment.value == label["sentiment"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    n = max(len(rows), 1)
    return Figures(
        len(rows),
        precision,
        recall,
        _f1(tp, fp, fn),
        found,
        cancellations,
        intent_ok / n,
        sentiment_ok / n,
        q_as_c,
        questions,
        _f1(*abusive),
        abusive[0] + abusive[2],
        tuple(tuple(row) for row in confusion),
    )


def evaluate(classifier: object, data_root: Path) -> dict[str, Figures]:
    """{"with cues": ..., "model alone": ...} on the test split, or {} without the data. `classifier` is
    a TransformerClassifier: it runs once with its `cues` switch off (restored after), and the cues,
    pure post-processing, are applied to those analyses."""
    rows = labelled(data_root)
    if not rows:
        return {}
    texts = [t for t, _ in rows]
    before = classifier.cues  # type: ignore[attr-defined]
    classifier.cues = False  # type: ignore[attr-defined]
    try:
        alone: list[Analysis] = classifier.classify(texts)  # type: ignore[attr-defined]
    finally:
        classifier.cues = before  # type: ignore[attr-defined]
    with_cues = [adjust(text, a) for text, a in zip(texts, alone, strict=True)]
    return {"with cues": score(rows, with_cues), "model alone": score(rows, alone)}
