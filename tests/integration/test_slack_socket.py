"""Socket Mode: the real bolt AsyncSocketModeHandler connects to the fake Slack's websocket (the URL its
apps.connections.open returns) and gets events, clicks and commands as envelopes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Rapport
from bot.config import Settings
from bot.errors import ConfigError
from connectors.slack import SlackConnector
from connectors.slack.cards import CLAIM
from nlp.rules import RuleClassifier
from tests.fakes.slack_server import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    FakeSlack,
    block_actions,
    event_callback,
    message_event,
    slash_command,
)

CUSTOMERS, TRIAGE, STAFF, CUSTOMER, STRANGER = "C_CUST", "C_TRIAGE", "U_STAFF", "U_ANN", "U_EVE"
COMPLAINT = "The app keeps crashing, this is unacceptable"


def socket_settings(tmp_path: Path, fake: FakeSlack) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'rapport.db'}"},
            "nlp": {"backend": "rules"},
            "outbox": {"poll_interval": 0.05},
            "slack": {
                "mode": "socket",
                "bot_token": BOT_TOKEN,
                "app_token": APP_TOKEN,
                "api_url": fake.api_url.rstrip("/"),
                "customer_channels": [CUSTOMERS],
                "triage_channel": TRIAGE,
            },
        }
    )


@pytest.fixture
async def socket_bot(tmp_path: Path) -> AsyncIterator[tuple[FakeSlack, Rapport]]:
    fake = FakeSlack(members={TRIAGE: [STAFF, BOT_USER_ID]})
    await fake.start()
    settings = socket_settings(tmp_path, fake)
    async with Rapport(settings, classifier=RuleClassifier()) as bot:
        connector = SlackConnector(settings, bot.desk, bot.events, bot.state_for("slack"))
        await bot.attach(connector)
        assert connector.http is None
        stop = asyncio.Event()
        outbox = asyncio.create_task(bot.outbox.run(stop))
        worker = asyncio.create_task(bot.worker.run(stop))  # connectors only store; the worker processes
        try:
            yield fake, bot
        finally:
            stop.set()
            await outbox
            await worker
    await fake.stop()


async def test_socket_mode_connects_with_the_app_token_to_the_url_slack_hands_out(
    socket_bot: tuple[FakeSlack, Rapport],
) -> None:
    fake, _ = socket_bot
    await fake.wait_socket()
    [opened] = [c for c in fake.calls if c.method == "apps.connections.open"]
    assert opened.token == APP_TOKEN


async def test_socket_mode_event_makes_a_card_and_a_redelivery_doubles_nothing(
    socket_bot: tuple[FakeSlack, Rapport],
) -> None:
    fake, bot = socket_bot
    envelope = event_callback(message_event(CUSTOMERS, CUSTOMER, COMPLAINT, "1700000100.000100"), "EvS1")
    ack = await fake.send_envelope("events_api", envelope)
    assert "envelope_id" in ack
    # Acknowledged only after the core stored the message.
    assert len(await bot.repo.messages.query(limit=5)) == 1
    await fake.wait_for("chat.postMessage", channel=TRIAGE)
    await fake.send_envelope("events_api", envelope, retry_attempt=1)
    await fake.wait_for("chat.postMessage", channel=CUSTOMERS)
    await asyncio.sleep(0.2)
    assert len([c for c in fake.calls_to("chat.postMessage") if c["channel"] == TRIAGE]) == 1
    assert len([c for c in fake.calls_to("chat.postMessage") if c["channel"] == CUSTOMERS]) == 1


async def test_socket_mode_claim_and_slash_command(socket_bot: tuple[FakeSlack, Rapport]) -> None:
    fake, _ = socket_bot
    complaint = message_event(CUSTOMERS, CUSTOMER, COMPLAINT, "1700000100.000100")
    await fake.send_envelope("events_api", event_callback(complaint))
    ts = await fake.wait_for_card(TRIAGE)
    await fake.send_envelope("interactive", block_actions(STAFF, TRIAGE, ts, CLAIM, value="1"))
    [update] = await fake.wait_for("chat.update", ts=ts)
    assert f"Claimed by <@{STAFF}>" in json.dumps(update["blocks"])
    ack = await fake.send_envelope("slash_commands", slash_command(STAFF, "queue"))
    assert "1 open escalations" in ack["payload"]["text"]
    ack = await fake.send_envelope("interactive", block_actions(STRANGER, TRIAGE, ts, CLAIM, value="1"))
    await fake.wait_for("chat.postEphemeral", user=STRANGER)


def test_socket_mode_without_an_app_token_is_a_config_error(tmp_path: Path) -> None:
    settings = Settings.model_validate({"slack": {"mode": "socket", "bot_token": BOT_TOKEN}})
    with pytest.raises(ConfigError, match="app_token"):
        SlackConnector(settings, None, None, None)  # type: ignore[arg-type]


def test_http_mode_without_a_signing_secret_is_a_config_error() -> None:
    settings = Settings.model_validate({"slack": {"bot_token": BOT_TOKEN}})
    with pytest.raises(ConfigError, match="signing_secret"):
        SlackConnector(settings, None, None, None)  # type: ignore[arg-type]
