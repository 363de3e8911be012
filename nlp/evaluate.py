"""`rapport eval`: score the shipped classifier on data it was not trained on.

Validation sets: TweetEval sentiment val, OffensEval val, the Banking77 and CLINC150 test splits
(mapped to our intents), and our own held-out intent messages. Complaint detection needs
retraining per fold, so it comes from `crossval` (run with --cv) or the last stored run.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp import agreement, hand_labels, probes
from nlp import data as d
from nlp.hand_labels import Figures
from nlp.labels import BINARY, INTENTS, SENTIMENTS
from nlp.lexical import complaint_probability
from nlp.metrics import Report, binary_report, report
from nlp.probes import Probe

OWN_TEST = Path(__file__).parent / "data" / "intent_test.jsonl"
# Our complaint labels (1/0, by the complaint data set's definition) for 185 inbound tweets of the
# TWCS sample, by tweet id: real customers writing to support accounts, a different population from
# the complaint data set the model is trained and cross-validated on. The texts stay in ../shared/data.
TWCS_LABELS = Path(__file__).parent / "data" / "twcs_complaints.jsonl"
TWCS_SAMPLE = "unlabelled_twcs_sample.csv"


@dataclass
class Results:
    """Every figure the model card shows."""

    reports: dict[str, Report] = field(default_factory=dict)
    set_accuracy: dict[str, float] = field(default_factory=dict)  # prediction inside the allowed intents
    reliability: dict[str, list[tuple[str, int, float, float]]] = field(default_factory=dict)
    speed: dict[str, float] = field(default_factory=dict)
    complaint_cv: dict[str, object] = field(default_factory=dict)
    hand_labels: dict[str, Figures] = field(default_factory=dict)  # TWCS openings we labelled, test split
    probes: list[tuple[Probe, str]] = field(default_factory=list)  # our own messages and the answers
    agreement: list[tuple[str, int, float, float]] = field(default_factory=list)  # label, n, raw, kappa


def _probabilities(classifier: object, texts: Sequence[str]) -> dict[str, np.ndarray]:
    return classifier.probabilities(texts)  # type: ignore[attr-defined,no-any-return]


def evaluate(classifier: object, data_root: Path, log: object = print) -> Results:
    """Run every validation set through `classifier` (a TransformerClassifier) and score it."""
    from nlp.metrics import reliability

    res = Results()
    sentiment = d.read_sentiment(data_root / "sentiment/val.jsonl")
    p = _probabilities(classifier, [e.text for e in sentiment])
    truth = np.array([e.sentiment for e in sentiment])
    res.reports["sentiment: TweetEval val"] = report(truth, p["sentiment"], SENTIMENTS)
    res.reliability["sentiment: TweetEval val"] = reliability(p["sentiment"].max(1), p["sentiment"].argmax(1) == truth)

    abuse = d.read_abuse(data_root / "abuse/val.jsonl")
    p = _probabilities(classifier, [e.text for e in abuse])
    truth = np.array([e.abusive for e in abuse])
    res.reports["abusive: OffensEval val"] = report(truth, p["abusive"], BINARY)
    res.reliability["abusive: OffensEval val"] = reliability(p["abusive"].max(1), p["abusive"].argmax(1) == truth)

    own = d.read_own(OWN_TEST)
    p = _probabilities(classifier, [e.text for e in own])
    truth = np.array([e.intents[0] for e in own])
    res.reports["intent: own held-out messages"] = report(truth, p["intent"], INTENTS)
    res.reliability["intent: own held-out messages"] = reliability(p["intent"].max(1), p["intent"].argmax(1) == truth)
    res.reports["sentiment: own held-out messages"] = report(
        np.array([e.sentiment for e in own]), p["sentiment"], SENTIMENTS
    )
    res.reports["urgent: own held-out messages"] = report(np.array([e.urgent for e in own]), p["urgent"], BINARY)
    res.reports["abusive: own held-out messages"] = report(np.array([e.abusive for e in own]), p["abusive"], BINARY)

    twcs = labelled_twcs(data_root / TWCS_SAMPLE)
    if twcs:
        p = _probabilities(classifier, [text for text, _ in twcs])
        truth = np.array([y for _, y in twcs])
        res.reports["complaint: hand-labelled TWCS tweets"] = binary_report(truth, complaint_probability(p["intent"]))

    res.hand_labels = hand_labels.evaluate(classifier, data_root)
    res.probes = probes.run(classifier)
    res.agreement = agreement.table()

    for name, path, kind in (
        ("Banking77 test", "intents/banking77_test.jsonl", "banking77"),
        ("CLINC150 test", "intents/clinc150_test.jsonl", "clinc150"),
    ):
        rows = d.read_intents(data_root / path, kind)
        p = _probabilities(classifier, [e.text for e in rows])
        allowed = np.zeros((len(rows), len(INTENTS)), dtype=bool)
        for i, e in enumerate(rows):
            allowed[i, list(e.intents)] = True
        res.set_accuracy[f"intent: {name}"] = float(allowed[np.arange(len(rows)), p["intent"].argmax(1)].mean())
        urgent = np.array([e.urgent for e in rows])
        res.reports[f"urgent: {name}"] = report(urgent, p["urgent"], BINARY)
    res.speed = speed(classifier, [e.text for e in sentiment])
    return res


def speed(classifier: object, texts: Sequence[str], singles: int = 300) -> dict[str, float]:
    """Messages per second batched and one at a time, latency percentiles and peak resident memory."""
    classify = classifier.classify  # type: ignore[attr-defined]
    classify(texts[:64])  # warm up
    started = time.perf_counter()
    classify(texts)
    batched = len(texts) / (time.perf_counter() - started)
    latencies = []
    for text in texts[:singles]:
        t = time.perf_counter()
        classify([text])
        latencies.append(time.perf_counter() - t)
    lat = np.array(latencies) * 1000
    return {
        "batched_msgs_per_s": batched,
        "single_msgs_per_s": 1000 / lat.mean(),
        "single_p50_ms": float(np.percentile(lat, 50)),
        "single_p99_ms": float(np.percentile(lat, 99)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_average": os.getloadavg()[0],  # other work on the machine slows every figure above
    }


def labelled_twcs(sample: Path, labels: Path = TWCS_LABELS) -> list[tuple[str, int]]:
    """(text, complaint) for each tweet we labelled, or nothing where the TWCS sample is absent."""
    if not sample.exists():
        return []
    with sample.open(newline="", encoding="utf-8") as f:
        texts = {row["tweet_id"]: row["text"] for row in csv.DictReader(f)}
    rows = [json.loads(line) for line in labels.read_text().splitlines() if line.strip()]
    return [(texts[r["tweet_id"]], int(r["complaint"])) for r in rows if r["tweet_id"] in texts]


def load_cv(path: Path) -> dict[str, object]:
    return json.loads(path.read_text()) if path.exists() else {}
