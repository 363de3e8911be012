"""The real slack-bolt app in HTTP mode, with the core on SQLite, against the fake Slack on 127.0.0.1.

Requests are signed and posted to the app's own /slack/events, as Slack's servers would.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.app import Rapport
from bot.config import Settings
from bot.domain import InboundMessage, OutboundReply, utcnow
from bot.errors import AuthFailed, DeliveryFailed, InputError, RateLimited
from bot.events import BudgetSpent
from bot.relationships.events import ChurnRisk, LeadAttention, TopicSummary
from bot.relationships.models import Topic
from bot.server import HttpServer
from bot.sla_watch import SlaWatch
from connectors.base import Sink
from connectors.slack import SlackConnector
from connectors.slack.cards import CLAIM, RECLASSIFY, RESOLVE, SNOOZE
from connectors.x.budget import Budget
from connectors.x.usage import Meter
from nlp.rules import RuleClassifier
from tests.fakes.running import slack_settings
from tests.fakes.slack_server import (
    BOT_USER_ID,
    FakeSlack,
    SlackSender,
    block_actions,
    message_event,
    slash_command,
)

CUSTOMERS = "C_CUST"
TRIAGE = "C_TRIAGE"
SALES = "C_SALES"
STAFF = "U_STAFF"  # member of the triage channel
LEAD = "U_LEAD"  # configured staff id, not in the channel
CUSTOMER = "U_ANN"
STRANGER = "U_EVE"
X_BUDGET = Budget(reads=10_000, posts=500, cost_per_read=0.005, cost_per_post=0.01)
MID_DECEMBER = datetime(2026, 12, 16, tzinfo=UTC)  # half the month gone: the projection doubles what was used
COMPLAINT = "My order never arrived and nobody answers, this is unacceptable"


class RecordingConnector:
    """A stand-in Discord connector: what the outbox would deliver there."""

    name = "discord"

    def __init__(self) -> None:
        self.sent: list[OutboundReply] = []

    async def start(self, sink: Sink) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, reply: OutboundReply) -> str:
        self.sent.append(reply)
        return f"d{len(self.sent)}"


@dataclass
class Desk:
    fake: FakeSlack
    bot: Rapport
    connector: SlackConnector
    slack: SlackSender
    discord: RecordingConnector
    x_usage: Meter

    def cards(self) -> list[dict[str, Any]]:
        return [c for c in self.fake.calls_to("chat.postMessage") if c["channel"] == TRIAGE and "blocks" in c]

    async def card(self) -> tuple[str, dict[str, Any]]:
        """Wait for the (only) triage card; returns its ts and current message."""
        await self.fake.wait_for("chat.postMessage", channel=TRIAGE)
        ts = next(ts for (ch, ts), m in self.fake.messages.items() if ch == TRIAGE and m.get("blocks"))
        # The desk records which message is the card just after posting it (in the background, since
        # events are relayed after the commit): wait for that too, as Slack's buttons need it.
        for _ in range(200):
            refs = [await self.connector.triage.card_ref(e.id) for e in await self.bot.repo.escalations.query()]
            if (TRIAGE, ts) in refs:
                break
            await asyncio.sleep(0.02)
        return ts, self.fake.messages[(TRIAGE, ts)]

    async def complaint(self, ts: str = "1700000100.000100", text: str = COMPLAINT) -> int:
        return await self.slack.event(message_event(CUSTOMERS, CUSTOMER, text, ts))


def settings_for(tmp_path: Path, fake: FakeSlack, **slack: Any) -> Settings:
    return slack_settings(
        tmp_path, fake, CUSTOMERS, TRIAGE, slack={"sales_channel": SALES, "staff_user_ids": [LEAD]} | slack
    )


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    fake = FakeSlack(
        users={CUSTOMER: {"name": "ann", "display_name": "Ann", "real_name": "Ann Brown"}},
        members={TRIAGE: [STAFF, BOT_USER_ID]},
    )
    await fake.start()
    settings = settings_for(tmp_path, fake)
    stop = asyncio.Event()
    async with Rapport(settings, classifier=RuleClassifier()) as bot:
        # X's meter on the real state store, as the composition root passes it when [x] is configured.
        x_usage = Meter(bot.state_for("x"), X_BUDGET, clock=lambda: MID_DECEMBER)
        connector = SlackConnector(settings, bot.desk, bot.events, bot.state_for("slack"), [x_usage])
        discord = RecordingConnector()
        bot.connected["discord"] = discord
        await bot.attach(connector)
        outbox = asyncio.create_task(bot.outbox.run(stop))
        worker = asyncio.create_task(bot.worker.run(stop))  # connectors only store; the worker processes
        server = HttpServer(bot.web_app([connector]), "127.0.0.1", 0)  # Rapport's one HTTP server
        await server.start()
        sender = SlackSender(f"http://127.0.0.1:{server.port}/slack/events")
        try:
            yield Desk(fake, bot, connector, sender, discord, x_usage)
        finally:
            stop.set()
            await server.stop()
            await outbox
            await worker
    await fake.stop()


# -- customer message -> card and acknowledgement ---------------------------------------------------


async def test_complaint_in_customer_channel_posts_a_card_and_acknowledges_in_the_customers_thread(desk: Desk) -> None:
    assert await desk.complaint() == 200
    ts, card = await desk.card()
    dump = json.dumps(card["blocks"])
    for needle in (
        "Ann",
        "Complaint",
        "never arrived",
        "First response due",
        "Claim",
        "Reclassify",
        "https://fake.slack.com/archives/C_CUST/p1700000100000100",
    ):
        assert needle in dump, needle
    [ack] = await desk.fake.wait_for("chat.postMessage", channel=CUSTOMERS)
    assert ack["thread_ts"] == "1700000100.000100" and "ref #" in ack["text"]
    assert await desk.connector.triage.card_ref(1) == (TRIAGE, ts)


async def test_claim_updates_the_card_in_place_with_the_claimer(desk: Desk) -> None:
    await desk.complaint()
    ts, _ = await desk.card()
    status, _ = await desk.slack.interaction(block_actions(STAFF, TRIAGE, ts, CLAIM, value="1"))
    assert status == 200
    [update] = await desk.fake.wait_for("chat.update", ts=ts)
    assert f"Claimed by <@{STAFF}>" in json.dumps(update["blocks"])
    assert CLAIM not in json.dumps(update["blocks"])
    assert len(desk.cards()) == 1
    esc = await desk.bot.repo.escalations.get(1)
    assert esc is not None and esc.assignee == f"slack:{STAFF}"


async def test_resolve_snooze_and_reclassify_from_the_card(desk: Desk) -> None:
    await desk.complaint()
    ts, _ = await desk.card()
    await desk.slack.interaction(block_actions(LEAD, TRIAGE, ts, RECLASSIFY, selected="1:cancellation"))
    await desk.slack.interaction(block_actions(LEAD, TRIAGE, ts, SNOOZE, value="1"))
    await desk.slack.interaction(block_actions(LEAD, TRIAGE, ts, RESOLVE, value="1"))
    await desk.fake.wait_for("chat.update", count=3, ts=ts)
    final = json.dumps(desk.fake.messages[(TRIAGE, ts)]["blocks"])
    assert "Resolved by" in final and "Cancellation" in final and '"actions"' not in final
    esc = await desk.bot.repo.escalations.get(1)
    assert esc is not None and esc.intent == "cancellation" and esc.status.value == "resolved"


async def test_staff_thread_reply_reaches_the_customer_and_is_recorded(desk: Desk) -> None:
    await desk.complaint()
    ts, _ = await desk.card()
    await desk.slack.event(
        message_event(TRIAGE, STAFF, "So sorry Ann, a new one ships today.", "1700000200.000100", thread_ts=ts)
    )
    sent = await desk.fake.wait_for("chat.postMessage", count=2, channel=CUSTOMERS)
    assert sent[-1]["text"] == "So sorry Ann, a new one ships today."
    assert sent[-1]["thread_ts"] == "1700000100.000100"
    replies = [r for r in await desk.bot.repo.replies.query(escalation_id=1) if r.kind == "staff"]
    assert len(replies) == 1 and replies[0].escalation_id == 1


async def test_note_prefixed_thread_message_stays_internal(desk: Desk) -> None:
    await desk.complaint()
    ts, _ = await desk.card()
    await desk.fake.wait_for("chat.postMessage", channel=CUSTOMERS)
    await desk.slack.event(message_event(TRIAGE, STAFF, "note: VIP, handle gently", "1700000201.000100", thread_ts=ts))
    await desk.fake.wait_for("chat.update", ts=ts)
    esc = await desk.bot.repo.escalations.get(1)
    assert esc is not None and [n.text for n in esc.notes] == ["VIP, handle gently"]
    await asyncio.sleep(0.2)
    assert len(desk.fake.calls_to("chat.postMessage")) == 2  # card + ack, nothing more to the customer


async def test_staff_reply_to_a_discord_customer_goes_out_through_discord(desk: Desk) -> None:
    await desk.bot.process(
        InboundMessage(
            channel="discord",
            external_id="d-1",
            author_id="42",
            text=COMPLAINT,
            conversation_id="chan-9",
            author_name="Dee",
        )
    )
    ts, card = await desk.card()
    assert "discord" in json.dumps(card["blocks"])
    await desk.slack.event(message_event(TRIAGE, STAFF, "Refund issued.", "1700000300.000100", thread_ts=ts))
    for _ in range(100):
        if any(r.text == "Refund issued." for r in desk.discord.sent):
            break
        await asyncio.sleep(0.05)
    staff = [r for r in desk.discord.sent if r.kind == "staff"]
    assert [(r.text, r.conversation_id, r.recipient_id) for r in staff] == [("Refund issued.", "chan-9", "42")]


# -- retries, signatures, strangers ----------------------------------------------------------------


async def test_a_retried_delivery_doubles_nothing(desk: Desk) -> None:
    event = message_event(CUSTOMERS, CUSTOMER, COMPLAINT, "1700000400.000100")
    results = await asyncio.gather(desk.slack.event(event, "EvSAME"), desk.slack.event(event, "EvSAME", retry=1))
    assert results == [200, 200]
    assert await desk.slack.event(event, "EvSAME", retry=2) == 200
    await desk.fake.wait_for("chat.postMessage", channel=CUSTOMERS)
    await asyncio.sleep(0.3)
    assert len(desk.cards()) == 1
    assert len(desk.fake.calls_to("chat.postMessage")) == 2  # one card, one acknowledgement


async def test_a_retried_staff_reply_reaches_the_customer_once(desk: Desk) -> None:
    await desk.complaint()
    ts, _ = await desk.card()
    reply = message_event(TRIAGE, STAFF, "On it.", "1700000500.000100", thread_ts=ts)
    await desk.slack.event(reply, "EvR")
    await desk.slack.event(reply, "EvR2", retry=1)  # even under a new event id, the message ts is the key
    await desk.fake.wait_for("chat.postMessage", count=2, channel=CUSTOMERS)
    await asyncio.sleep(0.3)
    assert [c["text"] for c in desk.fake.calls_to("chat.postMessage") if c["channel"] == CUSTOMERS][1:] == ["On it."]


@pytest.mark.parametrize("case", ["bad signature", "stale timestamp", "no signature", "no headers", "bad timestamp"])
async def test_unsigned_or_stale_requests_get_401_and_nothing_happens(desk: Desk, case: str) -> None:
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "EvX",
            "event": message_event(CUSTOMERS, CUSTOMER, COMPLAINT, "1700000600.000100"),
        }
    )
    if case == "bad signature":
        status, _ = await desk.slack.post(body, secret="not-the-secret")
    elif case == "stale timestamp":
        status, _ = await desk.slack.post(body, timestamp=1_600_000_000)
    elif case == "no signature":
        status, _ = await desk.slack.post(body, headers={"X-Slack-Signature": ""})
    elif case == "bad timestamp":
        status, _ = await desk.slack.post(body, headers={"X-Slack-Request-Timestamp": "soon"})
    else:
        async with ClientSession() as session, session.post(desk.slack.url, data=body) as resp:
            status = resp.status
    assert status == 401
    await asyncio.sleep(0.2)
    assert [c.method for c in desk.fake.calls if c.method != "auth.test"] == []
    assert await desk.bot.repo.messages.query(limit=5) == []


async def test_a_click_by_a_non_staff_user_is_refused_and_audited(desk: Desk) -> None:
    await desk.complaint()
    ts, _ = await desk.card()
    status, _ = await desk.slack.interaction(block_actions(STRANGER, TRIAGE, ts, CLAIM, value="1"))
    assert status == 200
    [refusal] = await desk.fake.wait_for("chat.postEphemeral", user=STRANGER)
    assert "Only support staff" in refusal["text"]
    assert desk.fake.calls_to("chat.update") == []
    [audit] = await desk.bot.repo.audit.events(kind="slack.refused")
    assert audit.actor == f"slack:{STRANGER}" and audit.detail["action"] == CLAIM
    esc = await desk.bot.repo.escalations.get(1)
    assert esc is not None and esc.assignee == ""


async def test_a_thread_reply_by_a_non_staff_user_never_reaches_the_customer(tmp_path: Path) -> None:
    # A shared triage channel can hold guests; only staff ids count when membership says otherwise.
    fake = FakeSlack(members={TRIAGE: [STAFF]})
    await fake.start()
    settings = settings_for(tmp_path, fake)
    async with Rapport(settings, classifier=RuleClassifier()) as bot:
        connector = SlackConnector(settings, bot.desk, bot.events, bot.state_for("slack"))
        await bot.attach(connector)
        stop = asyncio.Event()
        worker = asyncio.create_task(bot.worker.run(stop))
        server = HttpServer(bot.web_app([connector]), "127.0.0.1", 0)
        await server.start()
        sender = SlackSender(f"http://127.0.0.1:{server.port}/slack/events")
        await sender.event(message_event(CUSTOMERS, CUSTOMER, COMPLAINT, "1700000100.000100"))
        card_ts = await fake.wait_for_card(TRIAGE)
        await sender.event(message_event(TRIAGE, STRANGER, "hi from a guest", "1700000700.000100", thread_ts=card_ts))
        await fake.wait_for("chat.postEphemeral", user=STRANGER)
        assert [r for r in await bot.repo.replies.query(escalation_id=1) if r.kind == "staff"] == []
        [refused] = await bot.repo.audit.events(kind="slack.refused")
        assert refused.actor == f"slack:{STRANGER}"
        stop.set()
        await server.stop()
        await worker
    await fake.stop()


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"type": "event_callback", "event": "nope"}', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),
        ("\xff\xfe garbage", "text/plain"),
        ("", "application/json"),
        ('{"event": ' * 50_000 + "1" + "}" * 50_000, "application/json"),  # nesting past the recursion limit
        ("payload=" + "%5B" * 50_000, "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_bodies_are_acknowledged_and_ignored(desk: Desk, body: str, content_type: str) -> None:
    status, _ = await desk.slack.post(body, content_type)
    assert status == 200
    assert await desk.bot.repo.messages.query(limit=5) == []


async def test_unknown_action_ids_and_deleted_escalations_get_a_clear_answer_not_a_crash(desk: Desk) -> None:
    await desk.complaint()
    ts, _ = await desk.card()
    status, _ = await desk.slack.interaction(block_actions(STAFF, TRIAGE, ts, "something.else", value="1"))
    assert status == 200
    status, _ = await desk.slack.interaction(block_actions(STAFF, TRIAGE, ts, "rapport.unknown", value="1"))
    assert status == 200
    status, _ = await desk.slack.interaction(block_actions(STAFF, TRIAGE, ts, CLAIM, value="999"))
    assert status == 200
    status, _ = await desk.slack.interaction(block_actions(STAFF, TRIAGE, ts, CLAIM))
    assert status == 200
    notes = [c["text"] for c in await desk.fake.wait_for("chat.postEphemeral", count=3, user=STAFF)]
    assert any("not one Rapport knows" in n for n in notes)
    assert any("#999 does not exist" in n for n in notes)
    status, _ = await desk.slack.interaction({"type": "view_submission", "user": {"id": STAFF}, "view": {}})
    assert status == 200


async def test_events_for_channels_we_do_not_watch_are_acknowledged_and_ignored(desk: Desk) -> None:
    assert await desk.slack.event(message_event("C_RANDOM", CUSTOMER, COMPLAINT, "1700000800.000100")) == 200
    assert await desk.slack.event({"type": "reaction_added", "user": CUSTOMER, "reaction": "+1"}) == 200
    assert await desk.bot.repo.messages.query(limit=5) == []


async def test_a_40000_character_message_makes_a_valid_card(desk: Desk) -> None:
    assert await desk.complaint(text="This is broken. " + "x" * 40_000) == 200
    _, card = await desk.card()
    for block in card["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000


async def test_url_verification_challenge_is_answered(desk: Desk) -> None:
    status, text = await desk.slack.post(json.dumps({"type": "url_verification", "challenge": "abc", "token": "t"}))
    assert status == 200 and "abc" in text


# -- slash command, App Home, sales, SLA --------------------------------------------------------------


async def test_slash_command_customer_queue_and_link(desk: Desk) -> None:
    await desk.complaint()
    await desk.card()
    status, answer = await desk.slack.command(slash_command(STAFF, "customer ann"))
    assert status == 200 and answer["response_type"] == "ephemeral"
    assert "Ann" in json.dumps(answer["blocks"]) and "never arrived" in json.dumps(answer["blocks"])
    _, answer = await desk.slack.command(slash_command(STAFF, "queue"))
    assert "1 open escalations" in answer["text"] and "#1" in json.dumps(answer["blocks"])
    _, answer = await desk.slack.command(slash_command(STAFF, "link discord:4242 1"))
    assert "Linked discord:4242 to customer #1" in answer["text"]
    customer = await desk.bot.repo.customers.get(1)
    assert customer is not None and ("discord", "4242") in [
        (i.channel, i.platform_user_id) for i in customer.identities
    ]
    _, answer = await desk.slack.command(slash_command(STAFF, "customer nobody-like-this"))
    assert "No customer matches" in answer["text"]
    _, answer = await desk.slack.command(slash_command(STAFF, "dance"))
    assert "Usage" in answer["text"]
    _, answer = await desk.slack.command(slash_command(STAFF, "link 4242 1"))
    assert "Nothing done: the account is channel:user id" in answer["text"]
    _, answer = await desk.slack.command(slash_command(STAFF, "link myspace:4242 1"))
    assert "Nothing done: unknown channel" in answer["text"]
    _, answer = await desk.slack.command(slash_command(STAFF, "link discord:77 nobody-like-this"))
    assert "Nothing done: no customer matches" in answer["text"]
    _, answer = await desk.slack.command(slash_command(STAFF, ""))
    assert "Usage" in answer["text"]
    _, answer = await desk.slack.command(slash_command(STRANGER, "queue"))
    assert "for support staff" in answer["text"]


async def test_app_home_shows_queue_sentiment_and_oldest_unclaimed(desk: Desk) -> None:
    await desk.complaint()
    await desk.card()
    assert await desk.slack.event({"type": "app_home_opened", "user": STAFF, "channel": "D1", "tab": "home"}) == 200
    [published] = await desk.fake.wait_for("views.publish", user_id=STAFF)
    dump = json.dumps(published["view"])
    assert "Oldest unclaimed" in dump and "negative" in dump and "Open escalations: 1" in dump


async def test_app_home_shows_x_reads_and_posts_this_month_with_projection_and_cost(desk: Desk) -> None:
    assert await desk.x_usage.count_reads([str(n) for n in range(1, 1201)]) == 1200
    await desk.x_usage.count_post()
    assert await desk.slack.event({"type": "app_home_opened", "user": STAFF, "channel": "D1", "tab": "home"}) == 200
    [published] = await desk.fake.wait_for("views.publish", user_id=STAFF)
    [x_section] = [
        b["text"]["text"] for b in published["view"]["blocks"] if "X this month" in b.get("text", {}).get("text", "")
    ]
    title, reads, posts = x_section.splitlines()
    assert title == "*X this month (2026-12, UTC)*"
    assert reads.startswith("reads 1,200 of 10,000, $6.00; month-end projection 2,")
    assert posts.startswith("posts 1 of 500, $0.01; month-end projection 2")


async def test_sales_alert_goes_to_the_sales_channel(desk: Desk) -> None:
    await desk.complaint(text="How much is the enterprise plan? We want to buy 50 seats")
    [alert] = await desk.fake.wait_for("chat.postMessage", channel=SALES)
    assert "Sales lead" in alert["text"] and "enterprise plan" in alert["text"]


async def test_sla_reminder_in_the_thread_then_breach_marked_on_the_card(desk: Desk) -> None:
    await desk.complaint()
    ts, _ = await desk.card()
    bot = desk.bot
    settings = bot.settings.sla.model_copy(update={"remind_before_minutes": 600})
    watch = SlaWatch(settings, bot.desk, bot.repo, bot.events, bot.state_for("sla"))  # the core's watch
    assert await watch.check() == 1
    [reminder] = await desk.fake.wait_for("chat.postMessage", thread_ts=ts, channel=TRIAGE)
    assert "SLA reminder" in reminder["text"] and "first response" in reminder["text"]
    assert await watch.check() == 0  # once only
    await desk.bot.repo.escalations.update(1, created_at=utcnow() - timedelta(days=1))
    assert await watch.check() == 1
    assert "SLA breached" in desk.fake.calls_to("chat.postMessage")[-1]["text"]
    assert "breached" in json.dumps(desk.fake.messages[(TRIAGE, ts)]["blocks"])


# -- send(): errors are ours, not slack_sdk's ----------------------------------------------------------


def reply(**over: Any) -> OutboundReply:
    base: dict[str, Any] = {
        "id": 1,
        "connector": "slack",
        "channel": "slack",
        "recipient_id": CUSTOMER,
        "conversation_id": "1700000100.000100",
        "text": "hello",
        "status": "queued",
        "attempts": 0,
        "created_at": utcnow(),
        "in_reply_to": f"{CUSTOMERS}:1700000100.000100",
    }
    return OutboundReply(**(base | over))


async def test_send_threads_in_channels_and_answers_dms_inline(desk: Desk) -> None:
    ts = await desk.connector.send(reply())
    assert ts and desk.fake.calls_to("chat.postMessage")[-1]["thread_ts"] == "1700000100.000100"
    await desk.connector.send(
        reply(in_reply_to="D9:1700000900.000100", conversation_id="1700000900.000100", direct=True)
    )
    last = desk.fake.calls_to("chat.postMessage")[-1]
    assert last["channel"] == "D9" and "thread_ts" not in last


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}, RateLimited),
        (200, {"ok": False, "error": "invalid_auth"}, {}, AuthFailed),
        (200, {"ok": False, "error": "channel_not_found"}, {}, DeliveryFailed),
        (500, {"ok": False, "error": "internal_error"}, {}, DeliveryFailed),
    ],
)
async def test_send_maps_slack_errors_to_ours(
    desk: Desk, status: int, body: dict[str, Any], headers: dict[str, str], error: type[Exception]
) -> None:
    desk.fake.fail_next("chat.postMessage", status, body, headers)
    with pytest.raises(error) as caught:
        await desk.connector.send(reply())
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 7
    if body["error"] == "channel_not_found":
        assert isinstance(caught.value, DeliveryFailed) and not caught.value.retryable


async def test_customer_writing_again_in_the_thread_shows_up_under_the_card(desk: Desk) -> None:
    await desk.complaint()
    ts, _ = await desk.card()
    await desk.slack.event(
        message_event(
            CUSTOMERS, CUSTOMER, "Still nothing, this is ridiculous", "1700000150.000100", thread_ts="1700000100.000100"
        )
    )
    [again] = await desk.fake.wait_for("chat.postMessage", channel=TRIAGE, thread_ts=ts)
    assert "wrote again" in again["text"] and "Still nothing" in again["text"]
    assert len(desk.cards()) == 1


async def test_dm_to_the_bot_is_ingested_and_answered_in_the_dm(desk: Desk) -> None:
    await desk.slack.event(message_event("D_ANN", CUSTOMER, COMPLAINT, "1700000160.000100", channel_type="im"))
    await desk.card()
    [ack] = await desk.fake.wait_for("chat.postMessage", channel="D_ANN")
    assert "thread_ts" not in ack
    [stored] = await desk.bot.repo.messages.query(limit=5)
    assert stored.message.direct and stored.message.external_id == "D_ANN:1700000160.000100"


async def test_the_bots_own_messages_are_never_ingested(desk: Desk) -> None:
    await desk.slack.event(message_event(CUSTOMERS, BOT_USER_ID, COMPLAINT, "1700000170.000100"))
    own = message_event(CUSTOMERS, "U_OTHERBOT", COMPLAINT, "1700000171.000100") | {"bot_id": "B_OTHER"}
    await desk.slack.event(own)
    assert await desk.bot.repo.messages.query(limit=5) == []


async def test_a_real_database_lock_fails_the_delivery_and_slacks_retry_is_processed_once(
    desk: Desk, tmp_path: Path
) -> None:
    """Another connection holds SQLite's write lock past the busy timeout: Slack gets a 503 (nothing was
    stored, so nothing is acknowledged); once the lock is gone, Slack's retry is stored and processed."""
    # Taken from a thread: the running bot takes short write locks all the time (the outbox polls), and a
    # BEGIN that waited for one on the event loop's thread would stop the loop that has to finish it.
    lock = sqlite3.connect(tmp_path / "rapport.db", isolation_level=None, timeout=30, check_same_thread=False)
    await asyncio.to_thread(lock.execute, "BEGIN EXCLUSIVE")
    event = message_event(CUSTOMERS, CUSTOMER, COMPLAINT, "1700000180.000100")
    try:
        assert await desk.slack.event(event, "EvLOCKED") == 503
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert await desk.slack.event(event, "EvLOCKED", retry=1) == 200
    assert await desk.slack.event(event, "EvLOCKED", retry=2) == 200
    await desk.card()
    assert len(await desk.bot.repo.messages.query(limit=5)) == 1
    [escalation] = await desk.bot.repo.escalations.query()
    assert len(await desk.bot.repo.replies.query(escalation_id=escalation.id)) == 1


