"""A gateway and workers as real processes on the real PostgreSQL and Redis (RAPPORT_TEST_POSTGRES_URL,
RAPPORT_TEST_REDIS_URL): 500 messages through SIGKILLed workers and a flushed Redis end processed exactly
once; of several gateways exactly one runs the schedulers, and a frozen or killed one hands over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fakes.processes import Fleet, scaled_config, wait_for

REDIS_URL = os.environ.get("RAPPORT_TEST_REDIS_URL", "")
# Its own database index, flushed by the test: nobody else's keys live there (test_redis_queue.py uses 9).
FLUSHED_DB = 10

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="set RAPPORT_TEST_REDIS_URL")

BURST = [
    "My order arrived broken, terrible service",
    "And the replacement is broken too, awful",
    "Any update? Still waiting",
]
COMPLAINTS = ["The app crashes at checkout, awful", "My order arrived broken, terrible service"]
OTHERS = ["thank you, great service", "how do I reset my password?"]


@pytest.fixture
def fleet(postgres_url: str, tmp_path: Path) -> Iterator[Fleet]:
    redis_url = REDIS_URL.rsplit("/", 1)[0] + f"/{FLUSHED_DB}"
    prefix = f"rapport-scale-{uuid.uuid4().hex[:10]}:"
    fleet = Fleet(tmp_path, scaled_config(postgres_url, redis_url, prefix), redis_url, prefix)
    assert fleet.run("db", "upgrade").returncode == 0
    try:
        yield fleet
    finally:
        fleet.close()


def line(author: str, n: int, text: str, conversation: str) -> str:
    return json.dumps({"channel": "discord", "id": f"{author}-{n}", "author_id": author, "text": text,
                       "author_name": f"Customer {author}", "conversation_id": conversation})  # fmt: skip


def chunk(k: int) -> list[str]:
    """125 messages: 25 customers writing three quick messages, each in a thread of its own (one case by
    the conversation window), interleaved with 25 single complaints and 25 messages that need no person."""
    bursts = [f"b{k}x{i}" for i in range(25)]
    singles = [line(f"c{k}x{i}", 0, COMPLAINTS[i % 2], f"c{k}x{i}") for i in range(25)]
    others = [line(f"o{k}x{i}", 0, OTHERS[i % 2], f"o{k}x{i}") for i in range(25)]
    rounds = [[line(b, n, BURST[n], f"{b}-thread-{n}") for b in bursts] for n in range(3)]
    return rounds[0] + singles[:13] + others[:12] + rounds[1] + singles[13:] + others[12:] + rounds[2]


def kill_mid_batch(fleet: Fleet, worker: subprocess.Popen[bytes], all_done: Callable[[], bool]) -> bool:
    """SIGKILL the worker as soon as it holds taken, unacknowledged entries (mid-batch), or when nothing is
    left to take; whether it was mid-batch."""
    wait_for(lambda: fleet.pending(worker) or all_done(), "the worker to take a batch", within=120, every=0.01)
    mid_batch = fleet.pending(worker) > 0
    fleet.kill(worker)
    return mid_batch


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def test_a_gateway_and_two_workers_process_500_messages_exactly_once_through_kills_and_a_flush(
    fleet: Fleet, postgres_url: str
) -> None:
    processed = "select count(*) from messages where action <> ''"
    gateway = fleet.start("run", "--role", "gateway")
    steady, killed = fleet.start("worker"), fleet.start("worker")
    wait_for(lambda: {gateway.pid, steady.pid, killed.pid} <= set(fleet.heartbeats()), "three heartbeats")
    kills_mid_batch = 0
    for k in range(4):
        path = fleet.folder / f"chunk{k}.jsonl"
        path.write_text("\n".join(chunk(k)) + "\n")
        if k == 2:
            # Redis loses everything while chunk 2 is being stored and processed: the stream, the group, the
            # pending entries, the heartbeats. The database still knows what waits.
            replay = fleet.start("replay", str(path))
            wait_for(lambda: count(postgres_url, "select count(*) from messages") >= 250 + 60, "chunk 2 half stored")
            fleet.redis.flushdb()
        else:
            replay = fleet.start("replay", str(path))
            chunk_done = 125 * (k + 1)
            kills_mid_batch += kill_mid_batch(
                fleet,
                killed,
                lambda n=chunk_done: count(postgres_url, processed) >= n,  # type: ignore[misc]
            )
            killed = fleet.start("worker")
            # Up again (heartbeat) before the next chunk comes, so the next kill finds it working.
            wait_for(lambda: killed.pid in fleet.heartbeats(), "the restarted worker", within=120)  # noqa: B023
        assert replay.wait(timeout=120) == 0, fleet.logs()
    try:
        wait_for(lambda: count(postgres_url, processed) == 500, "every message processed", within=180, every=0.2)
    except AssertionError:
        raise AssertionError(fleet.logs()) from None
    print(f"kills with entries taken (mid-batch): {kills_mid_batch} of 3")
    assert kills_mid_batch >= 1  # at least one kill lost a batch in flight (the others may have, too)

    def rows(sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(postgres_url) as conn:
            return list(conn.execute(sql).fetchall())

    assert rows("select action, count(*) from messages where action in ('', 'processing', 'error') group by 1") == []
    routed = dict(rows("select message_id, count(*) from audit_events where kind = 'routed' group by 1"))
    assert len(routed) == 500 and set(routed.values()) == {1}  # every message processed exactly once

    first = {a: i for a, i in rows("select author_id, min(id) from messages group by author_id")}
    by_author = dict(rows("select customer_id, min(author_id) from messages group by customer_id"))
    cases: dict[str, list[tuple[int, int]]] = {}
    for customer_id, esc_id, opening in rows("select customer_id, id, opening_message_id from escalations"):
        cases.setdefault(str(by_author[customer_id]), []).append((int(esc_id), int(opening)))  # type: ignore[call-overload]
    complaining = {a for a in first if a.startswith(("b", "c"))}
    assert set(cases) == complaining  # every complaint (and burst) has an escalation, nothing else does
    assert all(len(c) == 1 for c in cases.values())  # one case per customer, even for a burst across threads
    assert all(opening == first[a] for a, [(_, opening)] in cases.items())  # opened by the first message

    replies = rows("select message_id, escalation_id from replies")
    assert len({m for m, _ in replies}) == len(replies)  # no message got two replies
    acks: dict[object, list[object]] = {}
    for message_id, esc_id in replies:
        if esc_id is not None:
            acks.setdefault(esc_id, []).append(message_id)
    for author, [(esc_id, opening)] in cases.items():
        expected = 2 if author.startswith("b") else 1  # a burst's follow-up is acknowledged once
        assert len(acks[esc_id]) == expected and opening in acks[esc_id], author
    assert len(replies) == 200 + 100 + 100

    status = json.loads(fleet.run("status", "--json").stdout)
    assert status["messages"]["unprocessed"] == 0 and status["outbox"]["queued"] == 400
    wait_for(lambda: fleet.heartbeats() and fleet.redis.xlen(f"{fleet.prefix}work") == 0, "the stream emptied")
    status = json.loads(fleet.run("status", "--json").stdout)
    assert status["stream"]["length"] == 0 and status["stream"]["pending"] == 0
    roles = sorted(p["role"] for p in status["processes"])
    assert roles == ["gateway", "worker", "worker"]
    assert [p["role"] for p in status["processes"] if p["leader"]] == ["gateway"]


def test_of_two_gateways_one_runs_the_schedulers_and_a_frozen_or_killed_one_hands_over(fleet: Fleet) -> None:
    def leaders() -> list[int]:
        return sorted(pid for pid, info in fleet.heartbeats().items() if info.get("leader"))

    first = fleet.start("run", "--role", "gateway")
    wait_for(lambda: leaders() == [first.pid], "the first gateway to lead")
    second = fleet.start("run", "--role", "gateway")
    wait_for(lambda: second.pid in fleet.heartbeats(), "the second gateway's heartbeat")
    for _ in range(10):  # several heartbeats: the second one never leads while the first renews
        assert leaders() == [first.pid]
        time.sleep(0.2)

    first.send_signal(signal.SIGSTOP)  # frozen: it stops renewing and its heartbeat expires
    wait_for(lambda: leaders() == [second.pid], "the lease to pass to the second gateway after it expired")
    first.send_signal(signal.SIGCONT)
    wait_for(lambda: first.pid in fleet.heartbeats(), "the thawed gateway's heartbeat")
    for _ in range(10):  # back, it learns it lost the lease: still exactly one leader
        assert leaders() == [second.pid]
        time.sleep(0.2)

    fleet.kill(second)
    wait_for(lambda: leaders() == [first.pid], "the lease to come back to the first gateway")
