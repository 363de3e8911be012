"""A fake Slack Web API (and Socket Mode endpoint) on 127.0.0.1, for the real slack_sdk client.

It answers the methods Rapport uses, records every call, keeps posted messages so `chat.update` can be
checked, and can serve a Socket Mode websocket: `apps.connections.open` returns this server's own
ws:// URL, just as Slack returns its own. Tests push envelopes with `send_envelope` and read the ack.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import ClientSession, WSMsgType, web

from tests.fakes.sinks import serve_local

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0001"


def signed_headers(
    body: str | bytes,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers Slack would send with `body`, signed with `secret` (v0 scheme)."""
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + raw
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": content_type}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str


@dataclass
class FakeSlack:
    """Fake Slack. `users` maps user id -> profile fields; `members` maps channel -> member ids."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # method -> list of canned (status, body, headers) answers used once each, before normal handling
    failures: dict[str, list[tuple[int, dict[str, Any], dict[str, str], str | None]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._ts = itertools.count(1)
        self._changed = asyncio.Event()
        self._socket: web.WebSocketResponse | None = None
        self._socket_ready = asyncio.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket", self._ws)
        self._runner, self.port = await serve_local(app)
        return self.api_url

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- inspection --------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, wait: float = 15.0, **match: Any) -> list[dict[str, Any]]:
        """Wait until `method` was called `count` times with args matching `match`; return those calls."""

        def found() -> list[dict[str, Any]]:
            return [a for a in self.calls_to(method) if all(a.get(k) == v for k, v in match.items())]

        await self._until(
            lambda: len(found()) >= count, wait, lambda: f"{method} {match} called {len(found())} times, wanted {count}"
        )
        return found()

    def card_ts(self, channel: str) -> str | None:
        """The ts of the first escalation card (a message with a Claim button) posted in `channel`.

        Not simply the first message there: on the summary weekday `rapport run` posts the weekly
        root-cause summary to the triage channel first.
        """
        for (ch, ts), message in self.messages.items():
            if ch == channel and _is_card(message):
                return ts
        return None

    def cards(self, channel: str) -> list[dict[str, Any]]:
        """Every chat.postMessage call that posted an escalation card in `channel`."""
        return [c for c in self.calls_to("chat.postMessage") if c.get("channel") == channel and _is_card(c)]

    async def wait_for_card(self, channel: str, wait: float = 30.0) -> str:
        await self._until(lambda: self.card_ts(channel) is not None, wait, lambda: f"no escalation card in {channel}")
        return self.card_ts(channel)  # type: ignore[return-value]

    async def _until(self, done: Callable[[], bool], wait: float, failure: Callable[[], str]) -> None:
        """Wake on every recorded call until `done()`, or fail after `wait` seconds saying what was seen."""
        deadline = asyncio.get_running_loop().time() + wait
        while not done():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{failure()}; calls: {[c.method for c in self.calls]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def fail_next(
        self,
        method: str,
        status: int = 200,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        channel: str | None = None,
    ) -> None:
        """Answer the next call of `method` (to `channel` only, if given) with this failure."""
        self.failures.setdefault(method, []).append(
            (status, body or {"ok": False, "error": "fatal_error"}, headers or {}, channel)
        )

    # -- Web API -----------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(parse_qsl(raw.decode(), keep_blank_values=True))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or args.pop("token", "")
        self.calls.append(Call(method, args, token))
        self._changed.set()
        canned = self.failures.get(method, [])
        for i, (status, body, headers, channel) in enumerate(canned):
            if channel is None or channel == args.get("channel"):
                del canned[i]
                return web.json_response(body, status=status, headers=headers)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        body = handler(args) if handler else {"ok": True}
        return web.json_response(body)

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "rapport",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        ts = self._next_ts()
        message = {k: v for k, v in args.items() if k != "channel"} | {"ts": ts, "user": BOT_USER_ID}
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (args.get("channel", ""), args.get("ts", ""))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key].update({k: v for k, v in args.items() if k not in ("channel", "ts")})
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args.get("message_ts", "")).replace(".", "")
        return {
            "ok": True,
            "channel": args.get("channel"),
            "permalink": f"https://fake.slack.com/archives/{args.get('channel')}/p{ts}",
        }

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = args.get("user", "")
        profile = self.users.get(uid)
        if profile is None:
            return {"ok": False, "error": "user_not_found"}
        return {
            "ok": True,
            "user": {
                "id": uid,
                "name": profile.get("name", uid),
                "real_name": profile.get("real_name", ""),
                "profile": {"display_name": profile.get("display_name", ""), "real_name": profile.get("real_name", "")},
            },
        }

    def _m_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        if channel not in self.members:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "members": list(self.members[channel]), "response_metadata": {"next_cursor": ""}}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        return {"ok": True, "channel": {"id": "D" + users.removeprefix("U")}}

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    # -- Socket Mode -------------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        self._socket_ready.set()
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            future = self._acks.pop(data.get("envelope_id", ""), None)
            if future is not None and not future.done():
                future.set_result(data)
        self._socket_ready.clear()
        return ws

    async def wait_socket(self, wait: float = 15.0) -> None:
        await asyncio.wait_for(self._socket_ready.wait(), wait)

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int | None = None, wait: float = 15.0
    ) -> dict[str, Any]:
        """Push one Socket Mode envelope (events_api, interactive, slash_commands) and return the app's ack."""
        await self.wait_socket(wait)
        assert self._socket is not None
        envelope_id = str(uuid.uuid4())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        envelope: dict[str, Any] = {
            "type": kind,
            "envelope_id": envelope_id,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if retry_attempt is not None:
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": "timeout"}
        await self._socket.send_json(envelope)
        return await asyncio.wait_for(future, wait)


# -- what Slack sends to the app --------------------------------------------------------------------


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """An Events API envelope around one event."""
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        "event": event,
    }