async def test_five_concurrent_complaints_in_one_thread_open_one_escalation_with_one_acknowledgement(
    desk: Desk,
) -> None:
    """One case, its acknowledgement, and one acknowledgement of the follow-ups: never one per message."""
    root = "1700000200.000100"
    assert await desk.complaint(root) == 200
    events = [
        message_event(CUSTOMERS, CUSTOMER, f"{COMPLAINT} ({i})", f"1700000201.00010{i}", thread_ts=root)
        for i in range(5)
    ]
    statuses = await asyncio.gather(*(desk.slack.event(e, f"EvCONC{i}") for i, e in enumerate(events)))
    assert statuses == [200] * 5
    for _ in range(200):
        if all(m.action for m in await desk.bot.repo.messages.query(limit=10)):
            break
        await asyncio.sleep(0.05)
    escalations = await desk.bot.repo.escalations.query()
    assert len(escalations) == 1
    replies = [r.text for r in await desk.bot.repo.replies.query(escalation_id=escalations[0].id)]
    assert [t.split(".")[0] for t in replies] == ["Sorry to hear that, Ann", "Thanks, Ann"]
    assert len(desk.cards()) == 1


async def test_two_staff_claiming_at_once_give_one_claimer_and_a_clear_answer_to_the_other(desk: Desk) -> None:
    await desk.complaint()
    await desk.card()
    results = await asyncio.gather(
        desk.bot.desk.claim(1, "U_ONE"), desk.bot.desk.claim(1, "U_TWO"), return_exceptions=True
    )
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], InputError) and f"already claimed by {won[0].assignee}" in str(lost[0])
    claims = [e for e in await desk.bot.repo.audit.events(escalation_id=1) if e.kind == "escalation.claimed"]
    assert len(claims) == 1


