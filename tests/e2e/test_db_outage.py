"""PostgreSQL unreachable for a while, under a gateway and two workers as real processes: Slack is told
to retry what could not be stored, the workers back off, nothing crashes, and all of them carry on by
themselves once the database is back, with every complaint processed, escalated and acknowledged once.

Each process reaches PostgreSQL through a proxy of its own (tests/fakes/tcp_proxy.py), so the test can
cut the database away from all of them at once and count each one's attempts while it is gone.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp import ClientConnectionError, ClientSession
from sqlalchemy.engine import make_url

from tests.fakes.processes import Fleet, scaled_config
from tests.fakes.slack_server import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, FakeSlack, SlackSender, message_event
from tests.fakes.tcp_proxy import TcpProxy

REDIS_URL = os.environ.get("RAPPORT_TEST_REDIS_URL", "")

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="set RAPPORT_TEST_REDIS_URL")

CUSTOMERS, TRIAGE, STAFF = "C_CUST", "C_TRIAGE", "U_STAFF"
COMPLAINT = "My order never arrived and this is unacceptable"
# What a worker logs each time it gives the database a rest: the seconds it waits before the next try.
BACKOFF = re.compile(r"worker: database unavailable \(.*\); retrying in ([0-9.]+)s")


@dataclass
class Outage:
    fleet: Fleet
    slack: FakeSlack
    proxies: dict[str, TcpProxy]  # gateway, worker-1, worker-2
    database_url: str
    port: int

    def via(self, name: str) -> str:
        """The database URL for one process: through its own proxy."""
        return make_url(self.database_url).set(port=self.proxies[name].port).render_as_string(hide_password=False)


@pytest.fixture
async def outage(postgres_url: str, tmp_path: Path) -> AsyncIterator[Outage]:
    customers = {f"U_C{i}": {"name": f"c{i}", "display_name": f"Customer {i}"} for i in range(8)}
    fake = FakeSlack(users=customers, members={TRIAGE: [STAFF, BOT_USER_ID]})
    await fake.start()
    port = free_port()
    prefix = f"rapport-outage-{uuid.uuid4().hex[:10]}:"
    target = make_url(postgres_url).port or 5432
    config = scaled_config(postgres_url, REDIS_URL, prefix) + (
        f'[outbox]\npoll_interval = 0.2\n[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[slack]\nmode = "http"\napi_url = "{fake.api_url}"\n'
        f'customer_channels = ["{CUSTOMERS}"]\ntriage_channel = "{TRIAGE}"\n'
    )
    fleet = Fleet(tmp_path, config, REDIS_URL, prefix)
    try:
        with ExitStack() as stack:
            proxies = {name: stack.enter_context(TcpProxy(target)) for name in ("gateway", "worker-1", "worker-2")}
            stack.callback(fleet.close)  # the processes stop before their proxies do
            assert fleet.run("db", "upgrade").returncode == 0
            yield Outage(fleet, fake, proxies, postgres_url, port)
    finally:
        await fake.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(check: Callable[[], Any], what: str, within: float = 90.0) -> Any:
    """Poll `check` until it returns something true (a deadline against hanging, not a timing assertion)."""
    try:
        async with asyncio.timeout(within):
            while not (result := check()):
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what} after {within:.0f}s") from None
    return result


async def listening(url: str, within: float = 90.0) -> None:
    """Until the gateway's Slack endpoint answers (401: it checks signatures, so it is up)."""
    async with asyncio.timeout(within), ClientSession() as session:
        while True:
            try:
                async with session.post(url, data=b"{}") as resp:
                    if resp.status == 401:
                        return
            except ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


def backoffs(fleet: Fleet, worker: subprocess.Popen[bytes]) -> list[float]:
    return [float(m) for m in BACKOFF.findall(fleet.log_of(worker))]


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())