def message_event(
    channel: str, user: str, text: str, ts: str, thread_ts: str | None = None, channel_type: str = "channel"
) -> dict[str, Any]:
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "channel_type": channel_type,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def block_actions(
    user: str, channel: str, message_ts: str, action_id: str, value: str | None = None, selected: str | None = None
) -> dict[str, Any]:
    """A `block_actions` payload for one click on a message in `channel`."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "type": "button", "action_ts": "1.2"}
    if value is not None:
        action["value"] = value
    if selected is not None:
        action |= {
            "type": "static_select",
            "selected_option": {"value": selected, "text": {"type": "plain_text", "text": selected}},
        }
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "1.2.3",
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "message": {"ts": message_ts},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [action],
    }


def slash_command(user: str, text: str, command: str = "/rapport", channel: str = "C_ANY") -> dict[str, str]:
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "channel_id": channel,
        "user_id": user,
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "response_url": "http://127.0.0.1:9/unused",
        "trigger_id": "1.2.3",
    }


class SlackSender:
    """Posts signed requests to an app's /slack/events, as Slack's servers would."""

    def __init__(self, url: str, secret: str = SIGNING_SECRET) -> None:
        self.url = url
        self.secret = secret

    async def post(
        self,
        body: str,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, str]:
        signed = signed_headers(body, secret or self.secret, timestamp, content_type) | (headers or {})
        async with (
            ClientSession() as session,
            session.post(self.url, data=body.encode(), headers=signed) as resp,
        ):
            return resp.status, await resp.text()

    async def event(self, event: dict[str, Any], event_id: str | None = None, retry: int | None = None) -> int:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        status, _ = await self.post(json.dumps(event_callback(event, event_id)), headers=headers)
        return status

    async def interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def command(self, fields: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, text = await self.post(urlencode(fields), "application/x-www-form-urlencoded")
        return status, (json.loads(text) if text.startswith("{") else {"text": text})


def _is_card(message: dict[str, Any]) -> bool:
    """An escalation card is the message with a Claim button."""
    return "rapport.claim" in json.dumps(message.get("blocks", []))
