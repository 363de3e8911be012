"""Stage 3's data: which hand-labelled tweets train, which choose the thresholds, and how they are chosen."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from nlp import tweets
from nlp.data import Example
from nlp.hand_labels import LABELS
from nlp.labels import INTENTS, SENTIMENTS


def _labels() -> list[dict[str, object]]:
    return [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]


def write_sample(root: Path, rows: list[dict[str, object]]) -> None:
    """A TWCS-shaped CSV: 2,000 filler rows (never read), then one row per labelled id with a text of ours."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "unlabelled_twcs_sample.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["", "tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id", "in_r"])
        for i in range(2000):
            out.writerow([i, f"filler{i}", "x", "True", "", "never read", "", ""])
        for i, r in enumerate(rows):
            text = f"tweet {r['tweet_id']} says {r['intent']}"
            out.writerow([2000 + i, r["tweet_id"], "c", "True", "", text, "", ""])


def test_validation_is_about_a_fifth_of_the_train_split_and_stable() -> None:
    ids = [str(r["tweet_id"]) for r in _labels() if r["split"] == "train"]
    held = [i for i in ids if tweets.in_validation(i)]
    assert 0.14 < len(held) / len(ids) < 0.26
    assert held == [i for i in ids if tweets.in_validation(i)]


def test_hand_labelled_reads_the_train_split_only_less_the_complaint_check(tmp_path: Path) -> None:
    rows = _labels()
    write_sample(tmp_path, rows)
    train, validation = tweets.hand_labelled(tmp_path)
    checked = {json.loads(line)["tweet_id"] for line in tweets.COMPLAINT_CHECK.read_text().splitlines()}
    by_id = {str(r["tweet_id"]): r for r in rows}
    expected = {i for i, r in by_id.items() if r["split"] == "train" and i not in checked}
    assert {e.group for e in train + validation} == expected
    assert {e.group for e in validation} == {i for i in expected if tweets.in_validation(i)}
    for e in train + validation:
        r = by_id[e.group]
        assert e.source == tweets.SOURCE and e.text == f"tweet {e.group} says {r['intent']}"
        assert e.intents == (INTENTS.index(str(r["intent"])),) and e.sentiment == SENTIMENTS.index(str(r["sentiment"]))
        assert (e.urgent, e.abusive) == (int(bool(r["urgent"])), int(bool(r["abusive"])))


def test_no_sample_means_no_tweets(tmp_path: Path) -> None:
    assert tweets.hand_labelled(tmp_path) == ([], [])


def _example(urgent: int, abusive: int = 0) -> Example:
    return Example("x", tweets.SOURCE, urgent=urgent, abusive=abusive)


def test_urgent_threshold_has_the_best_f1_nearest_one_half() -> None:
    # 12 urgent tweets at p = 0.8, 20 others at 0.6: every threshold in (0.6, 0.8] separates them.
    examples = [_example(1)] * 12 + [_example(0)] * 20
    texts = ["my parcel is late"] * len(examples)
    p = np.array([0.8] * 12 + [0.6] * 20)
    probs = {"urgent": np.stack([1 - p, p], 1), "abusive": np.stack([p, 1 - p], 1)}
    chosen = tweets.choose_thresholds(texts, examples, probs)
    assert chosen == {"urgent": 0.65}  # abusive: no positives, so it is left at 0.5


def test_urgent_threshold_counts_the_cues() -> None:
    # The urgent tweets are found by a cue whatever the model says; the model's own flag then only
    # adds false positives, so the best threshold is above them all: 0.95 and 0.99 tie, the nearer to 0.5 wins.
    examples = [_example(1)] * 12 + [_example(0)] * 20
    texts = ["the website is down"] * 12 + ["my parcel is late"] * 20
    p = np.array([0.1] * 12 + [0.9] * 10 + [0.2] * 10)
    probs = {"urgent": np.stack([1 - p, p], 1), "abusive": np.stack([1 - p, p], 1)}
    assert tweets.choose_thresholds(texts, examples, probs)["urgent"] == 0.95
