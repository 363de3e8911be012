"""`Rapport.run` in a test: the real connectors and HTTP server in a task around a block, against the fake
Discord, with the desk helpers the end-to-end tests share (a complaint that opens a case, API tokens)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.access import Role
from bot.app import Rapport
from bot.config import Settings
from bot.domain import Escalation
from tests.fakes import discord_server as dc
from tests.fakes.api import ApiClient
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import BOT_TOKEN, SIGNING_SECRET, FakeSlack

COMPLAINT = "My order never arrived and nobody answers, this is unacceptable"
ANN = dc.user(1100000000000000201, "ann", global_name="Ann")
BEN = dc.user(1100000000000000202, "ben", global_name="Ben")
CAT = dc.user(1100000000000000203, "cat", global_name="Cat")


def discord_settings(tmp_path: Path, fake: FakeDiscord, **sections: Any) -> Settings:
    """A bot on a SQLite file in `tmp_path`, with the rules classifier, the real Discord connector against
    `fake` and the HTTP server on a free port; `sections` add or replace top-level config tables."""
    data: dict[str, Any] = {
        "database": {"url": f"sqlite:///{tmp_path / 'rapport.db'}"},
        "nlp": {"backend": "rules"},
        "server": {"host": "127.0.0.1", "port": 0},
        "outbox": {"poll_interval": 0.05, "backoff_initial": 0.05},
        "discord": {"token": fake.token, "api_url": fake.api_url, "gateway_url": fake.gateway_url},
    }
    return Settings.model_validate(data | sections)


@asynccontextmanager
async def serving(bot: Rapport, connector: str) -> AsyncIterator[str]:
    """Run `bot` (`Rapport.run` with its configured connectors) for the block; yields the HTTP server's base
    URL once `connector` is connected, and stops the bot after."""
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(bot.build_connectors(), stop))
    try:
        for _ in range(500):
            if (bot.http is not None and connector in bot.connected) or task.done():
                break
            await asyncio.sleep(0.02)
        assert bot.http is not None, "the HTTP server did not start"
        assert connector in bot.connected, f"{connector} did not connect"
        yield f"http://127.0.0.1:{bot.http.port}"
    finally:
        stop.set()
        await task


async def api_tokens(bot: Rapport) -> dict[Role, str]:
    """An API token of each role, named "<role>-bot" (audited as token:<role>-bot)."""
    return {r: (await bot.access.create_token(f"{r.value}-bot", r, actor="test"))[1] for r in Role}


async def complaint(
    bot: Rapport, discord: FakeDiscord, author: dict[str, Any] = ANN, text: str = COMPLAINT, **kw: Any
) -> Escalation:
    """A customer complains on Discord; the escalation it opened, once processed."""
    before = {e.id for e in await bot.repo.escalations.query()}
    await discord.message_create(text, author=author, **kw)
    for _ in range(400):
        new = [e for e in await bot.repo.escalations.query() if e.id not in before]
        if new:
            return new[0]
        await asyncio.sleep(0.02)
    raise AssertionError("the complaint opened no escalation")


async def posted(discord: FakeDiscord, text: str, within: float = 15.0) -> dict[str, Any]:
    """The Discord message the bot posted with exactly this content."""
    async with asyncio.timeout(within):
        while True:
            found = [p for p in discord.posted if p.get("content") == text]
            if found:
                return found[0]
            await asyncio.sleep(0.02)


@dataclass
class Desk:
    """A running bot on the fake Discord, an API client on its server, and a token of each role."""

    bot: Rapport
    discord: FakeDiscord
    api: ApiClient
    tokens: dict[Role, str]

    @property
    def viewer(self) -> str:
        return self.tokens[Role.VIEWER]

    @property
    def agent(self) -> str:
        return self.tokens[Role.AGENT]

    @property
    def admin(self) -> str:
        return self.tokens[Role.ADMIN]

    async def complaint(self, author: dict[str, Any] = ANN, text: str = COMPLAINT, *, dm: bool = False) -> Escalation:
        return await complaint(self.bot, self.discord, author, text, dm=dm)

    async def posted_text(self, text: str, within: float = 15.0) -> dict[str, Any]:
        return await posted(self.discord, text, within)


@asynccontextmanager
async def desk(settings: Settings, fake: FakeDiscord) -> AsyncIterator[Desk]:
    """A `Desk` on a bot built from `settings` (see `discord_settings`), running for the block."""
    async with Rapport(settings) as bot:
        tokens = await api_tokens(bot)
        async with serving(bot, "discord") as base, ApiClient(base) as api:
            yield Desk(bot, fake, api, tokens)


def slack_settings(
    tmp_path: Path,
    fake: FakeSlack,
    customers: str,
    triage: str,
    *,
    slack: dict[str, Any] | None = None,
    **sections: Any,
) -> Settings:
    """As `discord_settings`, with the Slack connector against `fake`: `customers` is the customer channel,
    `triage` the staff's; `slack` adds [slack] keys, `sections` top-level tables."""
    data: dict[str, Any] = {
        "database": {"url": f"sqlite:///{tmp_path / 'rapport.db'}"},
        "nlp": {"backend": "rules"},
        "server": {"host": "127.0.0.1", "port": 0},
        "outbox": {"poll_interval": 0.05, "backoff_initial": 0.05},
        "slack": {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_url": fake.api_url,
            "customer_channels": [customers],
            "triage_channel": triage,
        }
        | (slack or {}),
    }
    return Settings.model_validate(data | sections)
