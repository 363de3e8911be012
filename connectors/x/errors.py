"""tweepy and aiohttp errors -> `bot.errors`, at the connector edge. Messages never carry credentials.

The HTTP status decides, not the exception tweepy managed to raise: X (and the proxies in front of it)
answer errors with JSON, plain text, HTML or nothing at all, and tweepy fails to parse all but JSON.
So the API layer hands over the `Answer` it saw, and a 429 is a rate limit whatever its body says.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import tweepy

from bot.errors import AuthFailed, ConnectorError, DeliveryFailed, RateLimited

NAME = "x"
DEFAULT_WAIT = 60.0  # a 429 without a reset header: wait a minute rather than hammer
REASON_LIMIT = 200
_TAGS = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP response X gave, as far as an error needs it: status, headers and the body as text."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    content_type: str = ""


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def reset_wait(headers: Mapping[str, str], now: float | None = None) -> float:
    """Seconds until the limit that refused us resets, from X's headers; a minute when they say nothing."""
    now = time.time() if now is None else now
    # When a 24-hour post cap is what ran out, it resets much later than the 15-minute request window.
    for prefix in ("x-user-limit-24hour", "x-app-limit-24hour"):
        if headers.get(f"{prefix}-remaining") == "0":
            reset = _number(headers.get(f"{prefix}-reset"))
            if reset is not None:
                return max(1.0, reset - now + 1)
    reset = _number(headers.get("x-rate-limit-reset"))
    return max(1.0, reset - now + 1) if reset is not None else DEFAULT_WAIT


def _one_line(text: str) -> str:
    return " ".join(text.split())[:REASON_LIMIT]


def _json_reason(body: Any) -> str:
    """X's own words from a JSON error body: `errors[].message`, `detail`, `title` or `error`."""
    if not isinstance(body, Mapping):
        return ""
    errors = body.get("errors")
    if isinstance(errors, list):
        messages = [str(e.get("message")) for e in errors if isinstance(e, Mapping) and e.get("message")]
        if messages:
            return "; ".join(messages)
    for key in ("detail", "title", "error", "reason"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])
    return ""


def answer_reason(answer: Answer) -> str:
    """What X said, in one short line, whatever the body's kind; '' when it said nothing."""
    text = answer.body.strip()
    if not text:
        return ""
    if "html" in answer.content_type or text.lstrip().lower().startswith(("<!doctype", "<html")):
        title = _TITLE.search(text)
        return _one_line(_TAGS.sub(" ", title.group(1) if title else text))
    try:
        reason = _json_reason(json.loads(text))
    except ValueError:
        return _one_line(text)
    return _one_line(reason) if reason else ""


def _status(exc: BaseException, answer: Answer | None) -> int | None:
    if answer is not None:
        return answer.status
    if isinstance(exc, tweepy.HTTPException):
        response = exc.response
        status = getattr(response, "status", None) or getattr(response, "status_code", None)
        return status if isinstance(status, int) else None
    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.status or None
    return None


def _headers(exc: BaseException, answer: Answer | None) -> Mapping[str, str]:
    if answer is not None:
        return answer.headers
    if isinstance(exc, tweepy.HTTPException):
        return getattr(exc.response, "headers", None) or {}
    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.headers or {}
    return {}


def _reason(exc: BaseException, answer: Answer | None) -> str:
    if answer is not None and (said := answer_reason(answer)):
        return said
    if isinstance(exc, tweepy.HTTPException):
        return _one_line("; ".join(str(m) for m in exc.api_messages))
    return ""


def map_error(exc: BaseException, doing: str, answer: Answer | None = None) -> ConnectorError:
    """Our error for an SDK or network failure while `doing` something (e.g. "reply to tweet 42").

    `answer` is the response X gave, when there was one: its status and headers decide the error.
    """
    if isinstance(exc, ConnectorError):
        return exc
    status = _status(exc, answer)
    if status is not None:
        reason = _reason(exc, answer)
        detail = f"HTTP {status}" + (f": {reason}" if reason else "")
        if status == 429:
            return RateLimited(f"{doing}: rate limited", retry_after=reset_wait(_headers(exc, answer)), connector=NAME)
        if status == 401:
            return AuthFailed(f"{doing}: credentials rejected ({detail})", status=status, connector=NAME)
        if status == 403:
            # Wrong app permissions, an access level without this endpoint, or X refusing this one post
            # (duplicate text, a reply it does not allow): X's reason says which.
            return AuthFailed(f"{doing}: refused ({detail})", status=status, connector=NAME)
        if status >= 500:
            return DeliveryFailed(f"{doing}: X is failing ({detail})", retryable=True, connector=NAME)
        if status >= 400:
            # 400/404: a deleted tweet, closed DMs, a bad request: sending it again gets the same answer.
            return DeliveryFailed(f"{doing}: refused ({detail})", retryable=False, connector=NAME)
        # A success whose body could not be read (a proxy's page in place of JSON): worth another try.
        return DeliveryFailed(f"{doing}: unreadable answer from X ({detail})", retryable=True, connector=NAME)
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError | ValueError):
        return DeliveryFailed(f"{doing}: cannot reach X ({type(exc).__name__})", retryable=True, connector=NAME)
    return ConnectorError(f"{doing}: unexpected {type(exc).__name__}", connector=NAME)
