"""Work after the ack: held until done, failures logged, drained (then cancelled) on stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectors.slack.background import Background


async def test_failures_are_logged_not_lost(caplog: pytest.LogCaptureFixture) -> None:
    background = Background()

    async def boom() -> None:
        raise RuntimeError("kaput")

    background.spawn(boom(), "card action")
    with caplog.at_level(logging.ERROR):
        await background.drain()
    assert "card action failed: kaput" in caplog.text


async def test_drain_waits_for_running_work_and_cancels_what_overstays() -> None:
    background, done = Background(), []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        done.append("quick")

    async def stuck() -> None:
        await asyncio.sleep(3600)

    background.spawn(quick(), "quick")
    background.spawn(stuck(), "stuck")
    await background.drain(within=0.2)
    assert done == ["quick"]
    await background.drain()  # nothing left