async def test_staff_posting_in_a_customer_channel_are_not_taken_for_customers(desk: Desk) -> None:
    await desk.slack.event(message_event(CUSTOMERS, STAFF, "This is broken for everyone, we are on it", "1700000190.1"))
    await desk.slack.event(message_event(CUSTOMERS, LEAD, "Outage update: still failing", "1700000191.1"))
    assert await desk.bot.repo.messages.query(limit=5) == []


async def test_replies_are_escaped_for_slack(desk: Desk) -> None:
    await desk.connector.send(reply(text="Use <b> & see <!channel>"))
    assert desk.fake.calls_to("chat.postMessage")[-1]["text"] == "Use &lt;b&gt; &amp; see &lt;!channel&gt;"


async def test_a_followup_to_a_slack_user_who_never_wrote_opens_a_dm(desk: Desk) -> None:
    await desk.connector.send(reply(in_reply_to="", conversation_id="", direct=True, kind="followup"))
    [opened] = desk.fake.calls_to("conversations.open")
    assert opened["users"] == CUSTOMER
    last = desk.fake.calls_to("chat.postMessage")[-1]
    assert last["channel"].startswith("D") and "thread_ts" not in last
    with pytest.raises(DeliveryFailed):
        await desk.connector.send(reply(in_reply_to="", conversation_id="", direct=False))


