"""Two workers (two bots with their own connections) on one real database: they never process one
customer's messages at the same time, and a customer's messages are processed in the order they were
stored whichever worker got which, so a burst across threads opens one case, by its first message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from bot.app import Rapport
from bot.config import Settings
from bot.domain import InboundMessage
from bot.storage.turns import LOCK_SPACE, turn_key
from nlp.rules import RuleClassifier

COMPLAINTS = [
    "My order arrived broken, terrible service",
    "And the replacement is broken too, awful",
    "Still nothing fixed, this is unacceptable",
]


@pytest.fixture
async def workers(database_url: str) -> AsyncIterator[tuple[Rapport, Rapport]]:
    settings = Settings.model_validate({"database": {"url": database_url}})
    async with (
        Rapport(settings, classifier=RuleClassifier()) as one,
        Rapport(settings, classifier=RuleClassifier()) as two,
    ):
        yield one, two


async def burst(bot: Rapport, author: str, texts: list[str]) -> list[int]:
    """Store a customer's quick messages, each in a thread of its own (as top-level posts are)."""
    ids = []
    for i, text in enumerate(texts):
        stored, _ = await bot.pipeline.store(  # type: ignore[union-attr]
            InboundMessage(
                channel="discord",
                external_id=f"{author}-{i}",
                author_id=author,
                text=text,
                conversation_id=f"t-{author}-{i}",
            )
        )
        ids.append(stored.id)
    return ids


async def test_concurrent_workers_on_one_burst_open_one_case_by_its_first_message(
    workers: tuple[Rapport, Rapport],
) -> None:
    one, two = workers
    for round_ in range(5):
        ids = await burst(one, f"cust-{round_}", COMPLAINTS)
        await asyncio.gather(one.worker.process([ids[0], ids[2]]), two.worker.process([ids[1]]))
        cases = [e for e in await one.repo.escalations.query() if e.opening_message_id in ids]
        assert [e.opening_message_id for e in cases] == [ids[0]]
        assert cases[0].message_ids == tuple(ids)
        acks = [r for r in await one.repo.replies.query(escalation_id=cases[0].id) if r.message_id == ids[0]]
        assert len(acks) == 1


async def test_a_worker_given_a_later_message_processes_the_waiting_earlier_ones_first(
    workers: tuple[Rapport, Rapport],
) -> None:
    """The earlier message sits in another worker's batch (or it died holding it): the later one does not
    overtake it, and the other worker's copy is then a duplicate."""
    one, two = workers
    ids = await burst(one, "cust-late", COMPLAINTS[:2])
    (later,) = [o for o in await two.worker.process([ids[1]]) if o.message_id == ids[1]]
    routed = [a.message_id for a in await two.repo.audit.events(kind="routed")]
    assert routed == ids
    (case,) = await two.repo.escalations.query()
    assert case.opening_message_id == ids[0] and later.escalation_id == case.id
    assert await one.worker.process([ids[0]]) == []  # the other worker's copy: nothing left to do
    assert [a.message_id for a in await one.repo.audit.events(kind="routed")] == ids


async def test_a_batch_keeps_each_customers_order_whatever_order_its_ids_come_in(
    workers: tuple[Rapport, Rapport],
) -> None:
    """A batch of several customers (one unit on SQLite): a message whose customer has an earlier one
    waiting outside the batch waits behind it, ids handed over out of order are processed oldest first,
    and the other customers' messages are not held up."""
    one, _ = workers
    kept_back, a_next = await burst(one, "cust-a", COMPLAINTS[:2])  # the first is never handed over
    (other,) = await burst(one, "cust-c", COMPLAINTS[:1])
    b_first, b_second = await burst(one, "cust-b", COMPLAINTS[1:3])
    outcomes = await one.worker.process([b_second, a_next, b_first, other])
    assert sorted(o.message_id for o in outcomes if not o.error) == sorted(
        [kept_back, a_next, other, b_first, b_second]
    )
    routed = [a.message_id for a in await one.repo.audit.events(kind="routed")]
    assert sorted(routed) == sorted(set(routed))  # each message routed once
    assert routed.index(b_first) < routed.index(b_second)  # handed over second-first, processed in order
    assert routed.index(kept_back) < routed.index(a_next)  # the earlier one outside the batch went first
    (a_case,) = [e for e in await one.repo.escalations.query() if e.opening_message_id == kept_back]
    assert a_next in a_case.message_ids


async def test_processing_a_message_first_processes_the_customers_earlier_waiting_one(
    workers: tuple[Rapport, Rapport],
) -> None:
    """One process (chat, replay): a message stored by a process that died is not overtaken by the next."""
    one, _ = workers
    (earlier,) = await burst(one, "cust-left", COMPLAINTS[:1])
    later = InboundMessage(channel="discord", external_id="next", author_id="cust-left", text=COMPLAINTS[1])
    outcome = await one.process(later)
    (case,) = await one.repo.escalations.query()
    assert case.opening_message_id == earlier and outcome.message_id != earlier
    assert outcome.escalation_id == case.id
    assert [a.message_id for a in await one.repo.audit.events(kind="routed")] == [earlier, outcome.message_id]


async def test_a_customer_held_by_another_worker_waits_and_past_the_lock_timeout_stays_queued(
    database_url: str,
) -> None:
    """Another worker mid-unit on this customer (its turn held on another connection): this worker's unit
    waits; past [database] busy_timeout the message stays queued, and it is processed once the turn is free."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite: every unit holds the one write lock already")
    settings = Settings.model_validate({"database": {"url": database_url, "busy_timeout": 0.3}})
    async with Rapport(settings, classifier=RuleClassifier()) as bot:
        (first,) = await burst(bot, "cust-held", COMPLAINTS[:1])
        with psycopg.connect(database_url) as other:
            other.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, turn_key("discord", "cust-held")))
            (refused,) = await bot.worker.process([first])
            assert refused.error.startswith("storage:") and "LockNotAvailable" in refused.error
            assert [m.id for m in await bot.repo.messages.unfinished()] == [first]
            other.rollback()
        (done,) = await bot.worker.process([first])
        assert done.escalation_id is not None and not done.error


def test_turn_keys_are_stable_signed_32_bit_integers() -> None:
    key = turn_key("discord", "u1")
    assert key == turn_key("discord", "u1") and key != turn_key("x", "u1")
    assert -(2**31) <= key < 2**31
