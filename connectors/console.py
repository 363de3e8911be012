"""Talking to the bot as a customer in a terminal (`rapport chat`)."""

from __future__ import annotations

import asyncio
import getpass
import sys
import uuid
from collections.abc import Callable

from bot.domain import InboundMessage, OutboundReply
from connectors.base import Sink

NAME = "console"


class ConsoleConnector:
    """Reads lines from stdin as one customer's messages; prints replies."""

    def __init__(
        self, *, author: str | None = None, name: str = "", write: Callable[[str], None] | None = None
    ) -> None:
        """`author` is the customer's id (the login by default, so a returning user is one customer);
        `name` is what replies call them: never the login, which is an account name, not a greeting."""
        self.author = author or getpass.getuser()
        self.display_name = name.strip()
        self._write = write or (lambda text: print(text, flush=True))
        self.closed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return NAME

    def message(self, text: str) -> InboundMessage:
        return InboundMessage(
            channel="console",
            external_id=uuid.uuid4().hex,
            author_id=self.author,
            text=text,
            conversation_id=f"console:{self.author}",
            author_name=self.display_name,
            direct=True,
            connector=NAME,
        )

    async def start(self, sink: Sink) -> None:
        self._task = asyncio.create_task(self._read(sink), name="console-read")

    async def _read(self, sink: Sink) -> None:
        try:
            while True:
                line = await asyncio.to_thread(sys.stdin.readline)
                if not line:  # end of input
                    break
                if line.strip() in ("/quit", "/exit"):
                    break
                if line.strip():
                    await sink(self.message(line.rstrip("\n")))
        finally:
            self.closed.set()

    async def stop(self) -> None:
        if self._task and not self._task.done():
            self._task.cancel()

    async def send(self, reply: OutboundReply) -> str:
        self._write(f"bot> {reply.text}")
        return f"console-{reply.id}"