async def test_relationship_events_are_posted_to_the_triage_channel(desk: Desk) -> None:
    await desk.complaint()
    await desk.card()
    await desk.bot.events.publish(ChurnRisk(1, "loyal", "three complaints in a week"))  # type: ignore[arg-type]
    await desk.bot.events.publish(LeadAttention(1, "gold", "net value below tolerance"))  # type: ignore[arg-type]
    topic = Topic(id=1, label="late delivery", count=9, recent=6, previous=3, channels=("slack", "x"))
    await desk.bot.events.publish(TopicSummary("2026-W47", (topic,)))  # type: ignore[arg-type]
    texts = [c["text"] for c in desk.fake.calls_to("chat.postMessage") if c["channel"] == TRIAGE and "blocks" not in c]
    assert any("Churn risk" in t and "Ann" in t and "three complaints" in t for t in texts)
    assert any("Lead tier" in t and "gold" in t for t in texts)
    assert any("late delivery" in t and "rising" in t for t in texts)


async def test_a_spent_x_budget_is_posted_to_the_triage_channel(desk: Desk) -> None:
    resumes = datetime(2026, 12, 1, tzinfo=UTC)
    await desk.bot.events.publish(BudgetSpent("x", "reads", 9_996, 10_000, resumes))
    [text] = [c["text"] for c in desk.fake.calls_to("chat.postMessage") if c["channel"] == TRIAGE]
    assert text == (
        ":money_with_wings: *X read budget spent:* 9,996 of 10,000 this month. Rapport has stopped reading X: "
        "new mentions and DMs are not seen until 2026-12-01 00:00 UTC. Raise `monthly_read_budget` in `[x]` to "
        "go on sooner."
    )


