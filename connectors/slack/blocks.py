"""Small Block Kit builders and the limits Slack enforces on them (over a limit, Slack rejects the message)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.privacy import mask

Block = dict[str, Any]

SECTION_TEXT_MAX = 3000
HEADER_MAX = 150
CONTEXT_ELEMENT_MAX = 2000
FIELD_MAX = 2000
BUTTON_TEXT_MAX = 75
MESSAGE_BLOCKS_MAX = 50
HOME_BLOCKS_MAX = 100
FALLBACK_TEXT_MAX = 3000


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Escape Slack's control characters so customer text cannot ping @channel or forge links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def said(text: str) -> str:
    """Customer text as staff see it in Slack: card numbers, IBANs and passwords masked, then escaped."""
    return escape(mask(text))


def quote(text: str, limit: int = SECTION_TEXT_MAX) -> str:
    """A customer's message as a block quote (masked and escaped, see `said`)."""
    body = clip(said(text.strip()) or "(no text)", limit - 200)
    return "\n".join("> " + line for line in body.splitlines() or [""])


def date(at: datetime | None, fmt: str = "{date_short_pretty} {time}") -> str:
    """A Slack date token: shown in each reader's own time zone, with a UTC fallback."""
    if at is None:
        return "—"
    return f"<!date^{int(at.timestamp())}^{fmt}|{at.strftime('%Y-%m-%d %H:%M UTC')}>"


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_MAX)}


def section(text: str, fields: list[str] | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": clip(f, FIELD_MAX)} for f in fields[:10]]
    if accessory is not None:
        block["accessory"] = accessory
    return block


def fields_section(fields: list[str]) -> Block:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": clip(f, FIELD_MAX)} for f in fields[:10]]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_MAX), "emoji": True}}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(clip(t, CONTEXT_ELEMENT_MAX)) for t in texts[:10] if t]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT_MAX), "emoji": True},
    }
    if style:
        element["style"] = style
    return element


def select(placeholder: str, action_id: str, options: list[tuple[str, str]], initial: str | None = None) -> Block:
    opts = [{"text": {"type": "plain_text", "text": clip(label, 75)}, "value": value} for label, value in options]
    element: Block = {
        "type": "static_select",
        "action_id": action_id,
        "options": opts,
        "placeholder": {"type": "plain_text", "text": clip(placeholder, 150)},
    }
    chosen = [o for o in opts if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return element
