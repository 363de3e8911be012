"""One customer's whole conversation on Discord, Slack and X: the real clients against the fake servers,
the whole bot in process (the shipped model, SQLite), the outbox and the worker running as in `rapport run`."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from bot.app import Rapport, load_classifier
from bot.config import Settings
from bot.domain import ConversationState, Escalation, Priority, ReplyStatus
from bot.server import HttpServer
from connectors.discord import DiscordConnector
from connectors.slack import SlackConnector
from connectors.x import XConnector
from nlp.types import Classifier
from tests.fakes import discord_server as dc
from tests.fakes import x_server as xs
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import BOT_TOKEN, SIGNING_SECRET, FakeSlack, SlackSender, message_event
from tests.fakes.x_server import FakeX

pytestmark = pytest.mark.model

SHIPPING = (  # the bundled article's first paragraph (bot/data/knowledge/shipping-time.md)
    "Orders ship within 1 business day; standard delivery takes 3-5 business days at home (express 1-2) and "
    "5-10 business days abroad."
)
SHIPPING_ES = (  # bot/data/knowledge/shipping-time-es.md
    "Los pedidos salen en 1 día laborable; la entrega estándar tarda de 3 a 5 días laborables en casa (urgente 1-2) "
    "y de 5 a 10 días laborables al extranjero."
)
SLACK_CHANNEL = "C_CUST"
SLACK_CUSTOMER = "U_DANA"


class Customer(Protocol):
    """A customer on one platform: what they post, and what the bot posted back to them."""

    async def say(self, text: str) -> None: ...

    def posts(self) -> list[str]: ...


@dataclass
class DiscordCustomer:
    fake: FakeDiscord

    async def say(self, text: str) -> None:
        await self.fake.message_create(text, author=dc.CUSTOMER)

    def posts(self) -> list[str]:
        return [p["content"] for p in self.fake.posted]


@dataclass
class XCustomer:
    fake: FakeX

    async def say(self, text: str) -> None:
        self.fake.mention("@acme " + text)

    def posts(self) -> list[str]:
        return [p["text"] for p in self.fake.posts]


@dataclass
class SlackCustomer:
    fake: FakeSlack
    sender: SlackSender
    ts: itertools.count[int]

    async def say(self, text: str) -> None:
        # Top-level messages, each its own thread: quick ones still make one conversation.
        ts = f"1700000{next(self.ts)}.000100"
        assert await self.sender.event(message_event(SLACK_CHANNEL, SLACK_CUSTOMER, text, ts)) == 200

    def posts(self) -> list[str]:
        return [c["text"] for c in self.fake.calls_to("chat.postMessage") if c["channel"] == SLACK_CHANNEL]


@dataclass
class World:
    bot: Rapport
    customer: Customer
    said: int = 0

    async def say(self, text: str) -> list[str]:
        """Post as the customer, wait until the bot has processed it and sent what it queued; the new posts."""
        before = len(self.customer.posts())
        await self.customer.say(text)
        self.said += 1
        await self.settle()
        return self.customer.posts()[before:]

    async def settle(self) -> None:
        for _ in range(600):
            messages = await self.bot.repo.messages.query(limit=100)
            pending = [r for r in await self.bot.repo.replies.query() if r.status is not ReplyStatus.SENT]
            if len(messages) >= self.said and all(m.action for m in messages) and not pending:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"not settled: {len(messages)} of {self.said} messages, {len(pending)} replies pending")

    async def case(self) -> Escalation:
        [esc] = [e for e in await self.bot.repo.escalations.query() if e.status.active]
        return esc


def settings(tmp_path: Path, **sections: Any) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'rapport.db'}"},
            "nlp": {"backend": "rules"},
            "server": {"host": "127.0.0.1", "port": 0},
            "outbox": {"poll_interval": 0.05, "backoff_initial": 0.05},
            **sections,
        }
    )


@pytest.fixture(scope="module")
def model() -> Classifier:
    """The shipped model, loaded once: its encoder is what the knowledge base answers with."""
    return load_classifier(Settings.model_validate({"nlp": {"backend": "auto"}}))


@pytest.fixture(params=["discord", "slack", "x"])
async def world(request: pytest.FixtureRequest, tmp_path: Path, model: Classifier) -> AsyncIterator[World]:
    platform: str = request.param
    stop = asyncio.Event()
    async with FakeDiscord() as discord, FakeX() as x:
        slack = FakeSlack(
            users={SLACK_CUSTOMER: {"name": "dana.k", "display_name": "Dana", "real_name": "Dana K"}}, members={}
        )
        await slack.start()
        s = settings(
            tmp_path,
            discord={"token": discord.token, "api_url": discord.api_url, "gateway_url": discord.gateway_url},
            x={
                "bearer_token": x.credentials.bearer_token,
                "consumer_key": x.credentials.consumer_key,
                "consumer_secret": x.credentials.consumer_secret,
                "access_token": x.credentials.access_token,
                "access_token_secret": x.credentials.access_token_secret,
                "user_id": xs.ACCOUNT_ID,
                "poll_interval": 0.05,
                "daily_post_budget": 500,
                "api_url": x.base_url,
            },
            slack={
                "bot_token": BOT_TOKEN,
                "signing_secret": SIGNING_SECRET,
                "api_url": slack.api_url,
                "customer_channels": [SLACK_CHANNEL],
            },
        )
        async with Rapport(s, classifier=model) as bot:
            customer: Customer
            if platform == "discord":
                connector: Any = DiscordConnector(s.discord, bot.state_for("discord"))
                customer = DiscordCustomer(discord)
            elif platform == "x":
                connector = XConnector(s.x, bot.state_for("x"))
                customer = XCustomer(x)
            else:
                connector = SlackConnector(s, bot.desk, bot.events, bot.state_for("slack"))
            await bot.attach(connector)
            server = HttpServer(bot.web_app([connector]), "127.0.0.1", 0)  # Rapport's one HTTP server
            await server.start()
            if platform == "slack":
                sender = SlackSender(f"http://127.0.0.1:{server.port}/slack/events")
                customer = SlackCustomer(slack, sender, itertools.count(100))
            tasks = [asyncio.create_task(bot.outbox.run(stop)), asyncio.create_task(bot.worker.run(stop))]
            try:
                yield World(bot, customer)
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                await server.stop()
                await bot.detach(connector)
        await slack.stop()


async def test_a_whole_conversation_on_each_platform(world: World) -> None:
    """Question answered; order complaint escalated and asked for the number; number captured; quiet while
    open; hand-off on request with priority raised; a long staff reply split; silent after it; answering
    again once resolved; a Spanish question answered in Spanish."""
    assert await world.say("How long does shipping take?") == [SHIPPING]

    [ack] = await world.say("My order still hasn't arrived and it's been 3 weeks. This is really frustrating.")
    esc = await world.case()
    assert ack.startswith("Sorry to hear that, Dana.") and ack.endswith("Could you share your order number?")
    assert esc.conversation is ConversationState.WAITING_FOR_DETAILS

    [thanks] = await world.say("The order number is #55120, placed on 2 November")
    assert thanks == f"Thanks, Dana. I've added that to your case #{esc.id}; a person will reply here."
    esc = await world.case()
    assert esc.details == {"order_number": "55120"} and esc.conversation is ConversationState.WITH_PERSON

    assert await world.say("So when will it arrive? Can you check the tracking?") == []  # quiet, not silent

    [handed] = await world.say("Can I talk to a human please?")
    assert handed == f"Of course, Dana. I've asked a person to take over your case #{esc.id}; they'll reply here."
    assert (await world.case()).priority is Priority.HIGH

    before = len(world.customer.posts())
    long_reply = " ".join(f"Step {i}: we checked the courier's scan for your parcel." for i in range(90))
    await world.bot.desk.reply(esc.id, "staff:kim", long_reply)
    await world.settle()
    parts = world.customer.posts()[before:]
    assert len(parts) > 1 and all(p.endswith(f"/{len(parts)})") for p in parts)
    assert " ".join(p.rsplit(" (", 1)[0] for p in parts) == long_reply  # split, never cut

    assert await world.say("ok thanks, I'll wait for the courier") == []  # a person holds the conversation
    await world.bot.desk.resolve(esc.id, "staff:kim")
    assert await world.say("How long does shipping take?") == [SHIPPING]  # the bot answers again

    # A question in Spanish is answered in Spanish, from the Spanish articles.
    assert await world.say("Hola, ¿cuánto tarda en llegar mi pedido a Madrid?") == [SHIPPING_ES]