async def test_a_card_slack_failed_to_take_is_posted_by_the_event_relay(desk: Desk) -> None:
    """The escalation's event is a row: the relay delivers it again after Slack refused the card."""
    # The card's post fails, not the acknowledgement's (which of the two goes first is not fixed).
    desk.fake.fail_next("chat.postMessage", 500, {"ok": False, "error": "internal_error"}, channel=TRIAGE)
    await desk.complaint()
    await desk.fake.wait_for("chat.postMessage", channel=CUSTOMERS)  # the acknowledgement went out

    def posted_cards() -> list[dict[str, Any]]:
        return [m for (channel, _), m in desk.fake.messages.items() if channel == TRIAGE and m.get("blocks")]

    assert posted_cards() == []
    # The live delivery may still be under way (the acknowledgement can go out first): the relay leaves an
    # event alone while this process delivers it, and takes it up once that delivery has failed.
    for _ in range(500):
        if relayed := await desk.bot.events.relay():
            break
        await asyncio.sleep(0.02)
    assert relayed == 1
    await desk.card()
    assert await desk.bot.events.relay() == 0  # delivered once; nothing left to relay
    assert len(posted_cards()) == 1


async def test_an_sla_reminder_slack_refused_is_posted_by_the_event_relay_once(desk: Desk) -> None:
    """The reminder is a durable event: a thread post Slack refused goes out on the relay, and only once."""
    await desk.complaint()
    ts, _ = await desk.card()
    bot = desk.bot
    settings = bot.settings.sla.model_copy(update={"remind_before_minutes": 600})
    watch = SlaWatch(settings, bot.desk, bot.repo, bot.events, bot.state_for("sla"))
    desk.fake.fail_next("chat.postMessage", 500, {"ok": False, "error": "internal_error"})
    assert await watch.check() == 1

    def reminders() -> list[dict[str, Any]]:
        return [c for c in desk.fake.calls_to("chat.postMessage") if c.get("thread_ts") == ts and "SLA" in c["text"]]

    refused = len(reminders())  # the refused attempt is recorded by the fake too
    assert await watch.check() == 0  # announced once, whatever Slack said
    assert await bot.events.relay() == 1
    assert await bot.events.relay() == 0
    assert len(reminders()) == refused + 1 and "SLA reminder" in reminders()[-1]["text"]
