"""The Discord connector: runs the gateway client, hands customer messages to the sink, sends replies."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

import discord

from bot.config import DiscordSettings
from bot.domain import OutboundReply
from bot.errors import AuthFailed, ConnectorError, DeliveryFailed
from bot.text import split_parts
from connectors.base import Sink, StateStore
from connectors.discord.client import RapportDiscordClient
from connectors.discord.errors import NAME, map_error
from connectors.discord.send import MESSAGE_LIMIT, send_reply
from connectors.discord.translate import Scope, to_inbound, wanted
from connectors.parts import send_in_parts

log = logging.getLogger(__name__)

SEEN_LIMIT = 10_000  # message ids remembered against gateway replays; the core dedupes for good
SINK_ATTEMPTS = 3  # Discord never re-sends an event, so a busy core gets a few tries before we give up


def _down(error: ConnectorError) -> str:
    return "down: " + str(error).removeprefix(f"{NAME}: ")


class DiscordConnector:
    """Listens in the configured guilds, mentions and DMs; replies by message reference or DM."""

    def __init__(
        self,
        settings: DiscordSettings,
        state: StateStore,
        *,
        ready_timeout: float = 2.0,
        start_timeout: float = 60.0,
        sink_retry_delay: float = 1.0,
    ) -> None:
        self._settings = settings
        self._state = state  # which parts of a long reply went out (connectors/parts.py)
        self._ready_timeout = ready_timeout
        self._start_timeout = start_timeout
        self._sink_retry_delay = sink_retry_delay
        self._client: RapportDiscordClient | None = None
        self._runner: asyncio.Task[None] | None = None
        self._sink: Sink | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._in_flight: set[int] = set()
        self._dm_channels: dict[int, int] = {}  # user id -> DM channel id, learnt from their DMs
        self._status = "stopped"
        self._failure: ConnectorError | None = None

    @property
    def name(self) -> str:
        return NAME

    @property
    def status(self) -> str:
        return self._status

    @property
    def failure(self) -> ConnectorError | None:
        """The fatal error that stopped the connector after start, if any."""
        return self._failure

    async def start(self, sink: Sink) -> None:
        """Log in, open the gateway and return once READY; raises AuthFailed or ConnectorError."""
        if self._settings.token is None:
            raise AuthFailed("no token configured ([discord] token or DISCORD_TOKEN)", connector=NAME)
        if self._client is not None:
            await self.stop()  # a restart after a failure: never two gateway sessions at once
        self._sink = sink
        self._failure = None
        self._status = "connecting"
        client = RapportDiscordClient(
            self._on_message,
            on_status=self._set_status,
            api_url=self._settings.api_url,
            gateway_url=self._settings.gateway_url,
            ready_timeout=self._ready_timeout,
        )
        self._client = client
        try:
            await client.login(self._settings.token.get_secret_value())
        except Exception as exc:
            await client.close()
            error = map_error(exc, "log in")
            self._status = _down(error)
            raise error from exc
        self._runner = asyncio.create_task(self._run(client), name="discord-gateway")
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({ready, self._runner}, timeout=self._start_timeout, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if self._runner in done:
                error = self._failure or ConnectorError("gateway closed during start", connector=NAME)
            else:
                error = ConnectorError(f"gateway not ready after {self._start_timeout:.0f}s", connector=NAME)
            await self.stop()
            self._status = _down(error)
            raise error
        self._status = "connected"
        log.info("discord: connected as %s", client.user)

    def _set_status(self, status: str) -> None:
        if self._status != "connecting":  # start() says "connected" itself, once READY is through
            self._status = status

    async def _run(self, client: RapportDiscordClient) -> None:
        """The gateway loop. discord.py reconnects by itself; what escapes it is fatal."""
        try:
            await client.connect(reconnect=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Kept rather than raised in the task: `wait()` raises it to whoever supervises us.
            self._failure = map_error(exc, "gateway")
            self._status = _down(self._failure)
            log.error("discord: connector stopped: %s", self._failure)

    async def wait(self) -> None:
        """Return when the gateway loop ends (after `stop()`); raise the fatal error that ended it, if any."""
        if self._runner is not None:
            await asyncio.wait({self._runner})
        if self._failure is not None:
            raise self._failure

    async def stop(self) -> None:
        client, runner = self._client, self._runner
        self._runner = None
        if client is not None:
            await client.close()
        if runner is not None and not runner.done():
            runner.cancel()
        if runner is not None:
            await asyncio.gather(runner, return_exceptions=True)
        self._status = "stopped"

    async def send(self, reply: OutboundReply) -> str:
        client = self._client
        if client is None or client.is_closed():
            raise DeliveryFailed("not connected", retryable=True, connector=NAME)
        force_dm = self._settings.reply_mode == "dm"

        parts = split_parts(reply.text, MESSAGE_LIMIT)

        async def post(text: str, previous: str | None) -> str:
            # Only the first part quotes the customer; the rest follow it in the same channel. The nonce
            # is the reply's and the part's (parts are numbered, so distinct): a retry after a lost
            # response gets the same message back instead of a second post.
            nonce = f"r{reply.id}p{parts.index(text)}"
            return await send_reply(
                client,
                reply,
                text,
                dm_channels=self._dm_channels,
                force_dm=force_dm,
                quote=previous is None,
                nonce=nonce,
            )

        return await send_in_parts(self._state, reply.id, parts, post)

    async def _on_message(self, message: discord.Message) -> None:
        client = self._client
        if client is None or client.user is None or self._sink is None:
            return
        scope = Scope(
            me_id=client.user.id,
            guild_ids=frozenset(self._settings.guild_ids),
            channel_ids=frozenset(self._settings.channel_ids),
        )
        try:
            if not wanted(message, scope):
                return
            inbound = to_inbound(message, client.user.id)
        except Exception as exc:  # a payload shape we did not foresee: skip it, keep listening
            log.warning("discord: skipped an unreadable message (%s)", type(exc).__name__)
            return
        if inbound is None:
            return
        message_id = int(inbound.external_id)
        if message_id in self._seen or message_id in self._in_flight:
            log.info("discord: message %s seen already (gateway replay), not ingested again", message_id)
            return
        if inbound.direct:
            self._dm_channels[int(inbound.author_id)] = int(inbound.conversation_id)
        self._in_flight.add(message_id)
        try:
            for attempt in range(1, SINK_ATTEMPTS + 1):
                try:
                    await self._sink(inbound)
                except Exception as exc:
                    log.error(
                        "discord: core failed on message %s (attempt %d/%d): %s",
                        message_id,
                        attempt,
                        SINK_ATTEMPTS,
                        exc,
                    )
                    if attempt < SINK_ATTEMPTS:
                        await asyncio.sleep(self._sink_retry_delay * attempt)
                    continue
                self._remember(message_id)
                return
        finally:
            self._in_flight.discard(message_id)

    def _remember(self, message_id: int) -> None:
        self._seen[message_id] = None
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
