"""The schedulers' lease on the real PostgreSQL: one holder at a time; released, the next process takes
it at once; a holder that stops renewing (a frozen process) loses it when the lease expires, another
takes it, and the old holder learns it no longer leads. On SQLite the one process leads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Database, upgrade
from bot.storage.leader import Leadership

LEASE = 0.6  # seconds


@pytest.fixture
async def databases(postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    await upgrade(postgres_url)
    one, two = Database(postgres_url), Database(postgres_url)  # two processes' engines
    yield one, two
    await one.close()
    await two.close()


async def eventually_leads(lease: Leadership, tries: int = 200) -> int:
    """Try for the lease until it is taken; how many tries it took (fails past `tries`)."""
    for attempt in range(1, tries + 1):
        if await lease.try_lead():
            return attempt
        await asyncio.sleep(lease.renew_seconds)
    pytest.fail(f"the lease was not taken in {tries} tries")


async def test_one_holder_at_a_time_and_a_release_hands_it_over_at_once(databases: tuple[Database, Database]) -> None:
    first, second = (Leadership(db, lease_seconds=LEASE) for db in databases)
    assert await first.try_lead() and await first.confirm()
    assert not await second.try_lead() and not second.leading
    assert await first.try_lead()  # renewing keeps it
    await first.release()
    assert not await first.confirm()
    assert await second.try_lead() and await second.confirm()
    await second.release()


async def test_a_holder_that_stops_renewing_loses_the_lease_after_it_expires(
    databases: tuple[Database, Database],
) -> None:
    frozen, standby = (Leadership(db, lease_seconds=LEASE) for db in databases)
    assert await frozen.try_lead()
    # `frozen` now never renews, as a stopped (SIGSTOP) or cut-off process would not.
    tries = await eventually_leads(standby)
    assert tries > 1  # not before the lease expired
    assert not await frozen.confirm()  # back again, it learns it lost the lease, and does not lead
    assert not await frozen.try_lead()
    assert await standby.confirm()
    await standby.release()
    await frozen.release()


async def test_run_keeps_the_lease_past_its_expiry_and_releases_it_on_stop(
    databases: tuple[Database, Database],
) -> None:
    leader, standby = (Leadership(db, lease_seconds=LEASE) for db in databases)
    stop = asyncio.Event()
    running = asyncio.create_task(leader.run(stop))
    await eventually_leads(leader)
    for _ in range(6):  # two lease periods of trying: the renewing holder keeps it all along
        assert not await standby.try_lead()
        await asyncio.sleep(standby.renew_seconds)
    assert await leader.confirm()
    stop.set()
    await running
    assert await standby.try_lead()
    await standby.release()


async def test_on_sqlite_the_one_process_leads(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'rapport.db'}")
    lease = Leadership(db)
    assert lease.leading and await lease.try_lead() and await lease.confirm()
    await db.close()