async def test_postgres_out_for_a_while_slack_retries_workers_back_off_and_everything_recovers_by_itself(
    outage: Outage,
) -> None:
    fleet, fake = outage.fleet, outage.slack
    secrets = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    gateway = fleet.start("run", "--role", "gateway", env={"RAPPORT_DATABASE_URL": outage.via("gateway")} | secrets)
    workers = [fleet.start("worker", env={"RAPPORT_DATABASE_URL": outage.via(f"worker-{n}")}) for n in (1, 2)]
    everyone = [gateway, *workers]

    def leaders() -> list[int]:
        return [pid for pid, info in fleet.heartbeats().items() if info.get("leader")]

    try:
        await until(lambda: {p.pid for p in everyone} <= set(fleet.heartbeats()), "three heartbeats")
        await until(lambda: leaders() == [gateway.pid], "the gateway to lead")
        url = f"http://127.0.0.1:{outage.port}/slack/events"
        await listening(url)
        slack = SlackSender(url)
        events = [message_event(CUSTOMERS, f"U_C{i}", COMPLAINT, f"{1_700_000_100 + i}.000100") for i in range(7)]

        def acknowledged(i: int) -> list[dict[str, Any]]:
            return [
                c
                for c in fake.calls_to("chat.postMessage")
                if c.get("channel") == CUSTOMERS and c.get("thread_ts") == events[i]["ts"]
            ]

        for i in (0, 1):
            assert await slack.event(events[i], f"Ev{i}") == 200
        await until(lambda: acknowledged(0) and acknowledged(1), "the first complaints acknowledged")

        # PostgreSQL goes away: every process's connections are reset, and new ones are refused.
        for proxy in outage.proxies.values():
            proxy.cut()
        refused = (2, 3, 4)
        for i in refused:  # not stored, so not acknowledged: Slack delivers them again later
            assert await slack.event(events[i], f"Ev{i}") == 503
        # The workers back off: each try waits twice as long as the one before, up to a cap.
        await until(lambda: all(len(backoffs(fleet, w)) >= 3 for w in workers), "the workers to back off")
        for w in workers:
            delays = backoffs(fleet, w)
            assert delays[0] == 0.5 and all(b == min(30.0, 2 * a) for a, b in itertools.pairwise(delays))

        # Still down, but the port now takes each connection and resets it: how often does each worker try?
        for proxy in outage.proxies.values():
            proxy.cut(accept=True)
        before = [len(backoffs(fleet, w)) for w in workers]
        await until(
            lambda: all(len(backoffs(fleet, w)) >= n + 2 for w, n in zip(workers, before, strict=True)),
            "two more rounds of each worker",
        )
        tries = [outage.proxies[f"worker-{n}"].refused for n in (1, 2)]
        rounds = [len(backoffs(fleet, w)) - n for w, n in zip(workers, before, strict=True)]
        gateway_tries = outage.proxies["gateway"].refused
        print(f"connection attempts while down: workers {tries} in {rounds} rounds, the gateway {gateway_tries}")
        for attempts, logged in zip(tries, rounds, strict=True):
            # One connection attempt a round (two at most: a reconnect after a failed ping), plus the
            # round under way: a worker that spun would have made thousands.
            assert 1 <= attempts <= 2 * (logged + 1)
        assert all(p.poll() is None for p in everyone), fleet.logs()  # nothing crashed

        # PostgreSQL is back. Slack retries the refused deliveries (same event ids): now they are taken.
        for proxy in outage.proxies.values():
            proxy.restore()
        for i in refused:
            assert await slack.event(events[i], f"Ev{i}", retry=1) == 200
        assert await slack.event(events[5], "Ev5") == 200  # and new ones
        for i in (2, 3, 4, 5):
            await until(lambda i=i: acknowledged(i), f"complaint {i} acknowledged")  # type: ignore[misc]
        await until(lambda: leaders() == [gateway.pid], "the gateway to lead again")
        for i in refused:  # a late retry of a delivery that was taken is a no-op
            assert await slack.event(events[i], f"Ev{i}", retry=2) == 200

        # A blip: every connection is reset while the processes sit idle, and the server is back at once.
        # Connections that died in the pool are replaced on checkout: the next delivery is taken first time.
        for proxy in outage.proxies.values():
            proxy.cut()
            proxy.restore()
        assert await slack.event(events[6], "Ev6") == 200
        await until(lambda: acknowledged(6), "the complaint after the blip acknowledged")
        await until(lambda: len(fake.cards(TRIAGE)) >= len(events), "a card for every complaint")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{fleet.logs()}") from None

    # Nobody was restarted: the same three processes, alive, each still beating.
    assert all(p.poll() is None for p in everyone)
    assert {p.pid for p in everyone} <= set(fleet.heartbeats())

    db = outage.database_url
    await until(lambda: rows(db, "select count(*) from replies where status <> 'sent'") == [(0,)], "every reply sent")
    handled = "count(*) filter (where action not in ('', 'processing', 'error'))"
    assert rows(db, f"select count(*), {handled} from messages") == [(7, 7)]
    routed = rows(db, "select message_id, count(*) from audit_events where kind = 'routed' group by 1")
    assert len(routed) == 7 and {n for _m, n in routed} == {1}  # every message processed exactly once
    cases = rows(db, "select customer_id, count(*) from escalations group by 1")
    assert len(cases) == 7 and {n for _c, n in cases} == {1}  # one escalation per complaining customer
    replies = rows(db, "select message_id, escalation_id from replies")
    assert len(replies) == 7 and len({m for m, _e in replies}) == 7  # one reply per message, none queued twice
    assert len({e for _m, e in replies if e is not None}) == 7  # each escalation acknowledged once
    assert all(len(acknowledged(i)) == 1 for i in range(7))
    assert len(fake.cards(TRIAGE)) == 7
    for proc in everyone:
        assert "Traceback" not in fleet.log_of(proc), fleet.log_of(proc)[-4000:]
