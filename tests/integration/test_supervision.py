"""`Rapport.run` keeps connectors alive: failed starts and later deaths are retried; others carry on."""

import asyncio
from pathlib import Path

from bot.app import Rapport
from bot.domain import OutboundReply
from bot.errors import AuthFailed
from tests.conftest import RecordingConnector, make_settings


class Flaky:
    """Fails to start `start_failures` times; after starting, dies once with AuthFailed when told."""

    def __init__(self, name: str, start_failures: int = 0) -> None:
        self.name = name
        self.start_failures = start_failures
        self.starts = 0
        self.status = "stopped"
        self._ended: asyncio.Future[None] | None = None

    async def start(self, sink: object) -> None:
        self.starts += 1
        if self.start_failures:
            self.start_failures -= 1
            raise ConnectionError("platform unreachable")
        self._ended = asyncio.get_running_loop().create_future()
        self.status = "connected"

    def die(self) -> None:
        assert self._ended is not None
        self._ended.set_exception(AuthFailed("token revoked", connector=self.name))

    async def wait(self) -> None:
        assert self._ended is not None
        await self._ended

    async def stop(self) -> None:
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)
        self.status = "stopped"

    async def send(self, reply: OutboundReply) -> str:
        return "ok"


async def wait_until(predicate: object, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_failed_starts_and_later_deaths_are_retried_without_stopping_others(tmp_path: Path) -> None:
    async with Rapport(make_settings(f"sqlite:///{tmp_path / 'r.db'}")) as bot:
        flaky, steady = Flaky("flaky", start_failures=1), RecordingConnector(name="steady")
        stop = asyncio.Event()
        running = asyncio.create_task(bot.run([flaky, steady], stop))
        await wait_until(lambda: "flaky" in bot.connected and "steady" in bot.connected)
        assert flaky.starts == 2 and bot.connector_status()["flaky"] == "connected"
        flaky.die()
        await wait_until(lambda: flaky.starts == 3 and "flaky" in bot.connected)
        assert "steady" in bot.connected
        stop.set()
        await asyncio.wait_for(running, 10)
        assert bot.connector_status() == {"flaky": "stopped", "steady": "stopped"}
