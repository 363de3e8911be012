"""Replaying JSON lines of messages: demos, backfills and load runs.

Each line: {"channel": "discord", "id": "...", "author_id": "...", "text": "..."} and optionally
author_name, author_handle, conversation_id, sent_at (ISO 8601), direct. Replies to replayed
messages are recorded here rather than sent anywhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.domain import CHANNELS, InboundMessage, OutboundReply
from bot.errors import InputError
from connectors.base import Sink

log = logging.getLogger(__name__)

NAME = "replay"


def parse_line(line: str, lineno: int) -> InboundMessage:
    """One JSON line to a message; InputError names the line and the field on any problem."""
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"line {lineno}: expected a JSON object")
    for key in ("channel", "id", "author_id", "text"):
        if key not in data or data[key] is None:
            raise InputError(f"line {lineno}: missing {key!r}")
    channel = str(data["channel"]).lower()
    if channel not in CHANNELS:
        raise InputError(f"line {lineno}: unknown channel {channel[:40]!r} (known: {', '.join(sorted(CHANNELS))})")
    if not isinstance(data["text"], str):
        raise InputError(f"line {lineno}: 'text' must be a string")
    sent_at = datetime.now(UTC)
    if data.get("sent_at"):
        try:
            sent_at = datetime.fromisoformat(str(data["sent_at"]).replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"line {lineno}: 'sent_at' is not an ISO 8601 time") from None
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
    author_id = str(data["author_id"])
    return InboundMessage(
        channel=channel,
        external_id=str(data["id"]),
        author_id=author_id,
        text=data["text"],
        conversation_id=str(data.get("conversation_id") or f"{channel}:{author_id}"),
        author_handle=str(data.get("author_handle") or ""),
        author_name=str(data.get("author_name") or ""),
        sent_at=sent_at,
        direct=bool(data.get("direct", False)),
        connector=NAME,
    )


@dataclass
class ReplayReport:
    read: int = 0
    errors: list[str] = field(default_factory=list)


class ReplayConnector:
    """Feeds lines into the sink one by one; `send` records replies in memory."""

    def __init__(self, lines: Iterable[str], *, source: str = "") -> None:
        self._lines = lines
        self.source = source
        self.sent: list[OutboundReply] = []
        self.report = ReplayReport()
        self.done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> ReplayConnector:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})") from None
        return cls(text.splitlines(), source=str(path))

    @property
    def name(self) -> str:
        return NAME

    async def start(self, sink: Sink) -> None:
        self._task = asyncio.create_task(self._feed(sink), name="replay-feed")

    async def _feed(self, sink: Sink) -> None:
        try:
            for lineno, line in enumerate(self._lines, start=1):
                if not line.strip():
                    continue
                try:
                    await sink(parse_line(line, lineno))
                    self.report.read += 1
                except InputError as exc:
                    self.report.errors.append(str(exc))
                    log.error("%s %s", self.source, exc)
        finally:
            self.done.set()

    async def stop(self) -> None:
        if self._task and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def send(self, reply: OutboundReply) -> str:
        self.sent.append(reply)
        return f"replay-{reply.id}"
