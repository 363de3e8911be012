"""The Slack Web API calls Rapport makes, with slack_sdk errors mapped to `bot.errors` at this one edge."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import AuthFailed, BadPayload, DeliveryFailed, RateLimited

_AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
    }
)
# Errors that will not change by trying again.
_PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "no_text",
        "user_not_found",
        "cant_update_message",
        "message_not_found",
        "invalid_blocks",
        "restricted_action",
        "user_disabled",
        "cannot_dm_bot",
    }
)
_USER_CACHE_SECONDS = 3600.0


@asynccontextmanager
async def slack_errors() -> AsyncIterator[None]:
    """Turn slack_sdk and transport errors into Rapport's connector errors."""
    try:
        yield
    except SlackApiError as exc:
        response = exc.response
        error = str(response.get("error", "unknown_error")) if response is not None else "unknown_error"
        status = getattr(response, "status_code", 0)
        if status == 429 or error == "ratelimited":
            headers = getattr(response, "headers", {}) or {}
            retry_after = headers.get("Retry-After") or headers.get("retry-after") or "1"
            raise RateLimited(f"rate limited ({error})", retry_after=float(retry_after), connector="slack") from None
        if error in _AUTH_ERRORS:
            raise AuthFailed(error, connector="slack") from None
        raise DeliveryFailed(error, retryable=error not in _PERMANENT and status != 400, connector="slack") from None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise DeliveryFailed(f"network: {type(exc).__name__}", connector="slack") from None
    except SlackClientError as exc:
        raise BadPayload(f"client: {type(exc).__name__}", connector="slack") from None


class SlackApi:
    """A narrow, typed face of `AsyncWebClient`. Every method raises only `bot.errors.ConnectorError`s."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._names: dict[str, tuple[float, str, str]] = {}

    async def _call(self, fn: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        async with slack_errors():
            return await fn(**kwargs)

    async def post(
        self, channel: str, text: str, *, blocks: Sequence[dict[str, Any]] | None = None, thread_ts: str | None = None
    ) -> str:
        """Post a message; returns its ts."""
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
        if blocks is not None:
            kwargs["blocks"] = list(blocks)
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        response = await self._call(self.client.chat_postMessage, **kwargs)
        return str(response["ts"])

    async def update(self, channel: str, ts: str, text: str, blocks: Sequence[dict[str, Any]]) -> None:
        await self._call(self.client.chat_update, channel=channel, ts=ts, text=text, blocks=list(blocks))

    async def ephemeral(
        self, channel: str, user: str, text: str, blocks: Sequence[dict[str, Any]] | None = None
    ) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks is not None:
            kwargs["blocks"] = list(blocks)
        await self._call(self.client.chat_postEphemeral, **kwargs)

    async def publish_home(self, user: str, view: dict[str, Any]) -> None:
        await self._call(self.client.views_publish, user_id=user, view=view)

    async def permalink(self, channel: str, ts: str) -> str:
        response = await self._call(self.client.chat_getPermalink, channel=channel, message_ts=ts)
        return str(response.get("permalink", ""))

    async def open_dm(self, user: str) -> str:
        response = await self._call(self.client.conversations_open, users=user)
        return str(response["channel"]["id"])

    async def members(self, channel: str) -> list[str]:
        """Every member of `channel`, following pagination."""
        members: list[str] = []
        cursor = ""
        while True:
            response = await self._call(self.client.conversations_members, channel=channel, cursor=cursor, limit=1000)
            members.extend(str(m) for m in response.get("members", []))
            cursor = (response.get("response_metadata") or {}).get("next_cursor", "")
            if not cursor:
                return members

    async def user_names(self, user: str) -> tuple[str, str]:
        """(handle, display name) for a user, cached for an hour; empty strings if Slack will not say."""
        now = time.monotonic()
        cached = self._names.get(user)
        if cached and now - cached[0] < _USER_CACHE_SECONDS:
            return cached[1], cached[2]
        response = await self._call(self.client.users_info, user=user)
        info = response.get("user") or {}
        profile = info.get("profile") or {}
        handle = str(info.get("name", ""))
        name = str(profile.get("display_name") or profile.get("real_name") or info.get("real_name") or handle)
        self._names[user] = (now, handle, name)
        return handle, name
