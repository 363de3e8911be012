"""Benchmark: the shipped classifier vs a roberta-base-sized transformers classifier, same run, same tweets.

Reads real customer tweets from ../shared/data (the benchmark may need the data; tests don't).
Prints messages per second and latency, batched and one at a time, and the ratio; asserts nothing.

    python bench/classifier.py [--data ../shared/data] [--threads 2] [--n 1000]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp import encoder as enc  # noqa: E402
from nlp.loader import load_classifier  # noqa: E402


def customer_tweets(data: Path, n: int) -> list[str]:
    """Inbound customer tweets from the Customer Support on Twitter sample (one text holds a bare CR)."""
    raw = (data / "unlabelled_twcs_sample.csv").read_text(encoding="utf-8").replace("\r", " ")
    rows = [r for r in csv.DictReader(io.StringIO(raw)) if (r.get("inbound") or "").strip().lower() == "true"]
    return [r["text"] for r in rows][:n]


def baseline(max_length: int, batch_size: int) -> Callable[[Sequence[str]], object]:
    """A roberta-base-sized sequence classifier with random weights, built in code (nothing downloaded).

    It reuses our tokenizer (no RoBERTa BPE vocabulary can be fetched offline); the vocabulary size
    only changes the embedding table, not the per-token work.
    """
    from transformers import RobertaConfig, RobertaForSequenceClassification

    tokenizer, _ = enc.load_backbone(None)
    config = RobertaConfig(vocab_size=tokenizer.vocab_size, num_labels=3)  # defaults are roberta-base's sizes
    model = RobertaForSequenceClassification(config).eval()

    def classify(texts: Sequence[str]) -> object:
        out = []
        with torch.inference_mode():
            for batch in enc.batches(tokenizer, list(texts), max_length, batch_size):
                out.append(
                    torch.softmax(model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits, -1)
                )
        return out

    return classify


def measure(
    models: dict[str, Callable[[Sequence[str]], object]], texts: Sequence[str], singles: int, chunks: int = 10
) -> dict[str, dict[str, float]]:
    """Throughput batched and latency one message at a time, for every model.

    The models take turns chunk by chunk and message by message, so a busy machine slows them alike
    and the ratios stay fair even when the absolute figures move.
    """
    for classify in models.values():
        classify(list(texts[:32]))  # warm up
    busy = dict.fromkeys(models, 0.0)
    size = max(1, len(texts) // chunks)
    for start in range(0, len(texts), size):
        part = list(texts[start : start + size])
        for name, classify in models.items():
            t = time.perf_counter()
            classify(part)
            busy[name] += time.perf_counter() - t
    lat: dict[str, list[float]] = {name: [] for name in models}
    for text in texts[:singles]:
        for name, classify in models.items():
            t = time.perf_counter()
            classify([text])
            lat[name].append((time.perf_counter() - t) * 1000)
    out = {}
    for name in models:
        a = np.array(lat[name])
        out[name] = {
            "batched_msgs_per_s": len(texts) / busy[name],
            "single_msgs_per_s": 1000 / a.mean(),
            "p50_ms": float(np.percentile(a, 50)),
            "p99_ms": float(np.percentile(a, 99)),
        }
    return out


RSS_PROBE = """
import os, sys, json
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, {root!r})
from nlp.loader import load_classifier
texts = json.load(open({path!r}))
c = load_classifier(threads={threads}, backend={backend!r})
for i in range(0, len(texts), 256):
    c.classify(texts[i:i + 256])
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) / 1024)
"""


def peak_rss_mb(texts: Sequence[str], threads: int, backend: str) -> float:
    """Peak resident memory of a fresh process that loads the classifier and classifies the tweets."""
    path = Path("/tmp/rapport-bench-texts.json")
    path.write_text(json.dumps(list(texts)))
    code = RSS_PROBE.format(root=str(ROOT), path=str(path), threads=threads, backend=backend)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def cpu() -> str:
    """The CPU model and its widest vector units: int8 speed in particular depends on them."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    units = [f for f in ("avx2", "avx512f", "avx512_vnni", "amx_int8") if f in flags]
    return f"{name or platform.machine()} ({', '.join(units) or 'no AVX2'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--backends", default="int8,torch")
    parser.add_argument("--save", type=Path, default=ROOT / "nlp" / "weights" / "bench.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    texts = customer_tweets(args.data, args.n)
    models: dict[str, Callable[[Sequence[str]], object]] = {}
    for backend in args.backends.split(","):
        ours = load_classifier(
            backend=backend, threads=args.threads, batch_size=args.batch_size, max_length=args.max_length
        )
        models[f"rapport ({ours.version})"] = ours.classify
    models["roberta-base-sized baseline"] = baseline(args.max_length, args.batch_size)
    rows = measure(models, texts, args.singles)
    for backend, name in zip(args.backends.split(","), models, strict=False):
        rows[name]["peak_rss_mb"] = peak_rss_mb(texts, args.threads, backend)

    base = rows["roberta-base-sized baseline"]
    columns = ("batched/s", 10), ("single/s", 10), ("p50 ms", 9), ("p99 ms", 9), ("x batched", 10), ("x single", 9)
    header = f"{'model':<42}" + "".join(f"{c:>{w}}" for c, w in columns) + f"{'RSS MB':>8}"
    lines = [
        f"{len(texts)} customer tweets (TWCS sample), {args.threads} threads, "
        f"batch {args.batch_size}, max length {args.max_length}, CPU: {cpu()}",
        header,
    ]
    for name, r in rows.items():
        lines.append(
            f"{name:<42}{r['batched_msgs_per_s']:>10.1f}{r['single_msgs_per_s']:>10.1f}"
            f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{r['batched_msgs_per_s'] / base['batched_msgs_per_s']:>10.2f}"
            f"{r['single_msgs_per_s'] / base['single_msgs_per_s']:>9.2f}"
            f"{r.get('peak_rss_mb', float('nan')):>8.0f}"
        )
    table = "\n".join(lines)
    print(table)
    if args.save:
        args.save.write_text(json.dumps({"table": table, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
