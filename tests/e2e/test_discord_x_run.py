"""`rapport run` with [discord] and [x] pointed at the fake Discord and fake X: ingest, classify, escalate, reply."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.domain import Escalation
from bot.storage import Database, Repository
from tests.fakes import discord_server as dc
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.x_server import FakeX

COMPLAINT = "My order never arrived and this is unacceptable"
PRAISE = "thank you, great service!"
ANN = dc.user(1100000000000000201, "ann", global_name="Ann")
BEN = dc.user(1100000000000000202, "ben", global_name="Ben")
CAT = dc.user(1100000000000000203, "cat", global_name="Cat")
DEE = dc.user(1100000000000000204, "dee", global_name="Dee")
X_ANN = {"id": "1500000000000000201", "username": "ann_x", "name": "Ann X"}
X_BEN = {"id": "1500000000000000202", "username": "ben_x", "name": "Ben X"}


@dataclass
class Bot:
    """One `rapport run` process."""

    proc: asyncio.subprocess.Process
    log: Path

    async def stop(self) -> None:
        """SIGTERM, as an operator would; it must exit cleanly. Its log shows up when a test fails."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        print(self.log.read_text()[-4000:])  # pytest shows captured output only for a failing test
        assert self.proc.returncode == 0, self.log.read_text()[-3000:]


@dataclass
class World:
    discord: FakeDiscord
    x: FakeX
    config: Path
    env: dict[str, str]
    database_url: str
    tmp_path: Path
    runs: int = 0

    async def start_bot(self) -> Bot:
        self.runs += 1
        log = self.tmp_path / f"run-{self.runs}.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--config",
                str(self.config),
                env=self.env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=out,
            )
        return Bot(proc, log)

    async def escalations(self) -> list[Escalation]:
        db = Database(self.database_url)
        try:
            return await Repository(db).escalations.query()
        finally:
            await db.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with FakeDiscord() as discord, FakeX() as x:
        database_url = f"sqlite:///{tmp_path / 'rapport.db'}"
        config = tmp_path / "rapport.toml"
        config.write_text(f"""
[database]
url = "{database_url}"

[nlp]
backend = "rules"

[outbox]
poll_interval = 0.1
backoff_initial = 0.2

[server]
host = "127.0.0.1"
port = 0

[discord]
guild_ids = [{dc.GUILD_ID}]
channel_ids = [{dc.CHANNEL_ID}]
api_url = "{discord.api_url}"
gateway_url = "{discord.gateway_url}"

[x]
user_id = "{x.account_id}"
poll_interval = 0.2
daily_post_budget = 50
read_dms = true
api_url = "{x.base_url}"
""")
        c = x.credentials
        # Secrets come from the environment, as they would in production.
        env = os.environ | {
            "DISCORD_TOKEN": discord.token,
            "X_BEARER_TOKEN": c.bearer_token,
            "X_CONSUMER_KEY": c.consumer_key,
            "X_CONSUMER_SECRET": c.consumer_secret,
            "X_ACCESS_TOKEN": c.access_token,
            "X_ACCESS_TOKEN_SECRET": c.access_token_secret,
        }
        env.pop("RAPPORT_CONFIG", None)
        yield World(discord, x, config, env, database_url, tmp_path)


async def test_rapport_run_answers_discord_end_to_end(world: World) -> None:
    discord = world.discord
    bot = await world.start_bot()
    try:
        await discord.wait_for_sessions(1, within=60)

        # A complaint -> an escalation and an acknowledgement that replies to the customer's message.
        complaint = await discord.message_create(COMPLAINT, author=ANN)
        [ack] = await discord.wait_for_posts(1, within=60)  # the first reply waits for the connector's start
        assert ack["channel_id"] == dc.CHANNEL_ID
        assert str(ack["message_reference"]["message_id"]) == complaint["id"]
        assert "Ann" in ack["content"]

        # The same MESSAGE_CREATE again (a gateway replay) -> no second reply.
        await discord.dispatch("MESSAGE_CREATE", complaint)

        # Praise -> thanks, as a reply too.
        praise = await discord.message_create(PRAISE, author=BEN)
        posts = await discord.wait_for_posts(2, within=30)
        assert str(posts[1]["message_reference"]["message_id"]) == praise["id"]
        assert posts[1]["content"].startswith("Thank you, Ben")

        # A 429 from REST -> the reply still goes, once, after the delay.
        discord.fail_next_post(429, retry_after=0.5)
        rate_limited = await discord.message_create("the app crashes every time I log in", author=CAT)
        posts = await discord.wait_for_posts(3, within=30)
        assert str(posts[2]["message_reference"]["message_id"]) == rate_limited["id"]

        # A DM -> answered by DM; the first try fails (503), stays in the outbox and is sent on a retry.
        discord.fail_next_post(503)
        dm = await discord.message_create("I was charged twice for my order", author=DEE, dm=True)
        posts = await discord.wait_for_posts(4, within=30)
        assert posts[3]["channel_id"] == int(dm["channel_id"]) == discord.dm_channels[int(DEE["id"])]

        await asyncio.sleep(1.0)
        assert len(discord.posted) == 4  # nothing doubled
    finally:
        await bot.stop()

    escalations = await world.escalations()
    by_conversation = {(e.channel, e.conversation_id) for e in escalations}
    assert ("discord", str(dc.CHANNEL_ID)) in by_conversation
    assert ("discord", dm["channel_id"]) in by_conversation


