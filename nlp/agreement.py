"""Inter-annotator agreement between two hand-labelling passes: Cohen's kappa and raw agreement, pure Python.

`python -m nlp.agreement` compares the second pass (nlp/data/twcs_labels_second_pass.jsonl) with the first
(nlp/data/twcs_labels.jsonl) on the ids the second pass holds and prints one row per label.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

DATA = Path(__file__).parent / "data"
FIRST = DATA / "twcs_labels.jsonl"
SECOND = DATA / "twcs_labels_second_pass.jsonl"


def raw_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Share of items on which the two annotators gave the same label."""
    if len(a) != len(b) or not a:
        raise ValueError("need two equally long, non-empty label sequences")
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa: (p_o - p_e) / (1 - p_e), p_e from each annotator's own label frequencies.

    When both annotators use one and the same label for everything (p_e = 1) the agreement is perfect and
    kappa is defined here as 1.0, where the formula would divide by zero.
    """
    p_o = raw_agreement(a, b)
    n = len(a)
    count_a, count_b = Counter(a), Counter(b)
    p_e = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)
    if p_e == 1.0:
        return 1.0
    return (p_o - p_e) / (1.0 - p_e)


def _load(path: Path) -> dict[str, dict[str, object]]:
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {str(r["tweet_id"]): r for r in rows}


def _complaint_or_cancellation(row: dict[str, object]) -> object:
    return row["intent"] in ("complaint", "cancellation")


COLUMNS: tuple[tuple[str, Callable[[dict[str, object]], object]], ...] = (
    ("sentiment", lambda r: r["sentiment"]),
    ("intent", lambda r: r["intent"]),
    ("intent: complaint-or-cancellation", _complaint_or_cancellation),
    ("urgent", lambda r: r["urgent"]),
    ("abusive", lambda r: r["abusive"]),
)


def agreement_table(first: dict[str, dict[str, object]], second: dict[str, dict[str, object]]) -> list[tuple]:
    """(label, n, raw agreement, kappa) per column, on the ids the second pass labelled."""
    missing = set(second) - set(first)
    if missing:
        raise ValueError(f"{len(missing)} ids of the second pass are not in the first, e.g. {sorted(missing)[:3]}")
    ids = sorted(second, key=int)
    table = []
    for name, get in COLUMNS:
        a = [get(first[i]) for i in ids]
        b = [get(second[i]) for i in ids]
        table.append((name, len(ids), raw_agreement(a, b), cohen_kappa(a, b)))
    return table


def disagreements(first: dict[str, dict[str, object]], second: dict[str, dict[str, object]]) -> Counter:
    """Counts of (label, first pass, second pass) where the two passes differ."""
    out: Counter = Counter()
    for i in second:
        for name in ("sentiment", "intent", "urgent", "abusive"):
            if first[i][name] != second[i][name]:
                out[(name, first[i][name], second[i][name])] += 1
    return out


def table() -> list[tuple]:
    """The agreement table of our two passes (what `python -m nlp.agreement` prints and the model card shows)."""
    return agreement_table(_load(FIRST), _load(SECOND))


def main() -> None:
    first, second = _load(FIRST), _load(SECOND)
    table = agreement_table(first, second)
    width = max(len(row[0]) for row in table)
    print(f"{'label':<{width}}    n   agreement   kappa")
    for name, n, raw, kappa in table:
        print(f"{name:<{width}}  {n:>3}   {raw:>9.3f}   {kappa:>5.3f}")
    print("\nmost common disagreements (label: first pass -> second pass):")
    for (name, a, b), count in disagreements(first, second).most_common(12):
        print(f"  {count:>3}  {name}: {a} -> {b}")


if __name__ == "__main__":
    main()
