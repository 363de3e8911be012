"""The discord.py client Rapport runs: the intents it needs, local endpoints, and a guarded gateway.

It knows nothing of the core: every message it sees goes to one `on_customer_message` callback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from connectors.discord.endpoints import RebasedHTTPClient

log = logging.getLogger(__name__)

# Discord's own waits on a 429 up to this long inline; longer ones surface as RateLimited to the outbox.
MAX_INLINE_RATE_LIMIT_WAIT = 30.0


def intents() -> discord.Intents:
    """Guild and DM messages with their content; no member list (another privileged intent we don't need)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True
    wanted.message_content = True
    return wanted


class RapportDiscordClient(discord.Client):
    def __init__(
        self,
        on_customer_message: Callable[[discord.Message], Awaitable[None]],
        *,
        on_status: Callable[[str], None] = lambda status: None,
        api_url: str | None = None,
        gateway_url: str | None = None,
        ready_timeout: float = 2.0,
    ) -> None:
        # Rapport never joins voice: the "PyNaCl/davey not installed" start-up warnings are noise here.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            intents=intents(),
            max_messages=None,  # no message cache: we never look a message up again
            chunk_guilds_at_startup=False,
            guild_ready_timeout=ready_timeout,
            max_ratelimit_timeout=MAX_INLINE_RATE_LIMIT_WAIT,
        )
        self._on_customer_message = on_customer_message
        self._on_status = on_status
        if api_url or gateway_url:
            # The state built in super().__init__ holds the HTTP client too: replace it in both places.
            self.http = RebasedHTTPClient(
                self.http.loop,
                api_url=api_url,
                gateway_url=gateway_url,
                max_ratelimit_timeout=MAX_INLINE_RATE_LIMIT_WAIT,
            )
            self._connection.http = self.http
        self._guard_parsers()

    def _guard_parsers(self) -> None:
        # discord.py parses each gateway event inside the socket loop; a malformed payload raising there
        # would take the whole connection down. Log and skip the event instead.
        parsers: dict[str, Callable[[Any], None]] = self._connection.parsers

        def guarded(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
            def run(data: Any) -> None:
                try:
                    parse(data)
                except Exception as exc:  # one bad event must not end the gateway session
                    log.warning("discord: skipped a malformed %s event (%s: %s)", event, type(exc).__name__, exc)

            return run

        for event, parse in list(parsers.items()):
            parsers[event] = guarded(event, parse)

    async def on_message(self, message: discord.Message) -> None:
        await self._on_customer_message(message)

    # discord.py reconnects on its own; these keep the connector's status honest meanwhile.
    async def on_disconnect(self) -> None:
        if not self.is_closed():
            self._on_status("reconnecting")

    async def on_resumed(self) -> None:
        self._on_status("connected")

    async def on_connect(self) -> None:
        self._on_status("connected")
