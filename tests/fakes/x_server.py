"""A fake X API v2 on 127.0.0.1 for the real tweepy async client: mentions, DMs, tweets, rate limits.

async with FakeX() as fake:
    settings = XSettings(bearer_token=..., api_url=fake.base_url, user_id=fake.account_id, ...)
    fake.mention("@acme my parcel is lost")
    [post] = await fake.wait_for_posts(1)
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.fakes.sinks import serve_local

TWITTER_EPOCH_MS = 1288834974657

ACCOUNT_ID = "1500000000000000001"
ACCOUNT = {"id": ACCOUNT_ID, "username": "acme", "name": "Acme Support"}
CUSTOMER = {"id": "1500000000000000100", "username": "dana_k", "name": "Dana K"}

_seq = itertools.count()


def x_escape(text: str) -> str:
    """Text as X API v2 serves it: &, < and > as HTML entities (quotes are left alone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def snowflake() -> str:
    """A fresh X id carrying the current time, as X's are (so later ids are bigger)."""
    return str(((int(time.time() * 1000) - TWITTER_EPOCH_MS) << 22) + (next(_seq) % 4096))


# Error bodies as X and the proxies in front of it send them; only the first is JSON with its type.
BODY_KINDS = ("json", "text", "empty", "empty-json", "html")
_HTML = (
    "<!DOCTYPE html><html><head><title>{status} {title}</title></head>"
    "<body><h1>{title}</h1><p>Please try again later.</p></body></html>"
)


@dataclass
class Failure:
    status: int
    reason: str  # what X says: the JSON `detail`, or the whole plain-text body
    kind: str = "json"
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        phrase = HTTPStatus(self.status).phrase
        if self.kind == "json":
            body = {"title": phrase, "detail": self.reason, "type": "about:blank", "status": self.status}
            return web.json_response(body, status=self.status, headers=self.headers)
        if self.kind == "text":
            return web.Response(text=self.reason, status=self.status, headers=self.headers)
        if self.kind == "html":
            page = _HTML.format(status=self.status, title=phrase)
            return web.Response(text=page, content_type="text/html", status=self.status, headers=self.headers)
        response = web.Response(body=b"", status=self.status, headers=self.headers)
        if self.kind == "empty-json":
            response.content_type = "application/json"
        return response


@dataclass
class Credentials:
    bearer_token: str = "fake-bearer"
    consumer_key: str = "fake-consumer-key"
    consumer_secret: str = "fake-consumer-secret"
    access_token: str = "fake-access-token"
    access_token_secret: str = "fake-access-secret"


class FakeX:
    """The fake server. `requests` and `posts` record what the client did."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        self.credentials = credentials or Credentials()
        self.account_id = ACCOUNT_ID
        self.tweets: list[dict[str, Any]] = []  # mentions of the account, oldest first
        self.dm_events: list[dict[str, Any]] = []  # oldest first
        self.users: dict[str, dict[str, Any]] = {ACCOUNT_ID: ACCOUNT, CUSTOMER["id"]: CUSTOMER}
        self.posts: list[dict[str, Any]] = []  # tweets and DMs the client created: {"kind", "id", "text", ...}
        self.requests: list[dict[str, Any]] = []  # {"method", "path", "query", "at"}
        self.rate_limits: dict[str, tuple[int, float]] = {}  # endpoint -> (remaining, reset epoch)
        self.dm_access = True  # False: like an access level without DM endpoints (403)
        self.down = False  # True: every call answers 503
        self._failures: dict[str, list[Failure]] = {}
        self._posted = asyncio.Event()
        self._read = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeX:
        app = web.Application()
        app.router.add_get("/2/users/me", self._me)
        app.router.add_get("/2/users/{id}/mentions", self._mentions)
        app.router.add_get("/2/dm_events", self._dm_events)
        app.router.add_post("/2/tweets", self._create_tweet)
        app.router.add_post("/2/dm_conversations/with/{participant}/messages", self._create_dm)
        app.router.add_post("/2/dm_conversations/{conversation}/messages", self._create_dm)
        self._runner, port = await serve_local(app)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests call -----------------------------------------------------------------------------------

    def mention(
        self, text: str, *, author: dict[str, Any] = CUSTOMER, conversation_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A new tweet mentioning the account, whose author wrote `text`; returns it as X serves it (escaped)."""
        self.users[author["id"]] = author
        tweet_id = snowflake()
        tweet = {
            "id": tweet_id,
            "text": x_escape(text),
            "author_id": author["id"],
            "conversation_id": conversation_id or tweet_id,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "edit_history_tweet_ids": [tweet_id],
            **extra,
        }
        self.tweets.append(tweet)
        return tweet

    def dm(self, text: str, *, sender: dict[str, Any] = CUSTOMER) -> dict[str, Any]:
        """A new DM to the account whose sender wrote `text`; returns the event as X serves it (escaped)."""
        self.users[sender["id"]] = sender
        event = {
            "id": snowflake(),
            "event_type": "MessageCreate",
            "text": x_escape(text),
            "sender_id": sender["id"],
            "dm_conversation_id": f"{min(sender['id'], ACCOUNT_ID)}-{max(sender['id'], ACCOUNT_ID)}",
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        self.dm_events.append(event)
        return event

    def fail_next(
        self,
        endpoint: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
        body: str = "json",
        reason: str | None = None,
    ) -> None:
        """Answer the next `times` calls to `endpoint` ("mentions", "dm_events", "tweets", "dm", "me") with `status`.

        `body` is one of BODY_KINDS; `reason` what X says in it ("Rate limit exceeded" for a 429 by default).
        """
        assert body in BODY_KINDS, body
        said = reason or ("Rate limit exceeded" if status == 429 else f"fake {status}")
        failures = (Failure(status, said, body, headers or {}) for _ in range(times))
        self._failures.setdefault(endpoint, []).extend(failures)

    def reads(self, endpoint: str = "mentions") -> list[dict[str, Any]]:
        return [r for r in self.requests if r["endpoint"] == endpoint]

    async def wait_for_posts(self, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(within):
            while len(self.posts) < count:
                self._posted.clear()
                await self._posted.wait()
        return self.posts

    async def wait_for_reads(self, count: int, endpoint: str = "mentions", within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while len(self.reads(endpoint)) < count:
                self._read.clear()
                await self._read.wait()

    # -- plumbing ------------------------------------------------------------------------------------------

    def _user_auth(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        c = self.credentials
        return (
            header.startswith("OAuth ")
            and f'oauth_consumer_key="{c.consumer_key}"' in header
            and f'oauth_token="{c.access_token}"' in header
        )

    def _admit(self, request: web.Request, endpoint: str, *, user_only: bool = False) -> web.Response | None:
        """Record the call; an error response when it must fail, else None."""
        self.requests.append(
            {
                "endpoint": endpoint,
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "at": time.time(),
            }
        )
        self._read.set()
        bearer = request.headers.get("Authorization") == f"Bearer {self.credentials.bearer_token}"
        if not (self._user_auth(request) or (bearer and not user_only)):
            return self._error(401, "Unauthorized", {})
        if self.down:
            return self._error(503, "Service Unavailable", {})
        queued = self._failures.get(endpoint)
        if queued:
            return queued.pop(0).response()
        return None

    @staticmethod
    def _error(status: int, title: str, headers: dict[str, str]) -> web.Response:
        body = {"title": title, "detail": title, "type": "about:blank", "status": status}
        return web.json_response(body, status=status, headers=headers)

    def _limits(self, endpoint: str) -> dict[str, str]:
        remaining, reset = self.rate_limits.get(endpoint, (100_000, time.time() + 900))
        return {
            "x-rate-limit-limit": "100000",
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(reset)),
        }

    def _page(self, items: list[dict[str, Any]], request: web.Request, user_key: str) -> dict[str, Any]:
        newest_first = list(reversed(items))
        since = request.query.get("since_id")
        if since:
            # Malformed ids (planted by tests) go through: the client must cope with them.
            newest_first = [i for i in newest_first if not str(i["id"]).isdigit() or int(i["id"]) > int(since)]
        size = int(request.query.get("max_results", "10"))
        start = int(request.query.get("pagination_token", "0") or 0)
        page = newest_first[start : start + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if start + size < len(newest_first):
            meta["next_token"] = str(start + size)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            authors = {i.get(user_key) for i in page}
            body["includes"] = {"users": [self.users[a] for a in authors if a in self.users]}
        return body

    # -- endpoints -------------------------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        return self._admit(request, "me", user_only=True) or web.json_response({"data": ACCOUNT})

    async def _mentions(self, request: web.Request) -> web.Response:
        refused = self._admit(request, "mentions")
        if refused:
            return refused
        if request.match_info["id"] != self.account_id:
            return self._error(404, "Not Found", {})
        body = self._page(self.tweets, request, "author_id")
        return web.json_response(body, headers=self._limits("mentions"))

    async def _dm_events(self, request: web.Request) -> web.Response:
        refused = self._admit(request, "dm_events", user_only=True)
        if refused:
            return refused
        if not self.dm_access:
            return self._error(403, "Forbidden", {})
        body = self._page(self.dm_events, request, "sender_id")
        return web.json_response(body, headers=self._limits("dm_events"))

    async def _create_tweet(self, request: web.Request) -> web.Response:
        refused = self._admit(request, "tweets", user_only=True)
        if refused:
            return refused
        body = await request.json()
        tweet_id = snowflake()
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        self.posts.append({"kind": "tweet", "id": tweet_id, "text": body.get("text"), "in_reply_to_tweet_id": reply_to})
        self._posted.set()
        return web.json_response(
            {"data": {"id": tweet_id, "text": body.get("text"), "edit_history_tweet_ids": [tweet_id]}}, status=201
        )

    async def _create_dm(self, request: web.Request) -> web.Response:
        refused = self._admit(request, "dm", user_only=True)
        if refused:
            return refused
        body = await request.json()
        participant = request.match_info.get("participant")
        conversation = request.match_info.get("conversation") or f"{ACCOUNT_ID}-{participant}"
        event_id = snowflake()
        self.posts.append(
            {
                "kind": "dm",
                "id": event_id,
                "text": body.get("text"),
                "participant_id": participant,
                "dm_conversation_id": conversation,
            }
        )
        self._posted.set()
        return web.json_response({"data": {"dm_conversation_id": conversation, "dm_event_id": event_id}}, status=201)
