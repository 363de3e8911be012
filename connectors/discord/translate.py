"""Discord messages -> `InboundMessage`: which messages the bot hears, and what it keeps of them.

Works on discord.py's `Message` model by attribute, reading each field defensively: a payload with a
missing or odd field is skipped with a log line, never an exception in the gateway loop.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain import InboundMessage

log = logging.getLogger(__name__)

CHANNEL = "discord"
NAME_LIMIT = 100  # Discord's own display-name limit; longer means something is off

# C0/C1 controls (but newline and tab) and bidi overrides/isolates: they can make a message or a
# name render differently in the Slack triage view than what the customer actually wrote.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: object, limit: int | None = None) -> str:
    """NFC-normalise and drop control and bidi-override characters; '' for non-strings."""
    if not isinstance(text, str):
        return ""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text)).strip()
    return text[:limit] if limit else text


@dataclass(frozen=True, slots=True)
class Scope:
    """Where the bot listens: guild and channel allow-lists (empty means all) and its own user id."""

    me_id: int
    guild_ids: frozenset[int] = frozenset()
    channel_ids: frozenset[int] = frozenset()


def _mentions_me(message: Any, me_id: int) -> bool:
    if any(getattr(user, "id", None) == me_id for user in getattr(message, "mentions", None) or ()):
        return True
    # Uncached mentions still show as a raw token in the content.
    return f"<@{me_id}>" in (message.content or "") or f"<@!{me_id}>" in (message.content or "")


def _channel_ids(message: Any) -> set[int]:
    """The message's channel and, for a thread, its parent: a thread in a listened channel is heard too."""
    channel = message.channel
    ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
    return {i for i in ids if isinstance(i, int)}


def is_direct(message: Any) -> bool:
    return getattr(message, "guild", None) is None and getattr(message, "guild_id", None) is None


def wanted(message: Any, scope: Scope) -> bool:
    """True when the bot should hear this message: a DM, a mention in a listened guild, or a listened channel."""
    author = getattr(message, "author", None)
    if author is None or getattr(author, "bot", False) or getattr(author, "id", None) == scope.me_id:
        return False  # bots (webhooks included) and ourselves: answering them loops
    if getattr(message, "webhook_id", None) is not None:
        return False
    if is_direct(message):
        return True
    guild_id = getattr(getattr(message, "guild", None), "id", None)
    if scope.guild_ids and guild_id not in scope.guild_ids:
        return False
    if _mentions_me(message, scope.me_id):
        return True
    return not scope.channel_ids or bool(_channel_ids(message) & scope.channel_ids)


def _strip_my_mention(text: str, me_id: int) -> str:
    # "@Rapport my order never came": the classifier should read the complaint, not the bot's name.
    return re.sub(rf"<@!?{me_id}>", "", text).strip()


# Discord's markup: <@id> / <@!id> a user, <@&id> a role, <#id> a channel or thread, <:name:id> and
# <a:name:id> a custom (animated) emoji.
_MARKUP = re.compile(r"<(@!?|@&|#)(\d+)>|<a?:(\w+):\d+>")
UNKNOWN_CHANNEL = "#unknown"
UNKNOWN_NAME = "@unknown"


def _lookup(guild: Any, getter: str, item_id: int) -> Any:
    get = getattr(guild, getter, None)
    return get(item_id) if callable(get) else None


def _name(thing: Any, attribute: str) -> str:
    return clean_text(getattr(thing, attribute, None), NAME_LIMIT) if thing is not None else ""


def render_markup(text: str, message: Any) -> str:
    """Mentions and custom emoji as a reader sees them in Discord (#general, @Support, @Alice, :party:).

    Names come from what the gateway sent: the message's resolved mentions and the guild's cached roles,
    channels and threads. An id none of them knows (a deleted channel, a DM) reads #unknown or @unknown.
    """
    guild = getattr(message, "guild", None)
    channel = getattr(message, "channel", None)
    users = {getattr(u, "id", None): u for u in getattr(message, "mentions", None) or ()}
    roles = {getattr(r, "id", None): r for r in getattr(message, "role_mentions", None) or ()}

    def replace(match: re.Match[str]) -> str:
        kind, raw_id, emoji = match.groups()
        if emoji is not None:
            return f":{emoji}:"
        item_id = int(raw_id)
        if kind == "#":
            here = channel if getattr(channel, "id", None) == item_id else None
            name = _name(here, "name") or _name(_lookup(guild, "get_channel_or_thread", item_id), "name")
            return f"#{name}" if name else UNKNOWN_CHANNEL
        if kind == "@&":
            name = _name(roles.get(item_id) or _lookup(guild, "get_role", item_id), "name")
        else:
            name = _name(users.get(item_id) or _lookup(guild, "get_member", item_id), "display_name")
        return f"@{name}" if name else UNKNOWN_NAME

    return _MARKUP.sub(replace, text)


def to_inbound(message: Any, me_id: int) -> InboundMessage | None:
    """The domain message for a Discord message, or None (logged) when there is nothing to read."""
    try:
        message_id = int(message.id)
        author = message.author
        author_id = int(author.id)
        channel_id = int(message.channel.id)
    except (AttributeError, TypeError, ValueError):
        log.warning("discord: skipping a message without usable ids")
        return None
    text = render_markup(_strip_my_mention(clean_text(getattr(message, "content", "")), me_id), message)
    if not text:
        kind = "attachment-only" if getattr(message, "attachments", None) else "empty"
        log.info("discord: skipping %s message %s", kind, message_id)
        return None
    sent_at = getattr(message, "created_at", None)
    if not isinstance(sent_at, datetime):
        sent_at = datetime.now(UTC)
    handle = clean_text(getattr(author, "name", ""), NAME_LIMIT)
    name = clean_text(getattr(author, "global_name", None) or getattr(author, "display_name", ""), NAME_LIMIT)
    return InboundMessage(
        channel=CHANNEL,
        external_id=str(message_id),
        author_id=str(author_id),
        text=text,
        conversation_id=str(channel_id),  # a thread's id for thread messages: replies stay in the thread
        author_handle=handle,
        author_name=name or handle,
        sent_at=sent_at,
        direct=is_direct(message),
        connector=CHANNEL,
    )
