"""Slack `message` events -> what they mean to Rapport: a customer message, a staff thread reply, or nothing.

Pure functions: no I/O, so every filtering rule is unit-testable from a dict.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain import InboundMessage

# Slack itself truncates messages at 40,000 characters; anything longer is not a real message.
MAX_TEXT = 40_000

# Subtypes that carry a new human message; everything else (edits, deletions, joins, bot posts) is ignored.
_HUMAN_SUBTYPES = frozenset({"", "thread_broadcast", "file_share"})


@dataclass(frozen=True, slots=True)
class StaffReply:
    """A staff message in a card's thread in the triage channel."""

    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str


_ENTITY = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def plain(text: str) -> str:
    """Slack's wire format as plain text: <@U1> -> @U1, <url|label> -> label (url), &lt; -> <."""

    def entity(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "#")):
            return "@" + label if label and target.startswith("@") else ("#" + label if label else target)
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^", 1)[0])
        return f"{label} ({target})" if label and label != target else target

    return _ENTITY.sub(entity, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _human(event: Mapping[str, Any], bot_user_id: str) -> bool:
    if event.get("type") != "message" or event.get("subtype", "") not in _HUMAN_SUBTYPES:
        return False
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    user = event.get("user")
    return isinstance(user, str) and bool(user) and user != bot_user_id


def _fields_ok(event: Mapping[str, Any]) -> bool:
    return all(isinstance(event.get(k), str) and event.get(k) for k in ("channel", "ts")) and isinstance(
        event.get("text", ""), str
    )


def sent_at(ts: str) -> datetime:
    """A Slack ts ("1700000000.000100") as an aware datetime; now if it is not a number."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def to_inbound(
    event: Mapping[str, Any], *, customer_channels: Collection[str], triage_channel: str | None, bot_user_id: str
) -> InboundMessage | None:
    """The customer message in `event`, or None when it is not one we watch (or not a human's)."""
    if not _fields_ok(event) or not _human(event, bot_user_id):
        return None
    channel: str = event["channel"]
    direct = event.get("channel_type") == "im"
    if channel == triage_channel or not (direct or channel in customer_channels):
        return None
    ts: str = event["ts"]
    thread_ts = event.get("thread_ts")
    raw_profile = event.get("user_profile")
    profile: Mapping[str, Any] = raw_profile if isinstance(raw_profile, Mapping) else {}
    return InboundMessage(
        channel="slack",
        external_id=f"{channel}:{ts}",
        author_id=event["user"],
        text=plain(event.get("text", "")[:MAX_TEXT]),
        # The ack goes in the customer's thread; a DM has no threads worth starting.
        conversation_id=thread_ts if isinstance(thread_ts, str) and thread_ts else ts,
        author_handle=str(profile.get("name", "")),
        author_name=str(profile.get("display_name") or profile.get("real_name") or ""),
        sent_at=sent_at(ts),
        direct=direct,
        connector="slack",
    )


def to_staff_reply(event: Mapping[str, Any], *, triage_channel: str | None, bot_user_id: str) -> StaffReply | None:
    """A human message in a thread of the triage channel, or None."""
    if triage_channel is None or not _fields_ok(event) or not _human(event, bot_user_id):
        return None
    thread_ts = event.get("thread_ts")
    if event["channel"] != triage_channel or not isinstance(thread_ts, str) or thread_ts == event["ts"]:
        return None
    return StaffReply(
        channel=event["channel"],
        thread_ts=thread_ts,
        ts=event["ts"],
        user=event["user"],
        text=plain(event.get("text", "")[:MAX_TEXT]),
    )
