"""Slack `message` events -> customer messages, staff thread replies, or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.slack.ingest import MAX_TEXT, plain, to_inbound, to_staff_reply

CUSTOMERS = ("C_CUST",)
TRIAGE = "C_TRIAGE"
BOT = "UBOT"


def event(**over: Any) -> dict[str, Any]:
    base = {
        "type": "message",
        "channel": "C_CUST",
        "channel_type": "channel",
        "user": "U1",
        "text": "my order is late",
        "ts": "1700000000.000100",
    }
    return {k: v for k, v in (base | over).items() if v is not None}


def inbound(e: dict[str, Any]):  # type: ignore[no-untyped-def]
    return to_inbound(e, customer_channels=CUSTOMERS, triage_channel=TRIAGE, bot_user_id=BOT)


def test_customer_channel_message_becomes_inbound_with_channel_qualified_id() -> None:
    msg = inbound(event())
    assert msg is not None
    assert (msg.channel, msg.connector, msg.external_id) == ("slack", "slack", "C_CUST:1700000000.000100")
    assert (msg.author_id, msg.text, msg.conversation_id, msg.direct) == (
        "U1",
        "my order is late",
        "1700000000.000100",
        False,
    )
    assert msg.sent_at.timestamp() == pytest.approx(1700000000.0001)


def test_reply_in_a_thread_keeps_the_thread_as_conversation() -> None:
    msg = inbound(event(ts="1700000005.000200", thread_ts="1700000000.000100"))
    assert msg is not None and msg.conversation_id == "1700000000.000100"


def test_dm_to_the_bot_is_direct_even_though_the_channel_is_not_configured() -> None:
    msg = inbound(event(channel="D42", channel_type="im"))
    assert msg is not None and msg.direct


@pytest.mark.parametrize(
    "over",
    [
        {"channel": "C_OTHER"},  # not watched
        {"channel": TRIAGE},  # staff desk, never a customer channel
        {"user": BOT},  # our own message
        {"bot_id": "B2", "user": None},  # another bot
        {"bot_id": "B2"},  # a bot posting as a user
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
        {"subtype": "bot_message"},
        {"type": "app_mention"},
        {"ts": None},
        {"channel": None},
        {"user": None},
        {"text": 42},
        {"channel": 7},
    ],
)
def test_events_that_are_not_customer_messages_are_ignored(over: dict[str, Any]) -> None:
    assert inbound(event(**over)) is None


def test_thread_broadcast_and_file_share_count_as_messages() -> None:
    assert inbound(event(subtype="thread_broadcast")) is not None
    assert inbound(event(subtype="file_share")) is not None


def test_a_40000_character_message_is_accepted_and_bounded() -> None:
    msg = inbound(event(text="a" * 50_000))
    assert msg is not None and len(msg.text) == MAX_TEXT


def test_names_come_from_the_user_profile_when_slack_sends_one() -> None:
    msg = inbound(event(user_profile={"name": "ann", "display_name": "Ann B", "real_name": "Ann Brown"}))
    assert msg is not None and (msg.author_handle, msg.author_name) == ("ann", "Ann B")


def test_slack_markup_is_turned_into_plain_text() -> None:
    assert plain("a &lt;b&gt; &amp; c") == "a <b> & c"
    assert plain("hi <@U123> see <https://x.io|the docs> or <https://y.io>") == (
        "hi @U123 see the docs (https://x.io) or https://y.io"
    )
    assert plain("<!channel> <#C1|general>") == "@channel #general"


def test_staff_reply_is_a_human_message_in_a_thread_of_the_triage_channel() -> None:
    reply = to_staff_reply(
        event(channel=TRIAGE, ts="1700000009.000100", thread_ts="1700000001.000100", text="note: call them"),
        triage_channel=TRIAGE,
        bot_user_id=BOT,
    )
    assert reply is not None
    assert (reply.thread_ts, reply.ts, reply.user, reply.text) == (
        "1700000001.000100",
        "1700000009.000100",
        "U1",
        "note: call them",
    )


@pytest.mark.parametrize(
    "over",
    [
        {"channel": TRIAGE},  # top level, not in a thread
        {"channel": TRIAGE, "thread_ts": "1700000000.000100"},  # the thread's parent itself
        {"channel": "C_CUST", "thread_ts": "1"},  # a thread elsewhere
        {"channel": TRIAGE, "thread_ts": "1", "user": BOT},
        {"channel": TRIAGE, "thread_ts": "1", "bot_id": "B9"},
    ],
)
def test_other_messages_are_not_staff_replies(over: dict[str, Any]) -> None:
    assert to_staff_reply(event(**over), triage_channel=TRIAGE, bot_user_id=BOT) is None
