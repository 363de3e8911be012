"""A complaint with a card number in it, through `Rapport.run` with the real slack-bolt app against the
fake Slack: staff see it masked on the card, the API shows it masked (an admin may ask for the original,
audited), a webhook receiver gets it masked, no log line at INFO holds it, and the database keeps it.
Then forgetting the customer through the API: admin only, refused while the case is open."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.access import Role
from bot.app import Rapport
from bot.config import Settings
from bot.privacy import mask_logs
from tests.fakes.api import ApiClient
from tests.fakes.running import api_tokens, serving
from tests.fakes.slack_server import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, FakeSlack, SlackSender, message_event
from tests.fakes.webhook_receiver import WebhookReceiver

CUSTOMERS, TRIAGE, STAFF, CUSTOMER = "C_CUST", "C_TRIAGE", "U_STAFF", "U_ANN"
SECRET = "a-webhook-secret-of-some-length"
CARD, LAST4 = "4111 1111 1111 1111", "1111"
COMPLAINT = f"You charged my card {CARD} twice and my order never arrived, this is unacceptable"
MASKED = "•••• •••• •••• 1111"


@dataclass
class Running:
    bot: Rapport
    slack: FakeSlack
    sender: SlackSender
    receiver: WebhookReceiver
    api: ApiClient
    tokens: dict[Role, str]


def settings_for(tmp_path: Path, fake: FakeSlack, receiver: WebhookReceiver) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'rapport.db'}"},
            "nlp": {"backend": "rules"},
            "server": {"host": "127.0.0.1", "port": 0},
            "outbox": {"poll_interval": 0.05},
            "slack": {
                "mode": "http",
                "bot_token": BOT_TOKEN,
                "signing_secret": SIGNING_SECRET,
                "api_url": fake.api_url,
                "customer_channels": [CUSTOMERS],
                "triage_channel": TRIAGE,
            },
            "webhooks": [
                {
                    "name": "crm",
                    "url": receiver.url,
                    "secret": SECRET,
                    "events": ["escalation.opened", "message.received"],
                    "backoff_initial": 0.05,
                    "backoff_max": 0.2,
                }
            ],
        }
    )


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    fake = FakeSlack(users={CUSTOMER: {"name": "ann", "display_name": "Ann"}}, members={TRIAGE: [STAFF, BOT_USER_ID]})
    await fake.start()
    try:
        async with WebhookReceiver(SECRET) as receiver, Rapport(settings_for(tmp_path, fake, receiver)) as bot:
            tokens = await api_tokens(bot)
            async with serving(bot, "slack") as base, ApiClient(base) as api:
                yield Running(bot, fake, SlackSender(f"{base}/slack/events"), receiver, api, tokens)
    finally:
        await fake.stop()


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """A log handler as `rapport run` sets one up, with the masking filter it installs, and what it wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    mask_logs(root)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


async def test_a_card_number_is_masked_on_the_card_in_the_api_and_webhooks_and_never_logged(
    running: Running, caplog: pytest.LogCaptureFixture, written: io.StringIO
) -> None:
    caplog.set_level(logging.DEBUG)
    r = running
    assert await r.sender.event(message_event(CUSTOMERS, CUSTOMER, COMPLAINT, "1700000100.000100"), "Ev1") == 200

    # The triage card.
    card_ts = await r.slack.wait_for_card(TRIAGE)
    card = json.dumps(r.slack.messages[(TRIAGE, card_ts)], ensure_ascii=False)
    assert MASKED in card and CARD not in card and "charged my card" in card

    # The webhook receiver.
    [received] = await r.receiver.wait_accepted("message.received")
    assert received.signature_ok
    text = received.event["data"]["message"]["text"]
    assert MASKED in text and CARD not in text and "4111111111111111" not in received.body.decode()

    # The API: masked for everyone by default.
    [esc] = await r.bot.repo.escalations.query()
    shown = await r.api.get(f"/api/v1/escalations/{esc.id}", r.tokens[Role.VIEWER])
    assert shown.status == 200
    assert MASKED in shown.body["messages"][0]["text"] and CARD not in shown.text

    # The original: only for an admin, and on the record.
    denied = await r.api.get(f"/api/v1/escalations/{esc.id}?original=true", r.tokens[Role.AGENT])
    assert denied.status == 403 and denied.body["error"] == "forbidden"
    original = await r.api.get(f"/api/v1/escalations/{esc.id}?original=true", r.tokens[Role.ADMIN])
    assert original.status == 200 and original.body["messages"][0]["text"] == COMPLAINT
    [seen] = await r.bot.repo.audit.events(escalation_id=esc.id, kind="privacy.original_shown")
    assert seen.actor == "token:admin-bot"

    # The database keeps the original.
    stored = await r.bot.repo.messages.get(esc.opening_message_id)
    assert stored is not None and stored.message.text == COMPLAINT

    # No log line at INFO or above holds the message's words (masked or not), and none at all the number.
    loud = [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.INFO]
    assert not [line for line in loud if "charged my card" in line or LAST4 * 4 in line.replace(" ", "")]
    # At DEBUG, libraries (aiosqlite) log statement parameters: the filter keeps the number out of those.
    assert "charged my card" in written.getvalue()
    assert CARD not in written.getvalue() and MASKED in written.getvalue()


async def test_forgetting_through_the_api_is_admin_only_and_refused_while_the_case_is_open(running: Running) -> None:
    r = running
    assert await r.sender.event(message_event(CUSTOMERS, CUSTOMER, COMPLAINT, "1700000100.000100"), "Ev1") == 200
    await r.slack.wait_for_card(TRIAGE)
    [esc] = await r.bot.repo.escalations.query()
    path = f"/api/v1/customers/{esc.customer_id}"

    assert (await r.api.call("DELETE", path, r.tokens[Role.AGENT])).status == 403
    assert (await r.api.call("DELETE", path)).status == 401
    refused = await r.api.call("DELETE", path, r.tokens[Role.ADMIN])
    assert refused.status == 409 and refused.body["error"] == "conflict"
    assert f"#{esc.id}" in refused.body["message"]

    forced = await r.api.call("DELETE", path + "?force=true", r.tokens[Role.ADMIN])
    assert forced.status == 200, forced.text
    assert forced.body["customer_id"] == esc.customer_id and forced.body["forced"] is True
    assert forced.body["rows"]["messages"] == 1 and forced.body["rows"]["customers"] == 1
    assert (await r.api.get(path, r.tokens[Role.VIEWER])).status == 404
    assert (await r.api.call("DELETE", path, r.tokens[Role.ADMIN])).status == 404
