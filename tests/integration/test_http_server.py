"""Rapport's one HTTP server on 127.0.0.1: Slack's endpoint before the connector starts, a port in use."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.app import Rapport
from bot.config import Settings
from bot.errors import ConfigError
from bot.server import HttpServer
from connectors.slack import SlackConnector
from tests.fakes.slack_server import BOT_TOKEN, SIGNING_SECRET, FakeSlack, SlackSender, message_event


def settings_for(tmp_path: Path, api_url: str = "http://127.0.0.1:9/api/", port: int = 0) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'rapport.db'}"},
            "nlp": {"backend": "rules"},
            "server": {"host": "127.0.0.1", "port": port},
            "slack": {"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET, "api_url": api_url},
        }
    )


async def test_slacks_events_get_503_until_the_connector_has_started_and_after_it_stopped(tmp_path: Path) -> None:
    """Slack redelivers a 503; an event acknowledged before the sink was set would be lost."""
    fake = FakeSlack()
    await fake.start()
    settings = settings_for(tmp_path, fake.api_url)
    async with Rapport(settings) as bot:
        connector = SlackConnector(settings, bot.desk, bot.events, bot.state_for("slack"))
        server = HttpServer(bot.web_app([connector]), "127.0.0.1", 0)
        await server.start()
        url = f"http://127.0.0.1:{server.port}/slack/events"
        event = message_event("C_CUST", "U_ANN", "hello", "1700000100.000100")
        try:
            assert await SlackSender(url).event(event) == 503
            await bot.attach(connector)
            assert await SlackSender(url).event(event) == 200
            await bot.detach(connector)
            assert await SlackSender(url).event(event) == 503
            async with ClientSession() as session, session.get(url) as resp:
                assert resp.status == 405
        finally:
            await server.stop()
    await fake.stop()


async def test_a_port_in_use_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with Rapport(settings_for(tmp_path)) as bot:
            with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
                await HttpServer(bot.web_app(), "127.0.0.1", port).start()


async def test_run_keeps_going_while_its_port_is_taken_and_serves_once_it_is_free(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    async with Rapport(settings_for(tmp_path, port=port)) as bot:
        stop = asyncio.Event()
        serving = asyncio.create_task(bot.serve_http([], stop, max_delay=0.2))
        await asyncio.sleep(0.3)
        assert bot.http is None and not serving.done()
        taken.close()
        for _ in range(300):
            if bot.http is not None:
                break
            await asyncio.sleep(0.02)
        assert bot.http is not None and bot.http.port == port
        async with ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
        stop.set()
        await serving
