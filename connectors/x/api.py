"""The X API v2 calls Rapport makes, through tweepy's async client, returning JSON and rate headers.

tweepy's own response objects drop the `x-rate-limit-*` headers the poller paces itself by, so the
client returns raw aiohttp responses and this module reads them. Errors leave as `bot.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import tweepy.asynchronous
from yarl import URL

from bot.config import XSettings
from connectors.x.errors import Answer, map_error

log = logging.getLogger(__name__)

TWEEPY_HOST = "https://api.twitter.com"  # where tweepy sends every request
OFFICIAL_HOSTS = {"https://api.twitter.com", "https://api.x.com"}

TWEET_FIELDS = ["author_id", "conversation_id", "created_at", "referenced_tweets", "in_reply_to_user_id"]
USER_FIELDS = ["username", "name"]
DM_FIELDS = ["id", "text", "event_type", "created_at", "sender_id", "dm_conversation_id"]

# At DEBUG, tweepy logs request headers (the bearer token) and oauthlib the OAuth parameters (the access
# token): keep both loggers above DEBUG so no log level setting can put credentials in the logs.
for _noisy in ("tweepy", "oauthlib"):
    logging.getLogger(_noisy).setLevel(logging.INFO)


@dataclass(frozen=True, slots=True)
class Page:
    """One API answer: its JSON body and the response headers (rate-limit state)."""

    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


# The responses tweepy received during the current `XApi._call` (per task, so concurrent calls never mix).
_answers: ContextVar[list[aiohttp.ClientResponse] | None] = ContextVar("x_answers", default=None)


class _Session:
    """The aiohttp session tweepy uses, seen through: it notes each response for `XApi._call`, whose
    errors then map on the status X sent even when tweepy could not parse the body; and it sends
    tweepy's api.twitter.com requests to another base URL when one is set (a fake in tests)."""

    def __init__(self, session: aiohttp.ClientSession, base: str | None) -> None:
        self._session = session
        self._base = base.rstrip("/") if base else None

    @asynccontextmanager
    async def request(self, method: str, url: str | URL, **kwargs: Any) -> AsyncIterator[aiohttp.ClientResponse]:
        text = str(url)
        if self._base is not None and text.startswith(TWEEPY_HOST):
            rebased = self._base + text[len(TWEEPY_HOST) :]
            url = URL(rebased, encoded=True) if isinstance(url, URL) else rebased
        async with self._session.request(method, url, **kwargs) as response:
            seen = _answers.get()
            if seen is not None:
                seen.append(response)
            yield response

    async def close(self) -> None:
        await self._session.close()


async def _answer(response: aiohttp.ClientResponse) -> Answer:
    try:
        body = await response.text(errors="replace")
    except Exception:  # the body never arrived (connection cut): the status and headers still say enough
        body = ""
    return Answer(response.status, response.headers, body, response.content_type or "")


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


class XApi:
    """The handful of X endpoints the connector uses. `user_auth` picks OAuth 1.0a over the bearer token."""

    def __init__(self, settings: XSettings) -> None:
        self._settings = settings
        self.has_user_context = settings.access_token is not None and settings.consumer_key is not None
        self._client = tweepy.asynchronous.AsyncClient(
            bearer_token=_secret(settings.bearer_token),
            consumer_key=_secret(settings.consumer_key),
            consumer_secret=_secret(settings.consumer_secret),
            access_token=_secret(settings.access_token),
            access_token_secret=_secret(settings.access_token_secret),
            return_type=aiohttp.ClientResponse,
            wait_on_rate_limit=False,  # we wait ourselves, and say so in the status
        )
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            base = self._settings.api_url.rstrip("/")
            # OAuth 1.0a signs the URL tweepy built; rewriting it for X itself would break the signature.
            self._client.session = _Session(self._session, None if base in OFFICIAL_HOSTS else base)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, doing: str, method: Any, *args: Any, **kwargs: Any) -> Page:
        self._open()
        seen: list[aiohttp.ClientResponse] = []
        token = _answers.set(seen)
        try:
            response = await method(*args, **kwargs)
            body = await response.json(content_type=None)
        except Exception as exc:
            answer = await _answer(seen[-1]) if seen else None
            raise map_error(exc, doing, answer) from exc
        finally:
            _answers.reset(token)
        return Page(body if isinstance(body, dict) else {}, response.headers)

    @property
    def _read_user_auth(self) -> bool:
        # App-only bearer reads are pooled per app, not per user: prefer them for timelines when we have one.
        return self._settings.bearer_token is None

    async def me(self) -> Page:
        return await self._call("look up the account", self._client.get_me, user_auth=True)

    async def mentions(self, user_id: str, *, since_id: str | None, max_results: int, token: str | None) -> Page:
        params: dict[str, Any] = {
            "max_results": max_results,
            "tweet_fields": TWEET_FIELDS,
            "expansions": ["author_id"],
            "user_fields": USER_FIELDS,
            "user_auth": self._read_user_auth,
        }
        if since_id:
            params["since_id"] = since_id
        if token:
            params["pagination_token"] = token
        return await self._call("read mentions", self._client.get_users_mentions, user_id, **params)

    async def dm_events(self, *, max_results: int, token: str | None) -> Page:
        params: dict[str, Any] = {
            "max_results": max_results,
            "dm_event_fields": DM_FIELDS,
            "event_types": "MessageCreate",
            "expansions": ["sender_id"],
            "user_fields": USER_FIELDS,
            "user_auth": True,
        }
        if token:
            params["pagination_token"] = token
        return await self._call("read DMs", self._client.get_direct_message_events, **params)

    async def reply(self, text: str, in_reply_to: str | None) -> Page:
        doing = f"reply to tweet {in_reply_to}" if in_reply_to else "post a tweet"
        return await self._call(doing, self._client.create_tweet, text=text, in_reply_to_tweet_id=in_reply_to or None)

    async def direct_message(self, text: str, *, conversation_id: str | None, participant_id: str | None) -> Page:
        doing = f"DM user {participant_id}" if participant_id else f"DM conversation {conversation_id}"
        return await self._call(
            doing,
            self._client.create_direct_message,
            text=text,
            dm_conversation_id=conversation_id,
            participant_id=participant_id,
        )
