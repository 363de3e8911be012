"""Staff tools on the Slack desk: the real slack-bolt app in HTTP mode, the core on SQLite, the fake Slack
on 127.0.0.1. Suggested replies on the card with a Send button, macros from a card's thread and the slash
command, and `/rapport shift on` feeding automatic assignment."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import Rapport
from bot.config import Settings
from bot.server import HttpServer
from connectors.slack import SlackConnector
from connectors.slack.cards import SUGGEST
from nlp.rules import RuleClassifier
from tests.fakes.running import slack_settings
from tests.fakes.slack_server import (
    FakeSlack,
    SlackSender,
    block_actions,
    message_event,
    slash_command,
)

CUSTOMERS = "C_CUST"
TRIAGE = "C_TRIAGE"
STAFF = "U_STAFF"
CUSTOMER = "U_ANN"
RETURN = "I want to return this broken blender and get my money back, your return policy is a joke"
REFUND = "Hi {name}, I've refunded your order (case #{ticket}); it shows on your statement in 3-5 days."


@dataclass
class Desk:
    fake: FakeSlack
    bot: Rapport
    connector: SlackConnector
    slack: SlackSender

    async def card(self, escalation_id: int = 1) -> tuple[str, dict[str, Any]]:
        """Wait until the escalation's card is posted and recorded; its ts and current message."""
        for _ in range(300):
            ref = await self.connector.triage.card_ref(escalation_id)
            if ref is not None and ref in self.fake.messages:
                return ref[1], self.fake.messages[ref]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no card for escalation #{escalation_id}")

    async def audits(self, kind: str, count: int, escalation_id: int = 1) -> list[Any]:
        """The escalation's audit entries of a kind, once there are `count` (the outbox may deliver a reply
        before the desk has written its audit entry)."""
        for _ in range(300):
            found = [e for e in await self.bot.repo.audit.events(escalation_id=escalation_id) if e.kind == kind]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"fewer than {count} {kind} entries")

    async def to_customer(self, count: int) -> list[dict[str, Any]]:
        return await self.fake.wait_for("chat.postMessage", count=count, channel=CUSTOMERS)


def settings_for(tmp_path: Path, fake: FakeSlack) -> Settings:
    return slack_settings(
        tmp_path,
        fake,
        CUSTOMERS,
        TRIAGE,
        macros={"refund": REFUND, "thanks": "Thanks, {name}!"},
        assignment={"enabled": True, "max_open_per_person": 3},
    )


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    fake = FakeSlack(
        users={CUSTOMER: {"name": "ann", "display_name": "Ann", "real_name": "Ann Brown"}},
        members={TRIAGE: [STAFF]},
    )
    await fake.start()
    settings = settings_for(tmp_path, fake)
    stop = asyncio.Event()
    async with Rapport(settings, classifier=RuleClassifier()) as bot:
        connector = SlackConnector(settings, bot.desk, bot.events, bot.state_for("slack"), tools=bot.staff)
        await bot.attach(connector)
        tasks = [asyncio.create_task(bot.outbox.run(stop)), asyncio.create_task(bot.worker.run(stop))]
        server = HttpServer(bot.web_app([connector]), "127.0.0.1", 0)
        await server.start()
        try:
            yield Desk(fake, bot, connector, SlackSender(f"http://127.0.0.1:{server.port}/slack/events"))
        finally:
            stop.set()
            await server.stop()
            for task in tasks:
                await task
    await fake.stop()


def _send_buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        b["accessory"]
        for b in card["blocks"]
        if b.get("type") == "section" and b.get("accessory", {}).get("action_id") == SUGGEST
    ]


async def test_the_card_suggests_an_article_and_send_replies_as_the_clicker(desk: Desk) -> None:
    await desk.slack.event(message_event(CUSTOMERS, CUSTOMER, RETURN, "1700000100.000100"))
    ts, card = await desk.card()
    assert "Suggested replies" in json.dumps(card["blocks"])
    [button] = [b for b in _send_buttons(card) if b["value"] == "1:kb:return-policy"]

    await desk.slack.interaction(block_actions(STAFF, TRIAGE, ts, SUGGEST, value=button["value"]))
    sent = await desk.to_customer(2)  # the acknowledgement, then the suggestion
    assert sent[-1]["text"].startswith("You can return anything within 30 days")
    assert sent[-1]["thread_ts"] == "1700000100.000100"
    [replied] = await desk.audits("escalation.replied", 1)
    assert replied.actor == f"slack:{STAFF}" and replied.detail["suggested"] == "kb:return-policy"


