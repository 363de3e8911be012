"""tweepy and aiohttp errors -> `bot.errors`, at the connector edge. Messages never carry credentials."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import aiohttp
import tweepy

from bot.errors import AuthFailed, ConnectorError, DeliveryFailed, RateLimited

NAME = "x"
DEFAULT_WAIT = 60.0  # a 429 without a reset header: wait a minute rather than hammer


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


def _detail(exc: tweepy.HTTPException) -> str:
    status = getattr(exc.response, "status", None) or getattr(exc.response, "status_code", "?")
    messages = "; ".join(str(m) for m in exc.api_messages)[:200]
    return f"HTTP {status}" + (f": {messages}" if messages else "")


def map_error(exc: BaseException, doing: str) -> ConnectorError:
    """Our error for an SDK or network failure while `doing` something (e.g. "reply to tweet 42")."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, tweepy.TooManyRequests):
        headers = getattr(exc.response, "headers", {}) or {}
        return RateLimited(f"{doing}: rate limited", retry_after=reset_wait(headers), connector=NAME)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthFailed(f"{doing}: credentials rejected ({_detail(exc)})", connector=NAME)
    if isinstance(exc, tweepy.TwitterServerError):
        return DeliveryFailed(f"{doing}: X is failing ({_detail(exc)})", retryable=True, connector=NAME)
    if isinstance(exc, tweepy.HTTPException):
        # 400/403/404: a deleted tweet, closed DMs, duplicate text, an access level without this endpoint.
        # Sending the same request again gets the same answer.
        return DeliveryFailed(f"{doing}: refused ({_detail(exc)})", retryable=False, connector=NAME)
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError | ValueError):
        # ValueError: a body that is not JSON (an HTML error page from a proxy).
        return DeliveryFailed(f"{doing}: cannot reach X ({type(exc).__name__})", retryable=True, connector=NAME)
    return ConnectorError(f"{doing}: unexpected {type(exc).__name__}", connector=NAME)
