"""The durable event bus on a real database: the relay never takes an event this process is still delivering."""

from __future__ import annotations

import asyncio

from bot.events import EscalationChanged, EventBus
from bot.storage import Database, upgrade
from bot.storage.events import RepositoryEvents


async def test_the_relay_leaves_alone_an_event_still_being_delivered_then_delivers_what_failed(
    database_url: str,
) -> None:
    await upgrade(database_url)
    db = Database(database_url)
    try:
        bus = EventBus(RepositoryEvents(db))
        release = asyncio.Event()
        seen: dict[str, int] = {"slow": 0, "failing": 0}

        async def slow(event: object) -> None:  # a subscriber mid-call (a Slack post under way)
            seen["slow"] += 1
            if seen["slow"] == 1:  # the live delivery waits; a second delivery (the relay's) would not
                await release.wait()

        async def failing(event: object) -> None:
            seen["failing"] += 1
            raise RuntimeError("Slack said 500")

        bus.subscribe(slow, "slow")
        bus.subscribe(failing, "failing")

        async def publish() -> None:
            async with bus.held(), db.unit():  # as the pipeline does: delivered after the commit
                await bus.publish(EscalationChanged(1, "opened"))

        live = asyncio.create_task(publish())
        while seen["slow"] == 0:
            await asyncio.sleep(0.01)
        assert await bus.relay() == 0  # in flight here: not a missed event, nothing delivered twice
        assert seen == {"slow": 1, "failing": 0}
        release.set()
        await live
        assert seen == {"slow": 1, "failing": 1}
        assert await bus.relay() == 1  # the failed subscriber gets it again; the slow one handled it
        assert seen == {"slow": 1, "failing": 2}
    finally:
        await db.close()
