"""Benchmark: how far the ONNX backends (fp32, int8) and PyTorch's int8 move from the PyTorch fp32 reference.

Same run, same texts: per head, the share of texts whose label (argmax) agrees with the reference
and the largest and mean change in any probability; then per-label quality of every backend on
labelled data, so a disagreement can be read as better or worse. Reads ../shared/data (the TWCS
sample from row 2,000 on, TweetEval sentiment val, OffensEval val) and the hand labels in nlp/data.
Needs the `train` extra (PyTorch is the reference). Asserts nothing.

    python bench/backends.py [--data ../shared/data] [--threads 2] [--backends onnx,onnx-int8,int8]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp import data as d  # noqa: E402
from nlp.labels import BINARY, HEADS, SENTIMENTS  # noqa: E402
from nlp.loader import load_transformer  # noqa: E402
from nlp.metrics import Report, report  # noqa: E402

FIRST_ROW = 2000  # earlier rows of the TWCS sample are kept for an outside check
TWCS_LABELS = ROOT / "nlp" / "data" / "twcs_labels.jsonl"
OWN_TEST = ROOT / "nlp" / "data" / "intent_test.jsonl"


def twcs_rows(data: Path) -> list[dict[str, str]]:
    """Rows 2,000 and later of the TWCS sample (one text holds a bare CR)."""
    # Bytes, not read_text: universal newlines would turn the bare CR into a line break first.
    raw = (data / "unlabelled_twcs_sample.csv").read_bytes().decode("utf-8").replace("\r", " ")
    return list(csv.DictReader(io.StringIO(raw)))[FIRST_ROW:]


def agreement_texts(data: Path) -> list[str]:
    """Real texts of three kinds: customers' tweets to brands, TweetEval sentiment and OffensEval tweets."""
    tweets = [r["text"] for r in twcs_rows(data) if r["inbound"].strip().lower() == "true"]
    sentiment = [e.text for e in d.read_sentiment(data / "sentiment/val.jsonl")]
    abuse = [e.text for e in d.read_abuse(data / "abuse/val.jsonl")]
    return tweets + sentiment + abuse


def f1_yes(r: Report) -> float:
    """F1 of the positive class of a binary report (urgent, abusive)."""
    tp, fp, fn = r.confusion[1, 1], r.confusion[0, 1], r.confusion[1, 0]
    return float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0


def _score(truth: dict[str, np.ndarray], probs: dict[str, np.ndarray], head: str) -> Report:
    return report(truth[head], probs[head], HEADS[head])


def quality_sets(data: Path) -> list[tuple[str, list[str], Callable[[dict[str, np.ndarray]], float]]]:
    """(name, texts, score from probabilities) for every labelled set the benchmark scores."""
    sets: list[tuple[str, list[str], Callable[[dict[str, np.ndarray]], float]]] = []
    sentiment = d.read_sentiment(data / "sentiment/val.jsonl")
    s_truth = np.array([e.sentiment for e in sentiment])
    sets.append(
        (
            "sentiment macro recall, TweetEval val",
            [e.text for e in sentiment],
            lambda p: report(s_truth, p["sentiment"], SENTIMENTS).macro_recall,
        )
    )
    abuse = d.read_abuse(data / "abuse/val.jsonl")
    a_truth = np.array([e.abusive for e in abuse])
    sets.append(
        (
            "abusive macro-F1, OffensEval val",
            [e.text for e in abuse],
            lambda p: report(a_truth, p["abusive"], BINARY).macro_f1,
        )
    )
    texts = {r["tweet_id"]: r["text"] for r in twcs_rows(data)}
    rows = [json.loads(line) for line in TWCS_LABELS.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["tweet_id"] in texts]
    n, tw = len(rows), [texts[r["tweet_id"]] for r in rows]
    truth = {h: np.array([HEADS[h].index(str(r[h]).lower()) for r in rows]) for h in HEADS}
    urgent, abusive = int(truth["urgent"].sum()), int(truth["abusive"].sum())
    sets += [
        (f"sentiment macro recall, TWCS hand labels (n={n})", tw, lambda p: _score(truth, p, "sentiment").macro_recall),
        (f"intent accuracy, TWCS hand labels (n={n})", tw, lambda p: _score(truth, p, "intent").accuracy),
        (f"urgent F1, TWCS hand labels ({urgent} urgent)", tw, lambda p: f1_yes(_score(truth, p, "urgent"))),
        (f"abusive F1, TWCS hand labels ({abusive} abusive)", tw, lambda p: f1_yes(_score(truth, p, "abusive"))),
    ]
    own = d.read_own(OWN_TEST)
    own_truth = {"intent": np.array([e.intents[0] for e in own]), "urgent": np.array([e.urgent for e in own])}
    own_texts, m, t = [e.text for e in own], len(own), own_truth
    sets += [
        (f"intent accuracy, own held-out (n={m})", own_texts, lambda p: _score(t, p, "intent").accuracy),
        (f"urgent macro recall, own held-out (n={m})", own_texts, lambda p: _score(t, p, "urgent").macro_recall),
    ]
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", default="onnx,onnx-int8,int8")
    parser.add_argument("--save", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()

    names = ["torch", *args.backends.split(",")]
    models = {b: load_transformer(backend=b, threads=args.threads) for b in names}
    texts = agreement_texts(args.data)
    probs = {b: m.probabilities(texts) for b, m in models.items()}
    ref = probs["torch"]
    print(f"{len(texts)} texts (TWCS inbound rows {FIRST_ROW}+, TweetEval sentiment val, OffensEval val), "
          f"{args.threads} threads; each backend against PyTorch fp32")  # fmt: skip
    print(f"{'backend':<11}{'head':<11}{'labels agree':>13}{'differ':>8}{'max |dp|':>10}{'mean |dp|':>11}")
    figures: dict[str, dict[str, object]] = {}
    for b in names[1:]:
        figures[b] = {}
        for h in HEADS:
            same = probs[b][h].argmax(1) == ref[h].argmax(1)
            diff = np.abs(probs[b][h] - ref[h])
            row = {"agree": float(same.mean()), "differ": int((~same).sum()), "max_dp": float(diff.max())}
            row["mean_dp"] = float(diff.mean())
            figures[b][h] = row
            print(f"{b:<11}{h:<11}{row['agree']:>13.4f}{row['differ']:>8}{row['max_dp']:>10.4f}{row['mean_dp']:>11.5f}")
    print()
    print(f"{'quality per label':<52}" + "".join(f"{b:>11}" for b in names))
    for name, set_texts, score in quality_sets(args.data):
        values = [score(m.probabilities(set_texts)) for m in models.values()]
        figures.setdefault("quality", {})[name] = dict(zip(names, values, strict=True))
        print(f"{name:<52}" + "".join(f"{v:>11.3f}" for v in values))
    if args.save:
        args.save.write_text(json.dumps({"n": len(texts), "figures": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
