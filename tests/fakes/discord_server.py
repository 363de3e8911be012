"""A fake Discord on 127.0.0.1: the REST calls and the gateway session the real discord.py client uses.

REST (under /api/v10): GET /users/@me, GET /oauth2/applications/@me, POST /channels/{id}/messages,
POST /users/@me/channels. Gateway (/gateway): HELLO, heartbeat ACK, IDENTIFY -> READY + GUILD_CREATE,
RESUME -> RESUMED, and whatever dispatches a test pushes (MESSAGE_CREATE, ...).

    async with FakeDiscord() as fake:
        settings = DiscordSettings(token=fake.token, api_url=fake.api_url, gateway_url=fake.gateway_url)
        await fake.message_create("my order never came", author=CUSTOMER)
        [post] = await fake.wait_for_posts(1)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.sinks import serve_local

DISCORD_EPOCH_MS = 1420070400000
MESSAGE_CONTENT = 1 << 15

BOT_ID = 1100000000000000001
APP_ID = 1100000000000000002
GUILD_ID = 1100000000000000010
CHANNEL_ID = 1100000000000000020  # #support
OTHER_CHANNEL_ID = 1100000000000000021  # #general
THREAD_ID = 1100000000000000030  # a thread under #support
CUSTOMER_ID = 1100000000000000100
SUPPORT_ROLE_ID = 1100000000000000040  # @Support
ALICE_ID = 1100000000000000101  # another member, mentioned by customers

_ids = itertools.count()


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly application/json (no charset).
    response = web.Response(body=json.dumps(body).encode(), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


def snowflake() -> int:
    """A fresh Discord id carrying the current time, as Discord's are."""
    return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) + (next(_ids) % 4096)


def user(user_id: int, username: str, *, bot: bool = False, global_name: str | None = None) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": username,
        "discriminator": "0",
        "global_name": global_name,
        "avatar": None,
        "bot": bot,
    }


BOT_USER = user(BOT_ID, "rapport", bot=True)
CUSTOMER = user(CUSTOMER_ID, "dana", global_name="Dana")
ALICE = user(ALICE_ID, "alice", global_name="Alice")


def role(role_id: int, name: str, position: int = 1) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": "0",
        "managed": False,
        "mentionable": True,
        "flags": 0,
    }


