"""Who is running: each gateway and worker process keeps a key in Redis with a time to live, refreshed
by its heartbeat, so `rapport status` lists the live processes and a dead one drops out by itself."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from bot.storage.stream import redis_errors


class Presence:
    """Heartbeats of a Rapport's processes, under `{prefix}process:` keys."""

    def __init__(self, url: str, *, prefix: str = "rapport:") -> None:
        self._redis = aioredis.Redis.from_url(url, decode_responses=True)
        self._prefix = f"{prefix}process:"

    async def beat(self, name: str, info: dict[str, Any], ttl: float) -> None:
        """Say this process is alive, for `ttl` seconds, with what it reports about itself."""
        async with redis_errors():
            await self._redis.set(self._prefix + name, json.dumps(info), px=max(1, int(ttl * 1000)))

    async def leave(self, name: str) -> None:
        async with redis_errors():
            await self._redis.delete(self._prefix + name)

    async def processes(self) -> list[dict[str, Any]]:
        """What every live process last said about itself, by role then name."""
        async with redis_errors():
            keys = [k async for k in self._redis.scan_iter(match=self._prefix + "*", count=500)]
            values = await self._redis.mget(keys) if keys else []
        found = []
        for key, value in zip(keys, values, strict=True):
            if value is None:  # expired between the scan and the read
                continue
            try:
                info = json.loads(value)
            except ValueError:
                continue
            if isinstance(info, dict):
                found.append({**info, "name": key.removeprefix(self._prefix)})
        return sorted(found, key=lambda p: (str(p.get("role", "")), p["name"]))

    async def close(self) -> None:
        await self._redis.aclose()
