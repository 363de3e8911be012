"""The work queue on Redis Streams, for a gateway and N workers (`[queue] url = "redis://..."`).

The gateway adds each stored message's id to one stream; workers read it through one consumer group,
acknowledge (XACK, then XDEL: the stream holds only the work not done yet) after the batch committed,
and claim entries another worker left pending longer than `claim_idle` seconds (XAUTOCLAIM: a worker
killed mid-batch). The database stays the source of truth: if Redis is restarted or flushed, the group
is recreated, the gateway's sweep re-adds stored, unprocessed messages (`requeue`) and a quiet worker
processes them from the database. Every redis-py error leaves as StorageError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bot.errors import StorageError
from bot.fleet import process_name


@asynccontextmanager
async def redis_errors() -> AsyncIterator[None]:
    """Every redis-py error (and a refused socket) leaves as StorageError, naming only its kind."""
    try:
        yield
    except ResponseError as exc:
        raise StorageError(f"redis refused: {str(exc).split()[0] if str(exc) else type(exc).__name__}") from exc
    except (RedisError, OSError) as exc:
        raise StorageError(f"redis unavailable: {type(exc).__name__}") from exc


class RedisQueue:
    """A WorkQueue over one Redis stream and consumer group."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "rapport:",
        consumer: str | None = None,
        claim_idle: float = 30.0,
    ) -> None:
        self._redis = aioredis.Redis.from_url(url, decode_responses=True)
        self.stream = f"{prefix}work"
        self.group = "workers"
        self.consumer = consumer or process_name()
        self.claim_idle = claim_idle
        self._entries: dict[int, list[str]] = {}  # message id -> stream entries taken, acknowledged by `done`
        self._group_ready = False

    async def put(self, message_id: int) -> None:
        async with redis_errors():
            await self._redis.xadd(self.stream, {"id": str(message_id)})

    async def take(self, limit: int, wait_seconds: float) -> list[int]:
        async with redis_errors():
            await self._ensure_group()
            try:
                entries = await self._claim(limit) or await self._read(limit, wait_seconds)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self._group_ready = False  # Redis was flushed or restarted: start a new group, sweep covers the rest
                return []
        ids: list[int] = []
        unusable = []
        for entry_id, fields in entries:
            if not fields or not str(fields.get("id", "")).isdigit():
                unusable.append(entry_id)  # not ours, or deleted meanwhile: nothing to do
                continue
            message_id = int(fields["id"])
            self._entries.setdefault(message_id, []).append(entry_id)
            ids.append(message_id)
        if unusable:
            async with redis_errors():
                await self._ack(unusable)
        return ids

    async def done(self, message_ids: list[int]) -> None:
        """Acknowledge the entries of processed (committed) messages."""
        entries = [e for m in message_ids for e in self._entries.pop(m, [])]
        if entries:
            async with redis_errors():
                await self._ack(entries)

    async def requeue(self, waiting: list[int]) -> int:
        """Add again those of `waiting` (stored, unprocessed ids) the stream no longer holds: Redis was
        flushed or restarted, or a process died between storing and adding. How many were added."""
        held: set[int] = set()
        async with redis_errors():
            start = "-"
            while True:
                page: list[tuple[str, dict[str, str]]] = list(
                    await self._redis.xrange(self.stream, min=start, max="+", count=1000) or []  # type: ignore[arg-type]
                )
                held |= {int(f["id"]) for _e, f in page if f and str(f.get("id", "")).isdigit()}
                if len(page) < 1000:
                    break
                start = "(" + page[-1][0]
            lost = [i for i in waiting if i not in held]
            if lost:  # one round trip for the lot (a flush can leave thousands to add again)
                pipe = self._redis.pipeline(transaction=False)
                for message_id in lost:
                    pipe.xadd(self.stream, {"id": str(message_id)})
                await pipe.execute()
        return len(lost)

    async def stats(self) -> dict[str, int]:
        """Entries in the stream (work not done yet: acknowledged entries are deleted) and how many of
        them are pending (taken by a worker, not yet acknowledged)."""
        async with redis_errors():
            length = await self._redis.xlen(self.stream)
            try:
                pending = (await self._redis.xpending(self.stream, self.group))["pending"]
            except ResponseError:
                pending = 0
        return {"length": int(length), "pending": int(pending)}

    async def close(self) -> None:
        await self._redis.aclose()

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _claim(self, limit: int) -> list[tuple[str, dict[str, str]]]:
        _next, entries, *_deleted = await self._redis.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_time=int(self.claim_idle * 1000), count=limit
        )
        return list(entries)

    async def _read(self, limit: int, wait_seconds: float) -> list[tuple[str, dict[str, str]]]:
        block = max(1, int(wait_seconds * 1000))
        result: Any = await self._redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=limit, block=block
        )
        return [entry for _stream, entries in (result or []) for entry in entries]

    async def _ack(self, entries: list[str]) -> None:
        # One consumer group reads the stream, so an acknowledged entry is needed by no one: deleting it
        # keeps the stream as long as the work not done yet, not the history of every message.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, *entries)
            pipe.xdel(self.stream, *entries)
            await pipe.execute()
