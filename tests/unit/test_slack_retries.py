"""EventLedger: Slack's redeliveries of one event act once; a failed delivery may be retried."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from connectors.slack.retries import EventLedger
from tests.fakes.sinks import MemoryState


async def test_second_delivery_of_a_finished_event_does_nothing() -> None:
    ledger, runs = EventLedger(MemoryState()), []

    async def work() -> None:
        runs.append(1)

    assert await ledger.once("Ev1", work)
    assert not await ledger.once("Ev1", work)
    assert runs == [1]


async def test_retry_while_the_first_delivery_runs_waits_for_it_and_then_does_nothing() -> None:
    ledger, release, runs = EventLedger(MemoryState()), asyncio.Event(), []

    async def slow() -> None:
        runs.append(1)
        await release.wait()

    first = asyncio.create_task(ledger.once("Ev1", slow))
    await asyncio.sleep(0)
    retry = asyncio.create_task(ledger.once("Ev1", slow))
    await asyncio.sleep(0.01)
    assert not retry.done()  # not acknowledged while the first delivery's outcome is unknown
    release.set()
    assert await first and not await retry
    assert runs == [1]


async def test_retry_while_the_first_delivery_runs_does_the_work_when_the_first_fails() -> None:
    ledger, release, runs = EventLedger(MemoryState()), asyncio.Event(), []

    async def fails_first() -> None:
        runs.append(1)
        if len(runs) == 1:
            await release.wait()
            raise RuntimeError("database is locked")

    first = asyncio.create_task(ledger.once("Ev1", fails_first))
    await asyncio.sleep(0)
    retry = asyncio.create_task(ledger.once("Ev1", fails_first))
    await asyncio.sleep(0.01)
    release.set()
    with pytest.raises(RuntimeError):
        await first
    assert await retry and len(runs) == 2


async def test_a_failed_delivery_is_processed_again_on_retry() -> None:
    ledger, runs = EventLedger(MemoryState()), []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await ledger.once("Ev1", flaky)
    assert await ledger.once("Ev1", flaky)
    assert len(runs) == 2


async def test_finished_events_survive_a_restart_through_the_state_store() -> None:
    state, runs = MemoryState(), []

    async def work() -> None:
        runs.append(1)

    await EventLedger(state).once("Ev1", work)
    assert not await EventLedger(state).once("Ev1", work)
    assert runs == [1]


async def test_finished_ids_past_their_use_are_pruned_from_the_durable_ledger() -> None:
    state = MemoryState()
    await EventLedger(state).once("EvOLD", _nothing)
    state.set_at["event:EvOLD"] -= timedelta(days=2)
    await EventLedger(state).once("EvNEW", _nothing)
    assert sorted(state.values) == ["event:EvNEW"]


async def _nothing() -> None:
    return None
