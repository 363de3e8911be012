"""X API v2 payloads (a mention, a DM event) -> `InboundMessage`. Missing fields skip the item, logged."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain import InboundMessage

log = logging.getLogger(__name__)

CHANNEL = "x"
NAME_LIMIT = 100
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LEADING_HANDLES = re.compile(r"^(?:\s*@\w{1,15})+\s*")  # the "@brand @friend" X prefixes to every reply
# X API v2 sends post and DM text with exactly these three escaped (and every & escaped, so the customer's
# own "&amp;" arrives as "&amp;amp;"). One pass over these three undoes it exactly once; html.unescape would
# agree on what X sends but would also turn any entity X ever let through unescaped (&copy;) into a character.
_X_ENTITIES = re.compile(r"&(amp|lt|gt);")
_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}


def clean_text(text: object, limit: int | None = None) -> str:
    """NFC-normalise and drop control and bidi-override characters; '' for non-strings."""
    if not isinstance(text, str):
        return ""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text)).strip()
    return text[:limit] if limit else text


def unescape_x(text: object) -> object:
    """X's text with its HTML escaping undone once (`&amp;lt;` becomes `&lt;`, never `<`); non-strings as given."""
    if not isinstance(text, str):
        return text
    return _X_ENTITIES.sub(lambda m: _UNESCAPED[m.group(1)], text)


def users_by_id(body: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    includes = body.get("includes")
    users = includes.get("users") if isinstance(includes, Mapping) else None
    if not isinstance(users, list):
        return {}
    return {str(u["id"]): u for u in users if isinstance(u, Mapping) and "id" in u}


def _when(value: object) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)


def _author(users: Mapping[str, Mapping[str, Any]], author_id: str) -> tuple[str, str]:
    # A deleted or suspended account is missing from includes: keep the id, leave the names empty.
    user = users.get(author_id, {})
    return clean_text(user.get("username"), NAME_LIMIT), clean_text(user.get("name"), NAME_LIMIT)


def _numeric_id(value: object) -> str | None:
    text = str(value) if isinstance(value, str | int) else ""
    return text if text.isdigit() else None


def mention_to_inbound(
    tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], me_id: str
) -> InboundMessage | None:
    """The domain message for one mention, or None (logged) for retweets, our own tweets and unreadable ones."""
    tweet_id = _numeric_id(tweet.get("id"))
    author_id = _numeric_id(tweet.get("author_id"))
    if tweet_id is None or author_id is None:
        log.warning("x: skipping a mention without usable ids")
        return None
    if author_id == me_id:
        return None
    referenced = tweet.get("referenced_tweets")
    if isinstance(referenced, list) and any(
        isinstance(r, Mapping) and r.get("type") == "retweeted" for r in referenced
    ):
        return None  # a retweet repeats someone else's words: nothing to answer
    text = _LEADING_HANDLES.sub("", clean_text(unescape_x(tweet.get("text"))))
    if not text:
        log.info("x: skipping mention %s with no words (handles or media only)", tweet_id)
        return None
    handle, name = _author(users, author_id)
    return InboundMessage(
        channel=CHANNEL,
        external_id=tweet_id,
        author_id=author_id,
        text=text,
        conversation_id=_numeric_id(tweet.get("conversation_id")) or tweet_id,
        author_handle=handle,
        author_name=name or handle,
        sent_at=_when(tweet.get("created_at")),
        direct=False,
        connector=CHANNEL,
    )


def dm_to_inbound(
    event: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], me_id: str
) -> InboundMessage | None:
    """The domain message for one DM event, or None for our own DMs, other event types and unreadable ones."""
    event_id = _numeric_id(event.get("id"))
    sender_id = _numeric_id(event.get("sender_id"))
    if event_id is None or sender_id is None:
        log.warning("x: skipping a DM event without usable ids")
        return None
    if sender_id == me_id or event.get("event_type", "MessageCreate") != "MessageCreate":
        return None
    text = clean_text(unescape_x(event.get("text")))
    if not text:
        log.info("x: skipping DM %s with no text", event_id)
        return None
    conversation = event.get("dm_conversation_id")
    handle, name = _author(users, sender_id)
    return InboundMessage(
        channel=CHANNEL,
        external_id=f"dm:{event_id}",
        author_id=sender_id,
        text=text,
        conversation_id=f"dm:{conversation}" if isinstance(conversation, str) and conversation else "",
        author_handle=handle,
        author_name=name or handle,
        sent_at=_when(event.get("created_at")),
        direct=True,
        connector=CHANNEL,
    )
