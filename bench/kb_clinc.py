"""Benchmark: the knowledge base on CLINC150, calibrated on its validation split, reported on its test split.

Reads CLINC150 (clinc/oos-eval, CC BY 3.0) from ../shared/data/intents (the benchmark needs the data;
tests don't). Writes one Markdown article per intent from the train split into a temporary folder
(never into the project), loads it with the bot's own KnowledgeBase, and asks it every validation and
test question. Two shapes of knowledge base:

- "full": every train phrasing of an intent (100) as the article's questions (the target's setting);
- "few": the first 5, the shape of a hand-written knowledge base like the bundled one.

For each it picks the lowest threshold whose validation precision is at least 0.90 and whose
out-of-scope false-answer rate is at most 10%, both at their 95% (Wilson) bounds, then reports on test:
precision (answered with the right article / answered, in-scope questions), coverage (answered /
in-scope) and the out-of-scope false-answer rate, with the curve around it. BM25 alone (what the bot
does without an encoder) is the baseline measured in the same run. Vectors are cached under
/tmp/rapport-bench, so a second run skips the encoder. Asserts nothing.

    python bench/kb_clinc.py [--data ../shared/data] [--threads 2] [--weights 1.0,0.8,0.6]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import KnowledgeSettings  # noqa: E402
from bot.knowledge import Encoder, KnowledgeBase  # noqa: E402
from bot.knowledge.cache import VectorCache  # noqa: E402
from bot.knowledge.index import SEMANTIC_WEIGHT, queries  # noqa: E402
from nlp.loader import load_transformer  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "rapport-bench"
GRID = [round(0.30 + 0.01 * i, 2) for i in range(66)]  # 0.30 .. 0.95
TARGET = {"precision": 0.90, "coverage": 0.70, "oos": 0.10}


@dataclass(frozen=True, slots=True)
class Asked:
    """One question: its gold intent ("oos": none), and the knowledge base's closest article and score."""

    intent: str
    article: str | None
    score: float


