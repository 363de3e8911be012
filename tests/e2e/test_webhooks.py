"""Signed webhooks from `Rapport.run` to a receiver on 127.0.0.1: signatures, retries after 500s, the
event id a receiver dedupes on, and deliveries that survive a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bot.access import Role
from bot.app import Rapport
from bot.config import Settings
from tests.fakes import discord_server as dc
from tests.fakes.api import ApiClient
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.running import serving
from tests.fakes.webhook_receiver import WebhookReceiver

SECRET = "a-webhook-secret-of-some-length"
COMPLAINT = "My order never arrived and nobody answers, this is unacceptable"
ANN = dc.user(1100000000000000201, "ann", global_name="Ann")
EVENTS = ["escalation.opened", "escalation.claimed", "escalation.resolved", "message.received", "customer.tier_changed"]


def settings_for(tmp_path: Path, fake: FakeDiscord, receiver: WebhookReceiver | None, **hook_keys: Any) -> Settings:
    data: dict[str, Any] = {
        "database": {"url": f"sqlite:///{tmp_path / 'rapport.db'}"},
        "nlp": {"backend": "rules"},
        "server": {"host": "127.0.0.1", "port": 0},
        "outbox": {"poll_interval": 0.05},
        "discord": {"token": fake.token, "api_url": fake.api_url, "gateway_url": fake.gateway_url},
    }
    if receiver is not None:
        hook = {"name": "crm", "url": receiver.url, "secret": SECRET, "events": EVENTS}
        data["webhooks"] = [hook | {"backoff_initial": 0.05, "backoff_max": 0.2} | hook_keys]
    return Settings.model_validate(data)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Rapport]:
    async with Rapport(settings) as bot, serving(bot, "discord"):
        yield bot


async def escalated(bot: Rapport, count: int = 1) -> None:
    for _ in range(500):
        if len(await bot.repo.escalations.query()) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no escalation")


async def test_a_receiver_that_fails_twice_gets_the_event_a_third_time_signed_with_one_event_id(
    tmp_path: Path,
) -> None:
    async with FakeDiscord() as fake, WebhookReceiver(SECRET, fail_first=2) as receiver:
        async with running(settings_for(tmp_path, fake, receiver)) as bot:
            await fake.message_create(COMPLAINT, author=ANN)
            [opened] = await receiver.wait_accepted("escalation.opened")

            tries = [r for r in receiver.received if r.event["type"] == "escalation.opened"]
            assert len(tries) == 3  # 500, 500, then 200
            assert all(r.signature_ok for r in tries)
            assert len({r.headers["X-Rapport-Event-Id"] for r in tries}) == 1  # a retry is the same event
            assert all(abs(int(r.headers["X-Rapport-Timestamp"]) - time.time()) < 60 for r in tries)
            event = opened.event
            assert event["id"] == opened.headers["X-Rapport-Event-Id"]
            assert event["data"]["escalation"]["status"] == "open" and event["data"]["actor"] == "bot"
            assert opened.headers["X-Rapport-Event"] == "escalation.opened"

            [message] = await receiver.wait_accepted("message.received")
            assert message.event["data"]["message"]["text"] == COMPLAINT

            api_token = (await bot.access.create_token("ops", Role.ADMIN, actor="test"))[1]
            assert bot.http is not None
            async with ApiClient(f"http://127.0.0.1:{bot.http.port}") as api:
                assert (await api.post("/api/v1/escalations/1/claim", api_token)).status == 200
                [claimed] = await receiver.wait_accepted("escalation.claimed")
                assert claimed.event["data"]["actor"] == "token:ops"
                listed = await api.get("/api/v1/webhooks/deliveries", api_token)
                opened_row = next(d for d in listed.body["items"] if d["event_type"] == "escalation.opened")
                assert opened_row["status"] == "delivered" and opened_row["attempts"] == 3
                assert opened_row["last_status"] == 200 and opened_row["webhook"] == "crm"
                scraped = (await api.get("/metrics")).text
            failures = {
                tuple(s.labels.items()): s.value
                for family in text_string_to_metric_families(scraped)
                for s in family.samples
                if s.name == "rapport_webhook_failures_total"
            }
            assert failures[(("webhook", "crm"),)] >= 2  # two for this event; the others failed twice too
            await asyncio.sleep(0.5)
            assert receiver.tries[claimed.headers["X-Rapport-Event-Id"]] == 3  # nothing more once accepted


async def test_an_undelivered_event_is_sent_after_a_restart(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        async with WebhookReceiver(SECRET, fail_first=10**6, failure=503) as down:
            async with running(settings_for(tmp_path, fake, down)) as bot:
                await fake.message_create(COMPLAINT, author=ANN)
                await escalated(bot)
                for _ in range(200):
                    if any(r.event["type"] == "escalation.opened" for r in down.received):
                        break
                    await asyncio.sleep(0.02)
            assert not down.accepted
            # The receiver comes back at a new address; the configuration follows it, the name stays.
            async with WebhookReceiver(SECRET) as up, running(settings_for(tmp_path, fake, up)):
                [opened] = await up.wait_accepted("escalation.opened")
            assert opened.headers["X-Rapport-Event-Id"] == down.received[0].headers["X-Rapport-Event-Id"]


async def test_events_from_before_webhooks_were_configured_are_relayed_within_the_window(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        async with running(settings_for(tmp_path, fake, None)) as bot:  # no webhooks yet
            await fake.message_create(COMPLAINT, author=ANN)
            await escalated(bot)
        async with WebhookReceiver(SECRET) as receiver, running(settings_for(tmp_path, fake, receiver)):
            [opened] = await receiver.wait_accepted("escalation.opened")
            assert opened.signature_ok


async def test_a_receiver_down_past_the_retry_window_is_given_up_and_listed_as_failed(tmp_path: Path) -> None:
    async with FakeDiscord() as fake, WebhookReceiver(SECRET, fail_first=10**6) as down:
        async with running(settings_for(tmp_path, fake, down, retry_hours=0.0003)) as bot:  # about a second
            await fake.message_create(COMPLAINT, author=ANN)
            await escalated(bot)
            assert bot.webhooks is not None
            for _ in range(300):
                if (await bot.webhooks.store.by_status()).get("failed", 0) >= 2:
                    break
                await asyncio.sleep(0.05)
            statuses = await bot.webhooks.store.by_status()
            assert statuses.get("failed") == 2 and "pending" not in statuses  # opened and message.received
            tries = len(down.received)
            await asyncio.sleep(0.5)
            assert len(down.received) == tries  # nothing more after giving up
