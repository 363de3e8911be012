"""discord.py and aiohttp errors -> `bot.errors`, at the connector edge. Messages never carry the token."""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from bot.errors import AuthFailed, ConnectorError, DeliveryFailed, RateLimited

NAME = "discord"
_CANNOT_DM = 50007  # "Cannot send messages to this user": DMs closed or no shared server


def map_error(exc: BaseException, doing: str) -> ConnectorError:
    """Our error for an SDK or network failure while `doing` something (e.g. "send to channel 42")."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return AuthFailed(
            f"{doing}: the message content intent is not enabled for this application "
            "(Developer Portal > Bot > Privileged Gateway Intents)",
            connector=NAME,
        )
    if isinstance(exc, discord.LoginFailure):
        return AuthFailed(f"{doing}: the bot token was rejected", connector=NAME)
    if isinstance(exc, discord.RateLimited):
        return RateLimited(f"{doing}: rate limited", retry_after=exc.retry_after, connector=NAME)
    if isinstance(exc, discord.ConnectionClosed):
        if exc.code == 4004:
            return AuthFailed(f"{doing}: the gateway rejected the token", connector=NAME)
        return ConnectorError(f"{doing}: gateway closed the connection (code {exc.code})", connector=NAME)
    if isinstance(exc, discord.GatewayNotFound):
        return ConnectorError(f"{doing}: gateway not found (Discord outage?)", connector=NAME)
    if isinstance(exc, discord.HTTPException):
        return _map_http(exc, doing)
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError):
        return DeliveryFailed(f"{doing}: cannot reach Discord ({type(exc).__name__})", connector=NAME)
    return ConnectorError(f"{doing}: unexpected {type(exc).__name__}", connector=NAME)


def _map_http(exc: discord.HTTPException, doing: str) -> ConnectorError:
    status, code = exc.status, exc.code
    detail = f"{doing}: HTTP {status}" + (f" (code {code})" if code else "")
    if status == 401:
        return AuthFailed(f"{detail}: token rejected", connector=NAME)
    if status == 429:
        # A 429 discord.py did not handle itself: Cloudflare's, without a usable retry_after.
        return RateLimited(detail, retry_after=60.0, connector=NAME)
    if isinstance(exc, discord.DiscordServerError) or status >= 500:
        return DeliveryFailed(detail, retryable=True, connector=NAME)
    if code == _CANNOT_DM:
        return DeliveryFailed(f"{detail}: the user does not accept DMs from the bot", retryable=False, connector=NAME)
    # Other 4xx (missing permission, unknown channel or message, bad body): the same request fails again.
    return DeliveryFailed(detail, retryable=False, connector=NAME)
