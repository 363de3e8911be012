"""Automatic assignment on a real database (SQLite, and PostgreSQL when configured): round-robin among
staff on shift under the cap, and two bots on one database (two processes' engines) never both assigning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.app import Rapport
from bot.config import AssignmentSettings
from bot.domain import EscalationStatus
from bot.staff.assignment import AUTO_ASSIGN, AutoAssigner
from tests.conftest import Driver, RecordingConnector, make_settings

COMPLAINT = "My order never arrived and nobody answers, this is unacceptable"


@pytest.fixture
async def assigning(database_url: str) -> AsyncIterator[Driver]:
    settings = make_settings(database_url, assignment={"enabled": True, "max_open_per_person": 2})
    async with Rapport(settings) as bot:
        connector = RecordingConnector()
        await bot.attach(connector)
        yield Driver(bot, connector)


async def _complaints(driver: Driver, n: int) -> list[int]:
    ids = []
    for i in range(n):
        outcome = await driver.say(COMPLAINT, author=f"cust-{i}", name=f"Customer {i}")
        assert outcome.escalation_id is not None
        ids.append(outcome.escalation_id)
    return ids


async def test_new_cases_go_round_robin_to_staff_on_shift_up_to_the_cap(assigning: Driver) -> None:
    bot = assigning.bot
    for who in ("slack:UA", "slack:UB", "user:cat@example.com"):
        await bot.shifts.set(who, True, by="test")
    await bot.shifts.set("slack:UOFF", True, by="test")
    await bot.shifts.set("slack:UOFF", False, by="test")  # went off shift: gets nothing

    ids = await _complaints(assigning, 7)

    escalations = {e.id: e for e in await bot.repo.escalations.query()}
    assignees = [escalations[i].assignee for i in ids]
    assert assignees[:6] == ["slack:UA", "slack:UB", "user:cat@example.com"] * 2
    # Everyone on shift has two open cases (the cap): the seventh waits for someone to claim it.
    assert assignees[6] == "" and escalations[ids[6]].status is EscalationStatus.OPEN
    assert all(escalations[i].status is EscalationStatus.CLAIMED for i in ids[:6])
    audits = [e for e in await bot.repo.audit.events(escalation_id=ids[0]) if e.kind == "escalation.assigned"]
    assert [(a.actor, a.detail["assignee"]) for a in audits] == [(AUTO_ASSIGN, "slack:UA")]

    # Resolving one of UB's cases gives UB room again; the next case is theirs.
    await bot.desk.resolve(ids[1], "slack:UB")
    eighth = await _one_more(assigning)
    esc = await bot.repo.escalations.get(eighth)
    assert esc is not None and esc.assignee == "slack:UB"


async def _one_more(driver: Driver) -> int:
    outcome = await driver.say(COMPLAINT, author="cust-late", name="Late Customer")
    assert outcome.escalation_id is not None
    return outcome.escalation_id


async def test_with_nobody_on_shift_a_case_stays_unassigned(assigning: Driver) -> None:
    [case] = await _complaints(assigning, 1)
    esc = await assigning.bot.repo.escalations.get(case)
    assert esc is not None and esc.assignee == "" and esc.status is EscalationStatus.OPEN


async def test_a_case_claimed_meanwhile_is_not_assigned(assigning: Driver) -> None:
    bot = assigning.bot
    await bot.shifts.set("slack:UA", False, by="test")
    [case] = await _complaints(assigning, 1)
    await bot.desk.claim(case, "slack:UZ")
    await bot.shifts.set("slack:UA", True, by="test")
    assert await bot.assigner.assign(case) is None  # e.g. the relay delivering "opened" again
    esc = await bot.repo.escalations.get(case)
    assert esc is not None and esc.assignee == "slack:UZ"
    [shift] = await bot.shifts.list()
    assert shift.turns == 0  # the turn taken for it was rolled back


async def test_two_processes_never_both_assign_and_share_the_round(database_url: str) -> None:
    """Two bots on one database, as two processes: each with its own engine and assigner."""
    quiet = make_settings(database_url)  # no subscriber: the test calls the assigners itself
    enabled = AssignmentSettings(enabled=True, max_open_per_person=10)
    async with Rapport(quiet) as one, Rapport(quiet) as two:
        connector = RecordingConnector()
        await one.attach(connector)
        driver = Driver(one, connector)
        for who in ("slack:UA", "slack:UB"):
            await one.shifts.set(who, True, by="test")
        first, second, third = await _complaints(driver, 3)
        assigners = [AutoAssigner(enabled, b.shifts.store, b.repo, b.events) for b in (one, two)]

        # The same case, at once from both: exactly one assignment, one audit entry.
        got = await asyncio.gather(*(a.assign(first) for a in assigners))
        assert sorted(got, key=str) == sorted([None, "slack:UA"], key=str)
        audits = [e for e in await one.repo.audit.events(escalation_id=first) if e.kind == "escalation.assigned"]
        assert len(audits) == 1

        # Two cases at once: both pick UB's turn first; one gets UB, the other looks again and gets UA.
        got = await asyncio.gather(assigners[0].assign(second), assigners[1].assign(third))
        assert sorted(g or "" for g in got) == ["slack:UA", "slack:UB"]
        shifts = {s.actor: s for s in await one.shifts.list()}
        assert shifts["slack:UA"].open_cases == 2 and shifts["slack:UB"].open_cases == 1
