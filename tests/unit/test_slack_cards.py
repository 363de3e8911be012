"""Triage card rendering: Block Kit from the desk's EscalationCard, within Slack's limits."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.desk import EscalationCard, HistoryEntry
from bot.domain import Customer, Escalation, EscalationStatus, Identity, InboundMessage, Priority, StoredMessage
from bot.sla import SlaState
from connectors.slack import blocks as bk
from connectors.slack import cards
from nlp.types import Analysis, Intent, Sentiment

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def stored(mid: int, text: str, channel: str = "discord", minutes_ago: int = 0) -> StoredMessage:
    analysis = Analysis(
        Sentiment.NEGATIVE,
        Intent.COMPLAINT,
        urgent=True,
        abusive=False,
        language="en",
        confidence=0.87,
        low_confidence=False,
    )
    msg = InboundMessage(
        channel=channel,
        external_id=f"m{mid}",
        author_id="42",
        text=text,
        author_handle="annb",
        sent_at=NOW - timedelta(minutes=minutes_ago),
    )
    return StoredMessage(id=mid, message=msg, customer_id=7, analysis=analysis, received_at=msg.sent_at)


def make_card(**over: Any) -> EscalationCard:
    esc = Escalation(
        id=12,
        customer_id=7,
        opening_message_id=5,
        channel="discord",
        conversation_id="c1",
        status=EscalationStatus.OPEN,
        priority=Priority.HIGH,
        reason="complaint",
        intent="complaint",
        created_at=NOW - timedelta(minutes=5),
        updated_at=NOW,
        message_ids=(5,),
    )
    customer = Customer(id=7, display_name="Ann Brown", created_at=NOW, tier="gold", stage="loyal")
    card = EscalationCard(
        escalation=esc,
        customer=customer,
        identity=Identity("discord", "42", 7, handle="annb"),
        opening=stored(5, "My order never arrived"),
        analysis=stored(5, "").analysis,
        recent=(stored(4, "where is it?", minutes_ago=60), stored(3, "ordered today", "x", 600)),
        sla=SlaState(NOW + timedelta(minutes=55), NOW + timedelta(hours=8), False, False),
        history=(HistoryEntry("bot", "opened", NOW - timedelta(minutes=5)),),
    )
    return replace(card, **over)


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_card_shows_customer_channel_tier_message_classification_priority_sla_and_history() -> None:
    text, blocks = cards.render(make_card(), NOW, link="https://discord.com/channels/1/2/3")
    dump = texts(blocks)
    for needle in (
        "Ann Brown",
        "discord",
        "annb",
        "https://discord.com/channels/1/2/3",
        "gold",
        "loyal",
        "My order never arrived",
        "Complaint (87%)",
        "negative",
        "urgent",
        "high",
        "First response due",
        "Resolution due",
        "where is it?",
        "ordered today",
        "opened",
    ):
        assert needle in dump, needle
    assert "#12" in text and "Ann Brown" in text
    assert action_ids(blocks) == [cards.CLAIM, cards.RESOLVE, cards.SNOOZE, cards.RECLASSIFY]


def test_claimed_card_names_the_claimer_and_drops_the_claim_button() -> None:
    esc = replace(make_card().escalation, status=EscalationStatus.CLAIMED, assignee="slack:U7", claimed_at=NOW)
    _, blocks = cards.render(make_card(escalation=esc), NOW)
    assert "Claimed by <@U7>" in texts(blocks)
    assert cards.CLAIM not in action_ids(blocks)


def test_resolved_card_has_no_buttons_and_says_who_resolved() -> None:
    esc = replace(make_card().escalation, status=EscalationStatus.RESOLVED, assignee="slack:U7", resolved_at=NOW)
    _, blocks = cards.render(make_card(escalation=esc), NOW)
    assert action_ids(blocks) == []
    assert "Resolved by <@U7>" in texts(blocks)


def test_breached_sla_is_marked() -> None:
    sla = SlaState(NOW - timedelta(minutes=1), NOW + timedelta(hours=1), True, False)
    _, blocks = cards.render(make_card(sla=sla), NOW)
    assert texts(blocks).count("breached") == 1


def test_snoozed_card_says_until_when() -> None:
    _, blocks = cards.render(make_card(snoozed_until=NOW + timedelta(hours=1)), NOW)
    assert "snoozed until" in texts(blocks)


def test_customer_text_and_names_cannot_ping_channels_or_forge_links() -> None:
    customer = replace(make_card().customer, display_name="<!here> Mallory")
    text, blocks = cards.render(make_card(opening=stored(5, "<!channel> <https://evil|click>"), customer=customer), NOW)
    assert "<!channel>" not in texts(blocks) and "&lt;!channel&gt;" in texts(blocks)
    assert "<!here>" not in texts(blocks) and "<!here>" not in text


def test_a_40000_character_message_stays_within_block_kit_limits() -> None:
    _, blocks = cards.render(make_card(opening=stored(5, "x" * 40_000)), NOW)
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= bk.SECTION_TEXT_MAX
        for f in block.get("fields", []):
            assert len(f["text"]) <= bk.FIELD_MAX
    assert len(blocks) <= bk.MESSAGE_BLOCKS_MAX


def test_reclassify_menu_offers_every_intent_with_the_current_one_selected() -> None:
    _, blocks = cards.render(make_card(), NOW)
    menu = next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["type"] == "static_select")
    assert [o["value"] for o in menu["options"]] == [f"12:{i.value}" for i in Intent]
    assert menu["initial_option"]["value"] == "12:complaint"


def test_escalation_id_is_read_from_button_value_menu_option_or_block_id() -> None:
    assert cards.escalation_id_of({"value": "12"}) == 12
    assert cards.escalation_id_of({"selected_option": {"value": "9:praise"}}) == 9
    assert cards.escalation_id_of({"block_id": "card:3"}) == 3
    assert cards.escalation_id_of({"value": "nope"}) is None
    assert cards.escalation_id_of({"value": "9" * 40}) is None
    assert cards.escalation_id_of({}) is None


def test_x_messages_link_to_the_post() -> None:
    opening = replace(
        stored(5, "late"), message=InboundMessage(channel="x", external_id="1234", author_id="9", text="late")
    )
    _, blocks = cards.render(make_card(opening=opening), NOW)
    assert "https://x.com/i/web/status/1234" in texts(blocks)
