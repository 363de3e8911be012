"""Benchmark: worker processes (`rapport worker`) on PostgreSQL and Redis Streams, with real tweets.

Inbound tweets from the Customer Support on Twitter sample (../shared/data, rows from 2,000 on; earlier
rows are kept out of every measurement) arrive as messages from their real authors. Each run has a
fresh PostgreSQL database and its own Redis key prefix; every worker is a real process limited to one
classifier thread (`[nlp] threads = 1`), with the shipped model unless --rules.

- throughput with 1 and with 2 workers, same run: the messages are stored first (nothing announced, the
  workers idle), then announced on the stream at once; messages per second from the announcement to
  the last one processed, and the ratio of 2 workers to 1;
- a soak: --soak messages offered at --rate per second (stored and announced as a gateway does) while
  a random worker is SIGKILLed every 10-20 s and started again; then lost (stored, never processed),
  duplicated (routed twice, or two replies for one message) and arrival to reply queued p50/p99.

Prints figures and ratios; asserts nothing.

    python bench/scale.py [--data ../shared/data] [--n 1000] [--soak 5000] [--rate 10] [--rules]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import Rapport  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.domain import InboundMessage  # noqa: E402
from bot.storage.stream import RedisQueue  # noqa: E402
from nlp.rules import RuleClassifier  # noqa: E402

FIRST_ROW = 2000  # rows before this one are off-limits for tuning and measurement


def tweets(data: Path, n: int) -> list[InboundMessage]:
    """`n` inbound tweets; past the sample's end they come round again as new messages of new authors."""
    raw = (data / "unlabelled_twcs_sample.csv").read_text(encoding="utf-8").replace("\r", " ")
    rows = list(csv.DictReader(io.StringIO(raw)))[FIRST_ROW:]
    inbound = [r for r in rows if (r.get("inbound") or "").strip().lower() == "true"]
    out = []
    for i in range(n):
        r, lap = inbound[i % len(inbound)], i // len(inbound)
        tag = f"-{lap}" if lap else ""
        conversation = r["in_response_to_tweet_id"] or r["tweet_id"]
        out.append(
            InboundMessage(channel="x", external_id=f"{r['tweet_id']}{tag}", author_id=f"{r['author_id']}{tag}",
                           text=r["text"], conversation_id=f"x-conv-{conversation}{tag}", connector="bench")
        )  # fmt: skip
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