def rows(data: Path, split: str) -> list[dict[str, str]]:
    path = data / "intents" / f"clinc150_{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_articles(folder: Path, train: list[dict[str, str]], per_intent: int) -> int:
    """One article per in-scope intent, its first `per_intent` train phrasings as the questions."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for row in train:
        if row["intent"] != "oos" and len(by_intent[row["intent"]]) < per_intent:
            by_intent[row["intent"]].append(row["text"])
    for intent, texts in by_intent.items():
        front = json.dumps({"title": intent.replace("_", " "), "questions": texts})  # JSON is YAML
        (folder / f"{intent}.md").write_text(f"---\n{front}\n---\nThe answer about {intent}.\n", encoding="utf-8")
    return len(by_intent)


class PrimedEncoder:
    """The real encoder behind a lookup of vectors computed in big batches (and cached on disk)."""

    def __init__(self, embed: Encoder, texts: Sequence[str]) -> None:
        self.inner = embed
        cache = VectorCache(CACHE, Path("clinc150-questions"))
        unique = list(dict.fromkeys(texts))
        started = time.perf_counter()
        self.known = dict(zip(unique, cache.vectors(unique, embed.embed, embed.version), strict=True))
        print(f"question vectors: {len(unique)} in {time.perf_counter() - started:.1f}s (cache {cache.path})")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self.known]
        if missing:
            for t, v in zip(missing, self.inner.embed(missing), strict=True):
                self.known[t] = np.asarray(v, dtype=np.float32)
        return np.stack([self.known[t] for t in texts])


def ask(kb: KnowledgeBase, questions: list[dict[str, str]]) -> list[Asked]:
    out = []
    for row in questions:
        found = kb.answer(row["text"])
        out.append(Asked(row["intent"], found.article if found else None, found.score if found else 0.0))
    return out


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a rate: validation has only 100 out-of-scope questions."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def measure(asked: list[Asked], threshold: float) -> dict[str, float]:
    inscope = [a for a in asked if a.intent != "oos"]
    oos = [a for a in asked if a.intent == "oos"]
    answered = [a for a in inscope if a.score >= threshold]
    right = sum(a.article == a.intent for a in answered)
    false = sum(a.score >= threshold for a in oos)
    return {
        "threshold": threshold,
        "precision": right / len(answered) if answered else 1.0,
        "coverage": len(answered) / len(inscope),
        "oos": false / len(oos) if oos else 0.0,
        "precision_lower": wilson(right, len(answered))[0],
        "oos_upper": wilson(false, len(oos))[1],
        "top1": sum(a.article == a.intent for a in inscope) / len(inscope),
    }


def calibrate(val: list[Asked]) -> float | None:
    """The lowest threshold meeting the precision and out-of-scope targets on validation at their 95% bounds."""
    for threshold in GRID:
        m = measure(val, threshold)
        if m["precision_lower"] >= TARGET["precision"] and m["oos_upper"] <= TARGET["oos"]:
            return threshold
    return None


def line(name: str, m: dict[str, float]) -> str:
    meets = m["precision"] >= TARGET["precision"] and m["coverage"] >= TARGET["coverage"] and m["oos"] <= TARGET["oos"]
    return (
        f"  {name:<6} t={m['threshold']:.2f}  precision {m['precision']:.3f}  coverage {m['coverage']:.3f}  "
        f"oos answered {m['oos']:.3f}{'  (meets the target)' if meets else ''}"
    )


def report(
    label: str, val: list[Asked], test: list[Asked], default: float
) -> tuple[float | None, dict[str, float] | None]:
    """The curve on val and test around the calibrated threshold and the configured default."""
    chosen = calibrate(val)
    print(f"\n{label}: in-scope top-1 accuracy val {measure(val, 0)['top1']:.3f}, test {measure(test, 0)['top1']:.3f}")
    if chosen is None:
        print("  no threshold on the grid meets the precision and out-of-scope targets on validation")
        print(line("test", measure(test, default)) + "  <- the configured default")
        return None, None
    shown = sorted({*(t for t in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9) if t in GRID), chosen, default})
    for threshold in shown:
        mark = "  <- chosen on val" if threshold == chosen else ""
        mark += "  <- the configured default" if threshold == default else ""
        print(line("val", measure(val, threshold)))
        print(line("test", measure(test, threshold)) + mark)
    return chosen, measure(test, chosen)


def shape_run(
    shape: str, folder: Path, encoder: Encoder, val_rows: list[dict[str, str]], test_rows: list[dict[str, str]]
) -> tuple[float | None, float | None, KnowledgeBase]:
    """Both scorers on one folder: (threshold chosen with the encoder, with BM25 alone, the KB)."""
    started = time.perf_counter()
    cache = VectorCache(CACHE, Path(f"clinc150-{shape}"))
    kb = KnowledgeBase(folder, min_score=0, min_score_lexical=0, encoder=encoder, cache=cache)
    print(f"loaded {len(kb.articles)} articles in {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    val, test = ask(kb, val_rows), ask(kb, test_rows)
    each = 1000 * (time.perf_counter() - started) / (len(val) + len(test))
    print(f"asked {len(val) + len(test)} questions, {each:.1f} ms each")
    defaults = KnowledgeSettings()
    label = f"{shape}, encoder + BM25 (semantic weight {kb.semantic_weight})"
    chosen, hybrid = report(label, val, test, defaults.min_score)
    words = KnowledgeBase(folder, min_score=0, min_score_lexical=0)
    lexical_chosen, lexical = report(
        f"{shape}, BM25 alone (baseline)", ask(words, val_rows), ask(words, test_rows), defaults.min_score_lexical
    )
    if hybrid and lexical:
        ratio = hybrid["coverage"] / lexical["coverage"]
        print(f"  test coverage with the encoder vs BM25 alone, each at its own threshold: {ratio:.2f}x")
    return chosen, lexical_chosen, kb


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weights", default=f"1.0,{SEMANTIC_WEIGHT},0.6", help="semantic weights to compare on val")
    args = parser.parse_args()
    if not (args.data / "intents" / "clinc150_test.jsonl").exists():
        sys.exit(f"no CLINC150 at {args.data}/intents: pass --data (see ../shared/data/README.md)")
    train, val_rows, test_rows = (rows(args.data, s) for s in ("train", "val", "test"))
    print(f"CLINC150: {len(train)} train, {len(val_rows)} val, {len(test_rows)} test questions")
    # CLINC repeats a few phrasings within an intent ("thanks"): `kb check` material, not benchmark news.
    logging.getLogger("bot.knowledge").setLevel(logging.ERROR)
    clf = load_transformer(threads=args.threads)
    primer = PrimedEncoder(
        Encoder(clf.embed, clf.version), [q for r in val_rows + test_rows for q in queries(r["text"])]
    )
    encoder = Encoder(primer.embed, clf.version)
    chosen: dict[str, tuple[float | None, float | None]] = {}
    with tempfile.TemporaryDirectory(prefix="rapport-clinc-kb-") as tmp:
        for shape, per_intent in (("full", 100), ("few", 5)):
            folder = Path(tmp) / shape
            folder.mkdir()
            n = write_articles(folder, train, per_intent)
            print(f"\n== {shape}: {n} articles, {per_intent} questions each (written to {folder})")
            hybrid, lexical, kb = shape_run(shape, folder, encoder, val_rows, test_rows)
            chosen[shape] = (hybrid, lexical)
            if shape != "full":
                continue
            print("\nsemantic weight, on val (coverage at the threshold calibrated for it):")
            for weight in (float(w) for w in args.weights.split(",")):
                kb_w = KnowledgeBase(
                    folder, min_score=0, min_score_lexical=0, encoder=encoder, cache=kb.cache, semantic_weight=weight
                )
                val_w = ask(kb_w, val_rows)
                t = calibrate(val_w)
                got = f"t={t:.2f}, coverage {measure(val_w, t)['coverage']:.3f}" if t is not None else "no threshold"
                print(f"  weight {weight:.1f}: top-1 {measure(val_w, 0)['top1']:.3f}, {got}")
    print("\nthresholds chosen on val (encoder + BM25, BM25 alone):")
    for shape, (hybrid, lexical) in chosen.items():
        print(f"  {shape}: {hybrid}, {lexical}")
    picks = [h for h, _ in chosen.values() if h is not None]
    if picks:
        print(f"the bundled [knowledge] min_score takes the stricter: {max(picks):.2f}")


if __name__ == "__main__":
    main()