def mentioned(who: dict[str, Any], *, nick: str | None = None) -> dict[str, Any]:
    """A user as a guild message's `mentions` lists them: with their partial member."""
    return {
        **who,
        # Real partial members carry `flags`; discord.py drops the whole mentions list without it.
        "member": {
            "roles": [],
            "nick": nick,
            "joined_at": datetime.now(UTC).isoformat(),
            "deaf": False,
            "mute": False,
            "flags": 0,
        },
    }


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeDiscord:
    """The fake server. Everything it was asked is recorded for assertions."""

    def __init__(self, *, token: str = "fake-discord-token", privileged_intents: bool = True) -> None:
        self.token = token
        self.privileged_intents = privileged_intents  # False: like an app without message content enabled
        self.heartbeat_interval_ms = 30_000
        self.channels: dict[int, dict[str, Any]] = {
            CHANNEL_ID: self._text_channel(CHANNEL_ID, "support"),
            OTHER_CHANNEL_ID: self._text_channel(OTHER_CHANNEL_ID, "general"),
        }
        self.threads: dict[int, dict[str, Any]] = {
            THREAD_ID: {
                "id": str(THREAD_ID),
                "type": 11,
                "guild_id": str(GUILD_ID),
                "parent_id": str(CHANNEL_ID),
                "name": "order 1234",
                "owner_id": str(CUSTOMER_ID),
                "message_count": 1,
                "member_count": 1,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "locked": False,
                    "archive_timestamp": datetime.now(UTC).isoformat(),
                },
            },
        }
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.posted: list[dict[str, Any]] = []  # bodies of successful POST /channels/{id}/messages, plus ids
        self.requests: list[tuple[str, str, float]] = []  # (method, path, monotonic time)
        self.identifies = 0
        self.resumes = 0
        self._failures: list[Failure] = []
        self._lose_responses = 0  # create the message, then answer 503 as if the response was lost
        self._by_nonce: dict[tuple[int, str], dict[str, Any]] = {}  # enforce_nonce: (channel, nonce) -> message
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = 0
        self._session_id = "fake-session"
        self._posted_event = asyncio.Event()
        self._session_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_post("/api/v10/channels/{channel_id}/messages", self._create_message)
        app.router.add_post("/api/v10/users/@me/channels", self._create_dm)
        app.router.add_get("/gateway", self._gateway)
        self._runner, port = await serve_local(app)
        self.base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/gateway"

    # -- what tests call -----------------------------------------------------------------------------------

    def fail_next_post(self, status: int, *, retry_after: float | None = None, code: int = 0, times: int = 1) -> None:
        """Make the next `times` message posts fail: 429 with `retry_after`, or any status with an error code."""
        for _ in range(times):
            if status == 429:
                body = {"message": "You are being rate limited.", "retry_after": retry_after or 0.1, "global": False}
                # discord.py treats a 429 without Via as a Cloudflare ban: real Discord 429s carry it.
                headers = {"Via": "1.1 google", "Retry-After": str(retry_after or 0.1), "X-RateLimit-Scope": "user"}
                self._failures.append(Failure(429, body, headers))
            else:
                self._failures.append(Failure(status, {"message": f"error {status}", "code": code}))

    def lose_next_response(self, times: int = 1) -> None:
        """Post the next message(s) but answer 503, as when the response is lost on the way back."""
        self._lose_responses += times

    def dm_channel_for(self, user_id: int) -> int:
        if user_id not in self.dm_channels:
            self.dm_channels[user_id] = snowflake()
        return self.dm_channels[user_id]

    def message(
        self,
        content: str,
        *,
        author: dict[str, Any] = CUSTOMER,
        channel_id: int = CHANNEL_ID,
        dm: bool = False,
        message_id: int | None = None,
        mentions: list[dict[str, Any]] | None = None,
        mention_roles: list[int] | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload as Discord sends it (DMs carry no guild_id)."""
        payload: dict[str, Any] = {
            "id": str(message_id or snowflake()),
            "channel_id": str(channel_id),
            "author": author,
            "content": content,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions or [],
            "mention_roles": [str(r) for r in mention_roles or ()],
            "attachments": attachments or [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        if dm:
            payload["channel_id"] = str(self.dm_channel_for(int(author["id"])))
        else:
            payload["guild_id"] = str(GUILD_ID)
            payload["member"] = {"roles": [], "joined_at": datetime.now(UTC).isoformat(), "deaf": False, "mute": False}
        return payload

    async def message_create(self, content: str, **kwargs: Any) -> dict[str, Any]:
        """Push a customer message through the gateway; returns the payload sent."""
        payload = self.message(content, **kwargs)
        await self.dispatch("MESSAGE_CREATE", payload)
        return payload

    async def dispatch(self, event: str, data: Any) -> None:
        """Send one gateway dispatch to every connected client."""
        self._seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": self._seq, "d": data})
        for ws in list(self._sockets):
            if not ws.closed:
                await ws.send_str(frame)

    async def wait_for_sessions(self, count: int, within: float = 10.0) -> None:
        """Wait until clients have opened (IDENTIFY) or resumed (RESUME) `count` sessions in all."""
        async with asyncio.timeout(within):
            while self.identifies + self.resumes < count:
                self._session_event.clear()
                await self._session_event.wait()

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway socket as a network blip would; the client should reconnect and RESUME."""
        for ws in list(self._sockets):
            await ws.close(code=code)

    async def wait_for_posts(self, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(within):
            while len(self.posted) < count:
                self._posted_event.clear()
                await self._posted_event.wait()
        return self.posted

    # -- REST ------------------------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        self.requests.append((request.method, request.path, time.monotonic()))
        return request.headers.get("Authorization") == f"Bot {self.token}"

    @staticmethod
    def _unauthorised() -> web.Response:
        return _json({"message": "401: Unauthorized", "code": 0}, status=401)

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        return _json({**BOT_USER, "verified": True, "mfa_enabled": False, "flags": 0})

    async def _application(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        flags = (1 << 19) if self.privileged_intents else 0  # GATEWAY_MESSAGE_CONTENT_LIMITED
        return _json(
            {
                "id": str(APP_ID),
                "name": "Rapport",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": CUSTOMER,
                "verify_key": "0" * 64,
                "flags": flags,
                "rpc_origins": [],
                "team": None,
            }
        )

    def _known_channel(self, channel_id: int) -> bool:
        return channel_id in self.channels or channel_id in self.threads or channel_id in self.dm_channels.values()

    async def _create_message(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        if self._failures:
            failure = self._failures.pop(0)
            return _json(failure.body, status=failure.status, headers=failure.headers)
        channel_id = int(request.match_info["channel_id"])
        if not self._known_channel(channel_id):
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        body = await request.json()
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce and (channel_id, str(nonce)) in self._by_nonce:
            # Discord: a nonce seen from this author in the last few minutes returns that message again.
            return _json(self._by_nonce[(channel_id, str(nonce))])
        message = self.message(body.get("content", ""), author=BOT_USER, channel_id=channel_id)
        message["channel_id"] = str(channel_id)
        if channel_id in self.dm_channels.values():
            message.pop("guild_id", None)
            message.pop("member", None)
        reference = body.get("message_reference")
        if reference:
            message["type"] = 19  # REPLY
            message["message_reference"] = {**reference, "channel_id": str(channel_id)}
        self.posted.append(
            {
                "id": message["id"],
                "channel_id": channel_id,
                "content": body.get("content"),
                "message_reference": reference,
                "allowed_mentions": body.get("allowed_mentions"),
                "nonce": nonce,
            }
        )
        if nonce:
            self._by_nonce[(channel_id, str(nonce))] = message
        self._posted_event.set()
        if self._lose_responses:
            self._lose_responses -= 1
            return _json({"message": "upstream connect error", "code": 0}, status=503)
        return _json(message)

    async def _create_dm(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        body = await request.json()
        recipient = int(body["recipient_id"])
        return _json(
            {
                "id": str(self.dm_channel_for(recipient)),
                "type": 1,
                "last_message_id": None,
                "recipients": [user(recipient, f"user{recipient}")],
            }
        )

    # -- gateway ---------------------------------------------------------------------------------------------

    @staticmethod
    def _text_channel(channel_id: int, name: str) -> dict[str, Any]:
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
        }

    def _guild(self) -> dict[str, Any]:
        return {
            "id": str(GUILD_ID),
            "name": "Acme",
            "icon": None,
            "owner_id": str(CUSTOMER_ID),
            "unavailable": False,
            "member_count": 2,
            "large": False,
            "features": [],
            "roles": [role(GUILD_ID, "@everyone", 0), role(SUPPORT_ROLE_ID, "Support")],
            "emojis": [],
            "stickers": [],
            "members": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "channels": list(self.channels.values()),
            "threads": list(self.threads.values()),
            "joined_at": datetime.now(UTC).isoformat(),
            "verification_level": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
        }

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                msg = json.loads(frame.data)
                op = msg.get("op")
                if op == 1:
                    await ws.send_json({"op": 11})
                elif op == 2:
                    await self._identify(ws, msg["d"])
                elif op == 6:
                    self.resumes += 1
                    self._session_event.set()
                    self._seq += 1
                    await ws.send_json({"op": 0, "t": "RESUMED", "s": self._seq, "d": {}})
        finally:
            self._sockets.remove(ws)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        if int(data.get("intents", 0)) & MESSAGE_CONTENT and not self.privileged_intents:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.identifies += 1
        self._session_event.set()
        self._seq += 1
        ready = {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": self._session_id,
            "resume_gateway_url": self.gateway_url,
            "private_channels": [],
            "relationships": [],
            "application": {"id": str(APP_ID), "flags": 0},
            "shard": [0, 1],
        }
        await ws.send_json({"op": 0, "t": "READY", "s": self._seq, "d": ready})
        self._seq += 1
        await ws.send_json({"op": 0, "t": "GUILD_CREATE", "s": self._seq, "d": self._guild()})