async def test_rapport_run_answers_x_end_to_end_across_a_restart(world: World) -> None:
    x = world.x
    bot = await world.start_bot()
    try:
        await x.wait_for_reads(1, within=60)

        # A complaint mention -> an escalation and a reply with in_reply_to_tweet_id.
        complaint = x.mention("@acme " + COMPLAINT, author=X_ANN)
        [reply] = await x.wait_for_posts(1, within=60)
        assert reply["kind"] == "tweet" and reply["in_reply_to_tweet_id"] == complaint["id"]
        assert "Ann" in reply["text"]

        # A 429 on the mentions read -> nothing read again before X's reset.
        reset = int(time.time()) + 2
        x.fail_next("mentions", 429, headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})
        refused = len(x.reads()) + 1
        await x.wait_for_reads(refused, within=10)
        praise = x.mention("@acme " + PRAISE, author=X_BEN)
        posts = await x.wait_for_posts(2, within=30)
        assert posts[1]["in_reply_to_tweet_id"] == praise["id"] and posts[1]["text"].startswith("Thank you")
        assert min(r["at"] for r in x.reads()[refused:]) >= reset
    finally:
        await bot.stop()

    # While the bot is down a customer writes; after the restart only that one is answered.
    late = x.mention("@acme still waiting, my parcel is missing", author=X_BEN)
    bot = await world.start_bot()
    try:
        posts = await x.wait_for_posts(3, within=60)
        assert posts[2]["in_reply_to_tweet_id"] == late["id"]
        await asyncio.sleep(1.0)
        assert len(x.posts) == 3  # the earlier mentions were not answered again
    finally:
        await bot.stop()

    escalations = await world.escalations()
    assert ("x", complaint["conversation_id"]) in {(e.channel, e.conversation_id) for e in escalations}


async def test_staff_reply_written_in_slack_reaches_the_discord_customer_by_reference(
    world: World, tmp_path: Path
) -> None:
    from tests.e2e.test_slack_run import free_port, wait_listening
    from tests.fakes.slack_server import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, FakeSlack, SlackSender, message_event

    triage, staff = "C_TRIAGE", "U_STAFF"
    slack = FakeSlack(members={triage: [staff, BOT_USER_ID]})
    await slack.start()
    port = free_port()
    # [discord] and [slack] only: drop [x], and give the Slack events endpoint a port.
    discord_only = world.config.read_text().split("[x]")[0].replace("port = 0", f"port = {port}")
    world.config.write_text(
        discord_only
        + f"""
[slack]
mode = "http"
api_url = "{slack.api_url}"
triage_channel = "{triage}"
"""
    )
    for var in ("X_BEARER_TOKEN", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"):
        world.env.pop(var)
    world.env |= {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    discord = world.discord
    bot = await world.start_bot()
    try:
        await wait_listening(f"http://127.0.0.1:{port}/slack/events", bot.proc)
        await discord.wait_for_sessions(1, within=60)

        complaint = await discord.message_create(COMPLAINT, author=ANN)
        await discord.wait_for_posts(1, within=60)  # the acknowledgement
        card_ts = await slack.wait_for_card(triage)

        # Staff answer in the card's thread -> the customer gets it on Discord, replying to their message.
        said = message_event(triage, staff, "A replacement ships today.", "1700000200.000100", thread_ts=card_ts)
        assert await SlackSender(f"http://127.0.0.1:{port}/slack/events").event(said, "Ev9") == 200
        posts = await discord.wait_for_posts(2, within=30)
        assert posts[1]["content"] == "A replacement ships today."
        assert posts[1]["channel_id"] == dc.CHANNEL_ID
        assert str(posts[1]["message_reference"]["message_id"]) == complaint["id"]
    finally:
        await bot.stop()
        await slack.stop()
