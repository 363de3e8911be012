"""`/metrics` scraped from `Rapport.run`'s real server and read with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Rapport
from bot.metrics import Metrics
from tests.fakes.api import ApiClient
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.running import ANN, BEN, COMPLAINT, discord_settings, serving

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Running:
    def __init__(self, bot: Rapport, discord: FakeDiscord, api: ApiClient, db: Path) -> None:
        self.bot, self.discord, self.api, self.db = bot, discord, api, db

    async def scrape(self) -> Samples:
        answer = await self.api.get("/metrics")
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text)
            for s in family.samples
        }

    async def processed(self, count: int) -> None:
        for _ in range(500):
            if (
                len([m for m in await self.bot.repo.messages.query(limit=100) if m.action not in ("", "processing")])
                >= count
            ):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{count} messages were not processed")


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with FakeDiscord() as fake, Rapport(discord_settings(tmp_path, fake)) as bot:
        async with serving(bot, "discord") as base, ApiClient(base) as api:
            yield Running(bot, fake, api, tmp_path / "rapport.db")


async def test_metrics_count_ingestion_classification_cases_and_the_outbox(running: Running) -> None:
    await running.discord.message_create(COMPLAINT, author=ANN)
    await running.discord.message_create(COMPLAINT, author=BEN)
    await running.processed(2)
    await running.discord.wait_for_posts(2)  # both acknowledgements
    for _ in range(100):
        samples = await running.scrape()
        if samples.get(("rapport_outbox_sent_total", ())) == 2:
            break
        await asyncio.sleep(0.05)
    assert samples[("rapport_messages_ingested_total", (("channel", "discord"),))] == 2
    assert samples[("rapport_messages_classified_total", ())] == 2
    assert samples[("rapport_classification_seconds_count", ())] >= 1
    assert samples[("rapport_classification_seconds_bucket", (("le", "+Inf"),))] >= 1
    assert samples[("rapport_processing_queue_depth", ())] == 0
    assert samples[("rapport_open_escalations", (("priority", "normal"), ("status", "open")))] == 2
    assert samples[("rapport_outbox_backlog", (("status", "queued"),))] == 0
    assert samples[("rapport_outbox_sent_total", ())] == 2
    assert samples[("rapport_outbox_failed_total", ())] == 0
    assert samples[("rapport_connector_up", (("connector", "discord"),))] == 1
    assert not [k for k in samples if k[0] == "rapport_sla_breached_escalations"]
    assert all(name.startswith("rapport_") for name, _labels in samples)


async def test_a_case_past_its_targets_counts_as_breached_and_a_claim_moves_it(running: Running) -> None:
    await running.discord.message_create(COMPLAINT, author=ANN)
    await running.processed(1)
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(running.db) as conn:  # the case was opened two days ago, and never answered
        conn.execute("update escalations set created_at = ?", (two_days_ago,))
    await running.bot.desk.claim(1, "slack:U1")
    samples = await running.scrape()
    assert samples[("rapport_sla_breached_escalations", (("priority", "normal"), ("target", "first_response")))] == 1
    assert samples[("rapport_sla_breached_escalations", (("priority", "normal"), ("target", "resolution")))] == 1
    assert samples[("rapport_open_escalations", (("priority", "normal"), ("status", "claimed")))] == 1
    assert ("rapport_open_escalations", (("priority", "normal"), ("status", "open"))) not in samples


async def test_a_reply_the_platform_refuses_counts_as_an_outbox_failure(running: Running) -> None:
    running.discord.fail_next_post(403, code=50013)  # missing permissions: retrying would fail the same way
    await running.discord.message_create(COMPLAINT, author=ANN)
    await running.processed(1)
    for _ in range(200):
        samples = await running.scrape()
        if samples[("rapport_outbox_failed_total", ())] == 1:
            break
        await asyncio.sleep(0.05)
    assert samples[("rapport_outbox_failed_total", ())] == 1


async def test_a_stopped_connector_reads_as_down(running: Running) -> None:
    await running.bot.detach(running.bot.connected["discord"])
    samples = await running.scrape()
    assert samples[("rapport_connector_up", (("connector", "discord"),))] == 0


def test_each_app_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()  # the global registry would refuse the second set of names
    one.ingested.labels(channel="x").inc()
    assert one.registry.get_sample_value("rapport_messages_ingested_total", {"channel": "x"}) == 1
    assert two.registry.get_sample_value("rapport_messages_ingested_total", {"channel": "x"}) is None
