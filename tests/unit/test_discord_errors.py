"""discord.py and network errors become bot.errors with the right retry advice, and no token."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
import discord
import pytest

from bot.errors import AuthFailed, ConnectorError, DeliveryFailed, RateLimited
from bot.text import split_parts
from connectors.discord.errors import map_error
from connectors.discord.send import MESSAGE_LIMIT


def http_error(cls: type[discord.HTTPException], status: int, code: int = 0) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason="x")
    return cls(response, {"message": "nope", "code": code})  # type: ignore[arg-type]


def test_rate_limited_keeps_its_delay() -> None:
    error = map_error(discord.RateLimited(45.0), "send")
    assert isinstance(error, RateLimited) and error.retry_after == 45.0


@pytest.mark.parametrize(
    ("exc", "kind", "retryable"),
    [
        (http_error(discord.Forbidden, 403, 50007), DeliveryFailed, False),
        (http_error(discord.Forbidden, 403, 50013), DeliveryFailed, False),
        (http_error(discord.NotFound, 404, 10003), DeliveryFailed, False),
        (http_error(discord.DiscordServerError, 503), DeliveryFailed, True),
        (aiohttp.ClientConnectionError(), DeliveryFailed, True),
        (TimeoutError(), DeliveryFailed, True),
        (ConnectionResetError(), DeliveryFailed, True),
    ],
)
def test_send_failures_say_whether_to_retry(exc: BaseException, kind: type, retryable: bool) -> None:
    error = map_error(exc, "send")
    assert isinstance(error, kind) and getattr(error, "retryable", None) is retryable


def test_credential_problems_are_auth_failed() -> None:
    assert isinstance(map_error(discord.LoginFailure("Improper token has been passed."), "log in"), AuthFailed)
    assert isinstance(map_error(http_error(discord.HTTPException, 401), "send"), AuthFailed)
    intents = map_error(discord.PrivilegedIntentsRequired(None), "gateway")
    assert isinstance(intents, AuthFailed) and "message content intent" in str(intents)


def test_unknown_errors_are_still_ours() -> None:
    error = map_error(KeyError("author"), "gateway")
    assert isinstance(error, ConnectorError) and str(error).startswith("discord: gateway")


def test_over_long_replies_are_split_within_discords_limit_never_cut() -> None:
    text = "Here is how returns work. " * 200
    parts = split_parts(text, MESSAGE_LIMIT)
    assert len(parts) == 3 and all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert [p[-5:] for p in parts] == ["(1/3)", "(2/3)", "(3/3)"]
    assert " ".join(p.rsplit(" (", 1)[0] for p in parts) == text.strip()
