"""Benchmark: the classifier's backends side by side, and a roberta-base-sized model, same run, same tweets.

For each backend (ONNX fp32 and int8, PyTorch fp32 and int8 where PyTorch is installed): a cold
`rapport classify "text"` process (wall time, peak memory, whether torch was imported), peak memory
of a process classifying the tweets in batches, throughput batched and one message at a time, and
the ratio to the baseline. Then the installed size of the runtime (requirements-runtime.lock) and of
the `train` extra on top. Reads customer tweets from ../shared/data (rows 2,000 and later of the TWCS
sample). Asserts nothing.

    python bench/classifier.py [--data ../shared/data] [--threads 2] [--n 1000] [--backends onnx,onnx-int8,torch]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.loader import load_classifier, torch_installed  # noqa: E402
from nlp.runtime.tokenizer import ENCODER_BATCH  # noqa: E402

FIRST_ROW = 2000  # earlier rows of the TWCS sample are kept for an outside check
BASELINE = "roberta-base-sized baseline"
COLD_TEXT = "My order arrived broken and nobody answers the phone"


def customer_tweets(data: Path, n: int) -> list[str]:
    """Inbound customer tweets from rows 2,000 on of the Customer Support on Twitter sample."""
    # Bytes, not read_text: universal newlines would turn the one bare CR into a line break first.
    raw = (data / "unlabelled_twcs_sample.csv").read_bytes().decode("utf-8").replace("\r", " ")
    rows = list(csv.DictReader(io.StringIO(raw)))[FIRST_ROW:]
    return [r["text"] for r in rows if r["inbound"].strip().lower() == "true"][:n]


def baseline(max_length: int, batch_size: int) -> Callable[[Sequence[str]], object]:
    """A roberta-base-sized sequence classifier with random weights, built in code (nothing downloaded).

    No RoBERTa weights are available offline, so it measures speed and memory only, never quality.
    It reuses our tokenizer (no RoBERTa BPE vocabulary can be fetched offline); the vocabulary size
    only changes the embedding table, not the per-token work.
    """
    import torch
    from transformers import RobertaConfig, RobertaForSequenceClassification

    from nlp.runtime.files import PACKAGED_DIR, TOKENIZER
    from nlp.runtime.tokenizer import batches, fast_tokenizer

    encode = fast_tokenizer(PACKAGED_DIR / TOKENIZER)
    config = RobertaConfig(vocab_size=30522, num_labels=3)  # defaults are roberta-base's sizes
    model = RobertaForSequenceClassification(config).eval()

    def classify(texts: Sequence[str]) -> object:
        out = []
        with torch.inference_mode():
            for batch in batches(encode(list(texts), max_length), batch_size, 0):
                ids, mask = torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask)
                out.append(torch.softmax(model(input_ids=ids, attention_mask=mask).logits, -1))
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


# Runs a command in this interpreter and reports, at exit, its peak memory and whether torch was loaded.
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
WRAPPER = """
import atexit, json, runpy, sys
def report():
    status = open("/proc/self/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
    mods = {{m.split(".")[0] for m in sys.modules}}
    with open({out!r}, "w") as f:
        json.dump({{"peak_rss_mb": peak, "torch": "torch" in mods, "transformers": "transformers" in mods}}, f)
atexit.register(report)
sys.path.insert(0, {root!r})
{body}
"""

CLASSIFY = """
sys.argv = ["rapport", "classify", {text!r}, "--config", {config!r}]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""

BATCHES = """
from nlp.loader import load_classifier
texts = json.load(open({path!r}))
c = load_classifier(threads={threads}, backend={backend!r})
for i in range(0, len(texts), 256):
    c.classify(texts[i:i + 256])
"""


def probe(body: str) -> tuple[float, dict[str, object], str]:
    """Wall time, the wrapper's report and stdout of a fresh interpreter running `body`."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        code = WRAPPER.format(out=out.name, root=str(ROOT), body=body)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        wall = time.perf_counter() - started
        return wall, json.loads(Path(out.name).read_text()), done.stdout


def cold_classify(backend: str, threads: int, runs: int) -> dict[str, object]:
    """`rapport classify "text"` in a new process, `runs` times after one unmeasured run (disk cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "rapport.toml"
        config.write_text(f'[nlp]\nbackend = "{backend}"\nthreads = {threads}\n')
        body = CLASSIFY.format(text=COLD_TEXT, config=str(config))
        probe(body)
        walls, reports = [], []
        for _ in range(runs):
            wall, report, stdout = probe(body)
            walls.append(wall)
            reports.append(report)
        version = re.search(r"model (\S+)", stdout)
    return {
        "cold_s": statistics.median(walls),
        "cold_s_runs": walls,
        "cold_rss_mb": max(float(r["peak_rss_mb"]) for r in reports),  # type: ignore[arg-type]
        "imports_torch": any(r["torch"] or r["transformers"] for r in reports),
        "cold_model": version.group(1) if version else "?",
    }


def batch_rss_mb(texts: Sequence[str], threads: int, backend: str) -> float:
    """Peak resident memory of a fresh process that loads the classifier and classifies the tweets."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(list(texts), f)
        f.flush()
        _, report, _ = probe(BATCHES.format(path=f.name, threads=threads, backend=backend))
    return float(report["peak_rss_mb"])  # type: ignore[arg-type]


def _names(lock: Path) -> set[str]:
    pins = (line.split("==")[0] for line in lock.read_text().splitlines() if "==" in line and not line.startswith(" "))
    return {re.sub(r"[-_.]+", "-", p).lower() for p in pins}


def installed_mb() -> dict[str, float]:
    """Installed size (the files each distribution's RECORD lists) of the runtime, the rest, and torch."""
    sizes: dict[str, float] = {}
    for dist in metadata.distributions():
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        total = 0
        for f in dist.files or []:
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                total += path.stat().st_size
        sizes[name] = sizes.get(name, 0.0) + total / 1e6
    runtime = _names(ROOT / "requirements-runtime.lock") | {"pip"}
    full = _names(ROOT / "requirements.lock") | runtime
    # Rapport's own files as a wheel would install them (an editable install's RECORD lists almost none).
    own = sum(p.stat().st_size for d in ("bot", "connectors", "nlp") for p in (ROOT / d).rglob("*") if p.is_file())
    return {
        "runtime_mb": sum(v for k, v in sizes.items() if k in runtime) + own / 1e6,
        "rapport_mb": own / 1e6,
        "train_and_dev_extra_mb": sum(v for k, v in sizes.items() if k in full - runtime),
        "torch_mb": sizes.get("torch", 0.0),
    }


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
    parser.add_argument("--batch-size", type=int, default=ENCODER_BATCH, help="texts per encoder run, every model")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--backends", default="onnx,onnx-int8,torch,int8" if torch_installed() else "onnx,onnx-int8")
    parser.add_argument("--save", type=Path, default=ROOT / "nlp" / "weights" / "bench.json")
    args = parser.parse_args()

    backends = args.backends.split(",")
    texts = customer_tweets(args.data, args.n)
    models: dict[str, Callable[[Sequence[str]], object]] = {}
    names: dict[str, str] = {}
    for backend in backends:
        ours = load_classifier(
            backend=backend, threads=args.threads, batch_size=args.batch_size, max_length=args.max_length
        )
        names[backend] = f"rapport ({ours.version})"
        models[names[backend]] = ours.classify
    if torch_installed():
        import torch

        torch.set_num_threads(args.threads)
        models[BASELINE] = baseline(args.max_length, args.batch_size)
    rows = measure(models, texts, args.singles)
    for backend in backends:
        row = rows[names[backend]]
        row["batch_rss_mb"] = batch_rss_mb(texts, args.threads, backend)
        row.update(cold_classify(backend, args.threads, args.cold_runs))  # type: ignore[arg-type]
    sizes = installed_mb()

    base = rows.get(BASELINE) or rows[names[backends[0]]]
    ref = rows.get(names.get("torch", ""))
    columns = (("batched/s", 10), ("single/s", 9), ("p50 ms", 8), ("p99 ms", 8), ("x base", 7), ("x torch", 8))
    columns += (("RSS MB", 7), ("cold s", 7), ("cold MB", 8), ("torch?", 7))
    header = f"{'model':<42}" + "".join(f"{c:>{w}}" for c, w in columns)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # other work on the machine slows every figure
    lines = [
        f"{len(texts)} customer tweets (TWCS sample rows {FIRST_ROW}+), {args.threads} threads, "
        f"batch {args.batch_size}, max length {args.max_length}, CPU: {cpu()} ({os.cpu_count()} cores, "
        f"load average {load} at the end)",
        header,
    ]
    for name, r in rows.items():
        cells = [
            f"{r['batched_msgs_per_s']:>10.1f}{r['single_msgs_per_s']:>9.1f}{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}",
            f"{r['batched_msgs_per_s'] / base['batched_msgs_per_s']:>7.2f}",
            f"{r['batched_msgs_per_s'] / ref['batched_msgs_per_s']:>8.2f}" if ref else f"{'':>8}",
        ]
        if "cold_s" in r:
            imports = "yes" if r["imports_torch"] else "no"
            cells.append(f"{r['batch_rss_mb']:>7.0f}{r['cold_s']:>7.2f}{r['cold_rss_mb']:>8.0f}{imports:>7}")
        lines.append(f"{name:<42}" + "".join(cells))
    lines += [
        "RSS MB: peak of a process classifying the tweets in batches of 256; cold s and cold MB: "
        f'`rapport classify "..."` in a new process (median of {args.cold_runs} after one unmeasured run), its peak;',
        "torch?: whether that process imported torch or transformers. The baseline has random weights (no RoBERTa "
        "weights are available offline): speed only.",
        f"installed: runtime (requirements-runtime.lock, with rapport's own {sizes['rapport_mb']:.0f} MB) "
        f"{sizes['runtime_mb']:.0f} MB; the train and dev extras "
        f"add {sizes['train_and_dev_extra_mb']:.0f} MB, torch alone {sizes['torch_mb']:.0f} MB",
    ]
    table = "\n".join(lines)
    print(table)
    if args.save:
        args.save.write_text(json.dumps({"table": table, "rows": rows, "installed": sizes}, indent=2) + "\n")


if __name__ == "__main__":
    main()
