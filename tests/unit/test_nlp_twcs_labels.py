"""Our complaint labels for TWCS tweets: joined to the shared sample by tweet id, never bundling its text."""

import csv
import json
from pathlib import Path

from nlp.evaluate import TWCS_LABELS, labelled_twcs


def test_labels_carry_ids_and_verdicts_only() -> None:
    rows = [json.loads(line) for line in TWCS_LABELS.read_text().splitlines()]
    assert len(rows) >= 150 and all(set(r) == {"tweet_id", "complaint"} for r in rows)
    assert {r["complaint"] for r in rows} == {0, 1}
    assert len({r["tweet_id"] for r in rows}) == len(rows)


def test_labels_join_the_sample_by_tweet_id(tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    with sample.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", "tweet_id", "author_id", "inbound", "created_at", "text"])
        w.writerow([0, "7", "a", "True", "", "my parcel never came"])
        w.writerow([1, "8", "b", "True", "", "thanks, sorted"])
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        '{"tweet_id": "8", "complaint": 0}\n{"tweet_id": "7", "complaint": 1}\n{"tweet_id": "9", "complaint": 1}\n'
    )
    assert labelled_twcs(sample, labels) == [("thanks, sorted", 0), ("my parcel never came", 1)]


def test_no_sample_means_no_rows(tmp_path: Path) -> None:
    assert labelled_twcs(tmp_path / "absent.csv") == []
