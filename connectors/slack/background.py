"""Work that runs after Slack has been acknowledged: card clicks and App Home renders.

bolt's own lazy listeners fire and forget (`asyncio.ensure_future`, no reference kept, failures never
logged, nothing awaited at shutdown); these tasks are held, logged when they fail, and drained on stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack: %s failed: %s", task.get_name(), task.exception(), exc_info=task.exception())

    async def drain(self, within: float = 10.0) -> None:
        """Let running work finish (up to `within` seconds), then cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=within)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