async def test_a_resolved_cases_staff_reply_is_suggested_on_a_similar_case(desk: Desk) -> None:
    await desk.slack.event(message_event(CUSTOMERS, CUSTOMER, RETURN, "1700000100.000100"))
    ts, _ = await desk.card()
    answer = "I've emailed you a prepaid return label, Ann; the refund follows once it's scanned."
    await desk.slack.event(message_event(TRIAGE, STAFF, answer, "1700000200.000100", thread_ts=ts))
    await desk.to_customer(2)
    await desk.bot.desk.resolve(1, f"slack:{STAFF}")

    other = "The blender I bought is broken, I want to return it and get my money back"
    await desk.slack.event(message_event(CUSTOMERS, "U_BOB", other, "1700000300.000100"))
    _, card = await desk.card(2)
    [reply] = [r for r in await desk.bot.repo.replies.query(escalation_id=1) if r.kind == "staff"]
    values = [b["value"] for b in _send_buttons(card)]
    assert f"2:reply:{reply.id}" in values
    assert "sent on #1" in json.dumps(card["blocks"])


async def test_a_macro_typed_in_the_cards_thread_reaches_the_customer_filled_in(desk: Desk) -> None:
    await desk.slack.event(message_event(CUSTOMERS, CUSTOMER, RETURN, "1700000100.000100"))
    ts, _ = await desk.card()
    await desk.slack.event(message_event(TRIAGE, STAFF, "macro: refund", "1700000200.000100", thread_ts=ts))
    sent = await desk.to_customer(2)
    assert sent[-1]["text"] == REFUND.format(name="Ann", ticket=1)
    # "/rapport macro NAME" sent as a message (Slack runs no app command in a thread) works the same.
    await desk.slack.event(message_event(TRIAGE, STAFF, " /rapport macro thanks", "1700000201.000100", thread_ts=ts))
    sent = await desk.to_customer(3)
    assert sent[-1]["text"] == "Thanks, Ann!"
    audits = [e for e in await desk.bot.repo.audit.events(escalation_id=1) if e.kind == "escalation.replied"]
    assert [(e.actor, e.detail["macro"]) for e in audits] == [
        (f"slack:{STAFF}", "refund"),
        (f"slack:{STAFF}", "thanks"),
    ]

    await desk.slack.event(message_event(TRIAGE, STAFF, "macro: nope", "1700000202.000100", thread_ts=ts))
    [refusal] = await desk.fake.wait_for("chat.postEphemeral", user=STAFF)
    assert "no macro 'nope'" in refusal["text"] and "refund, thanks" in refusal["text"]
    assert len([r for r in await desk.bot.repo.replies.query(escalation_id=1) if r.kind == "staff"]) == 2


async def test_slash_command_sends_a_macro_lists_them_and_refuses_unknown_ones(desk: Desk) -> None:
    await desk.slack.event(message_event(CUSTOMERS, CUSTOMER, RETURN, "1700000100.000100"))
    await desk.card()
    status, answer = await desk.slack.command(slash_command(STAFF, "macro refund #1"))
    assert status == 200 and answer["response_type"] == "ephemeral" and "Sent macro `refund`" in answer["text"]
    sent = await desk.to_customer(2)
    assert sent[-1]["text"] == REFUND.format(name="Ann", ticket=1)
    _, answer = await desk.slack.command(slash_command(STAFF, "macro nope 1"))
    assert "no macro 'nope' (macros: refund, thanks)" in answer["text"]
    _, answer = await desk.slack.command(slash_command(STAFF, "macros"))
    assert "refund" in json.dumps(answer["blocks"]) and "thanks" in json.dumps(answer["blocks"])


async def test_shift_on_in_slack_gets_the_next_case_assigned_automatically(desk: Desk) -> None:
    _, answer = await desk.slack.command(slash_command(STAFF, "shift on"))
    assert "You are on shift" in answer["text"]
    await desk.slack.event(message_event(CUSTOMERS, CUSTOMER, RETURN, "1700000100.000100"))
    ts, _ = await desk.card()
    for _ in range(200):
        esc = await desk.bot.repo.escalations.get(1)
        if esc is not None and esc.assignee:
            break
        await asyncio.sleep(0.02)
    assert esc is not None and esc.assignee == f"slack:{STAFF}"
    for _ in range(200):
        if f"Assigned to <@{STAFF}>" in json.dumps(desk.fake.messages[(TRIAGE, ts)]["blocks"]):
            break
        await asyncio.sleep(0.02)
    assert f"Assigned to <@{STAFF}>" in json.dumps(desk.fake.messages[(TRIAGE, ts)]["blocks"])
    _, answer = await desk.slack.command(slash_command(STAFF, "shift"))
    assert f"<@{STAFF}>: 1 open" in json.dumps(answer["blocks"])

    _, answer = await desk.slack.command(slash_command(STAFF, "shift off"))
    assert "off shift" in answer["text"]
    await desk.slack.event(message_event(CUSTOMERS, "U_BOB", RETURN, "1700000300.000100"))
    await desk.card(2)
    esc = await desk.bot.repo.escalations.get(2)
    assert esc is not None and esc.assignee == ""
