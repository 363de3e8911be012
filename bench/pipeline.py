"""Benchmark: the whole pipeline on real customer tweets, against storing alone, in the same run.

Replays inbound tweets from the Customer Support on Twitter sample (../shared/data) as messages from
distinct customers through (a) the store step alone — the floor any pipeline pays — and (b) the full
pipeline (store, identify, classify, route, act, outbox) with the rule classifier and with the shipped
model, each on a fresh SQLite file (and PostgreSQL with --postgres URL). Prints messages per second,
p50/p99 latency and each ratio to the store-only baseline; asserts nothing.

    python bench/pipeline.py [--data ../shared/data] [--n 300] [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import Rapport  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain import InboundMessage  # noqa: E402
from bot.pipeline import ingest, validate  # noqa: E402


def tweets(data: Path, n: int) -> list[InboundMessage]:
    raw = (data / "unlabelled_twcs_sample.csv").read_text(encoding="utf-8").replace("\r", " ")
    rows = [r for r in csv.DictReader(io.StringIO(raw)) if (r.get("inbound") or "").strip().lower() == "true"]
    return [
        InboundMessage(channel="x", external_id=r["tweet_id"], author_id=r["author_id"], text=r["text"],
                       conversation_id=f"x-conv-{r['tweet_id']}", connector="bench")
        for r in rows[:n]
    ]  # fmt: skip


class Sink:
    name = "bench"

    async def start(self, sink: object) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, reply: object) -> str:
        return "ok"


async def run(label: str, url: str, backend: str, messages: list[InboundMessage], store_only: bool) -> dict[str, float]:
    settings = Settings.model_validate({"database": {"url": url}, "nlp": {"backend": backend}})
    async with Rapport(settings) as bot:
        await bot.attach(Sink())
        assert bot.pipeline is not None
        latencies = []
        start = time.perf_counter()
        for m in messages:
            t = time.perf_counter()
            if store_only:
                await ingest(bot.pipeline.services, validate(m))
            else:
                await bot.process(m)
                await bot.outbox.deliver_due()
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "msgs_per_s": len(messages) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--postgres", help="also run on this PostgreSQL database (it must be empty)")
    args = parser.parse_args()
    messages = tweets(args.data, args.n)
    databases = [("sqlite", None)] + ([("postgres", args.postgres)] if args.postgres else [])
    print(f"{len(messages)} inbound customer tweets, one message at a time")
    for db_name, pg in databases:
        results = {}
        for label, backend, store_only in (("store only (baseline)", "rules", True),
                                           ("pipeline, rule classifier", "rules", False),
                                           ("pipeline, shipped model", "auto", False)):  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp:
                url = pg or f"sqlite:///{tmp}/bench.db"
                if pg:
                    _reset_postgres(pg)
                results[label] = asyncio.run(run(label, url, backend, messages, store_only))
        base = results["store only (baseline)"]["msgs_per_s"]
        print(f"\n[{db_name}]")
        print(f"{'':28} {'msgs/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs store':>9}")
        for label, r in results.items():
            print(f"{label:28} {r['msgs_per_s']:8.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
                  f"{r['msgs_per_s'] / base:8.2f}x")  # fmt: skip


def _reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


if __name__ == "__main__":
    main()