class Cluster:
    """A fresh database and key prefix, and worker processes on them."""

    def __init__(self, args: argparse.Namespace, *, claim_idle: float, sweep: float) -> None:
        self.admin = args.postgres
        self.name = f"rapport_bench_{uuid.uuid4().hex[:10]}"
        self.url = make_url(args.postgres).set(database=self.name).render_as_string(hide_password=False)
        self.redis_url = args.redis
        self.prefix = f"rapport-bench-{uuid.uuid4().hex[:10]}:"
        self.folder = tempfile.TemporaryDirectory()
        backend = "rules" if args.rules else "auto"
        (Path(self.folder.name) / "rapport.toml").write_text(
            f'log_level = "WARNING"\n[database]\nurl = "{self.url}"\n'
            f'[queue]\nurl = "{self.redis_url}"\nprefix = "{self.prefix}"\nclaim_idle_seconds = {claim_idle}\n'
            f"sweep_seconds = {sweep}\nheartbeat_seconds = 1\n"
            f'[nlp]\nbackend = "{backend}"\nthreads = 1\n'
        )
        self.redis = redis.Redis.from_url(self.redis_url, decode_responses=True)
        self.workers: list[subprocess.Popen[bytes]] = []
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        env = self.env()
        subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=self.folder.name, env=env, check=True,
                       capture_output=True)  # fmt: skip

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "SLACK_", "DISCORD_", "X_"))}
        env.update(RAPPORT_CONFIG=str(Path(self.folder.name) / "rapport.toml"), PYTHONPATH=str(ROOT))
        return env

    def settings(self) -> Settings:
        return Settings.model_validate({"database": {"url": self.url}, "nlp": {"backend": "rules"}})

    def start_worker(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=self.folder.name, env=self.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        self.workers.append(proc)
        return proc

    def live(self) -> set[int]:
        return {int(k.rsplit("-", 1)[1]) for k in self.redis.scan_iter(match=f"{self.prefix}process:*")}

    def wait_up(self, procs: list[subprocess.Popen[bytes]], within: float = 600) -> None:
        deadline = time.monotonic() + within
        while not {p.pid for p in procs} <= self.live():
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start (see `rapport worker` with this config)")
            time.sleep(0.2)

    def count(self, sql: str) -> float:
        with psycopg.connect(self.url) as conn:
            row = conn.execute(sql).fetchone()
            return float(row[0]) if row and row[0] is not None else 0.0

    def pids(self, sql: str) -> list[float]:
        with psycopg.connect(self.url) as conn:
            return [float(r[0]) for r in conn.execute(sql).fetchall()]

    def processed(self) -> int:
        return int(self.count("select count(*) from messages where action <> ''"))

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for key in self.redis.scan_iter(match=f"{self.prefix}*"):
            self.redis.delete(key)
        self.redis.close()
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.folder.cleanup()


async def store(settings: Settings, messages: list[InboundMessage]) -> list[int]:
    async with Rapport(settings, classifier=RuleClassifier()) as bot:
        assert bot.pipeline is not None
        return [(await bot.pipeline.store(m))[0].id for m in messages]


async def announce(cluster: Cluster, ids: list[int]) -> None:
    queue = RedisQueue(cluster.redis_url, prefix=cluster.prefix)
    for message_id in ids:
        await queue.put(message_id)
    await queue.close()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU time of each live process so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def throughput(args: argparse.Namespace, messages: list[InboundMessage], workers: int) -> dict[str, float]:
    """Messages per second with `workers` processes, from announcing every stored message to the last done,
    and the cores the workers and their PostgreSQL backends kept busy meanwhile."""
    cluster = Cluster(args, claim_idle=30, sweep=3600)  # no sweep: only the stream hands out work
    try:
        procs = [cluster.start_worker() for _ in range(workers)]
        cluster.wait_up(procs)
        ids = asyncio.run(store(cluster.settings(), messages))
        backends = [int(b) for b in cluster.pids("select pid from pg_stat_activity where datname = current_database()")]
        before = cpu_seconds([p.pid for p in procs] + backends)
        start = time.perf_counter()
        asyncio.run(announce(cluster, ids))
        while cluster.processed() < len(ids):
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        backends = [int(b) for b in cluster.pids("select pid from pg_stat_activity where datname = current_database()")]
        after = cpu_seconds([p.pid for p in procs] + backends)
        used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
        in_workers = sum(used.get(p.pid, 0.0) for p in procs)
        return {
            "msgs_per_s": len(ids) / elapsed,
            "worker_cores": in_workers / elapsed,
            "postgres_cores": (sum(used.values()) - in_workers) / elapsed,
        }
    finally:
        cluster.close()


async def offer(settings: Settings, messages: list[InboundMessage], rate: float) -> None:
    """Store and announce each message at `rate` per second, as a gateway's sink does."""
    async with Rapport(settings, classifier=RuleClassifier()) as bot:
        start = time.perf_counter()
        for i, m in enumerate(messages):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            await bot.sink(m)


def soak(args: argparse.Namespace, messages: list[InboundMessage]) -> dict[str, float]:
    cluster = Cluster(args, claim_idle=args.claim_idle, sweep=30)
    rng = random.Random(13)
    try:
        procs = [cluster.start_worker() for _ in range(2)]
        cluster.wait_up(procs)
        feeder = subprocess.Popen([sys.executable, __file__, "--feed", cluster.folder.name, *sys.argv[1:]])
        kills, next_kill = 0, time.monotonic() + rng.uniform(10, 20)
        start = time.monotonic()
        drained_by = None
        while True:
            done = cluster.processed()
            if feeder.poll() is not None and done >= len(messages):
                break
            if feeder.poll() is not None and drained_by is None:
                drained_by = time.monotonic() + args.drain  # stop killing; wait for the rest, at most this long
            if drained_by is not None and time.monotonic() > drained_by:
                break
            if drained_by is None and time.monotonic() >= next_kill:
                victim = rng.randrange(len(procs))
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait()
                procs[victim] = cluster.start_worker()
                kills += 1
                next_kill = time.monotonic() + rng.uniform(10, 20)
            time.sleep(0.2)
        elapsed = time.monotonic() - start
        stored = cluster.count("select count(*) from messages")
        lost = cluster.count("select count(*) from messages where action = ''")
        routed_twice = cluster.count(
            "select count(*) from (select message_id from audit_events where kind = 'routed'"
            " group by message_id having count(*) > 1) t"
        )
        replied_twice = cluster.count(
            "select count(*) from (select message_id from replies group by message_id having count(*) > 1) t"
        )
        with psycopg.connect(cluster.url) as conn:
            latencies = [
                float(s)
                for (s,) in conn.execute(
                    "select extract(epoch from r.created_at - m.received_at) from replies r"
                    " join messages m on m.id = r.message_id"
                )
            ]
        return {
            "offered": len(messages),
            "stored": stored,
            "lost": lost,
            "duplicated": routed_twice + replied_twice,
            "kills": kills,
            "seconds": elapsed,
            "replies": len(latencies),
            "p50_ms": percentile(latencies, 0.5) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
        }
    finally:
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=1000, help="messages per throughput run")
    parser.add_argument("--soak", type=int, default=5000, help="messages in the soak (0: no soak)")
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second offered in the soak")
    parser.add_argument("--claim-idle", type=float, default=5.0, help="[queue] claim_idle_seconds in the soak")
    parser.add_argument("--drain", type=float, default=600.0, help="seconds to wait for the soak's backlog")
    parser.add_argument("--rules", action="store_true", help="the rule classifier instead of the shipped model")
    parser.add_argument(
        "--postgres", default=os.environ.get("RAPPORT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--redis", default=os.environ.get("RAPPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--feed", help=argparse.SUPPRESS)  # internal: the soak's feeder process
    args = parser.parse_args()
    if args.feed:
        return feed(args)
    model = "rule classifier" if args.rules else "shipped model"
    print(f"{os.cpu_count()} CPUs; PostgreSQL and Redis on this machine; {model}, one classifier thread per worker")
    sample = tweets(args.data, args.n)
    one = throughput(args, sample, 1)
    two = throughput(args, sample, 2)
    print(f"\n{len(sample)} tweets, stored, then announced at once:")
    for label, r in (("1 worker ", one), ("2 workers", two)):
        ratio = "(baseline)" if r is one else f"= {r['msgs_per_s'] / one['msgs_per_s']:.2f}x one worker"
        print(
            f"  {label}: {r['msgs_per_s']:7.1f} msgs/s {ratio}; cores busy: workers {r['worker_cores']:.2f},"
            f" their PostgreSQL backends {r['postgres_cores']:.2f}"
        )
    if args.soak:
        r = soak(args, tweets(args.data, args.soak))
        print(
            f"\nsoak: {r['offered']:.0f} messages offered at {args.rate:g}/s, a random worker of 2 killed every"
            f" 10-20 s ({r['kills']:.0f} kills, claim_idle_seconds {args.claim_idle:g}), {r['seconds']:.0f} s:"
        )
        print(f"  stored {r['stored']:.0f}; lost (never processed) {r['lost']:.0f}; duplicated {r['duplicated']:.0f}")
        replies, p50, p99 = r["replies"], r["p50_ms"], r["p99_ms"]
        print(f"  arrival to reply queued ({replies:.0f} replies): p50 {p50:.0f} ms, p99 {p99:.0f} ms")


def feed(args: argparse.Namespace) -> None:
    """The soak's traffic, in a process of its own so the kills' bookkeeping never delays it."""
    settings = load_settings(Path(args.feed) / "rapport.toml", env={})
    asyncio.run(offer(settings, tweets(args.data, args.soak), args.rate))


if __name__ == "__main__":
    main()
