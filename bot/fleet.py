"""What a process runs beside its role when several share the work: its heartbeat, the jobs only the
schedulers' leaseholder runs, and the sweep that re-adds to the work queue what it lost."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.domain import utcnow
from bot.errors import StorageError
from bot.ports import WorkQueue
from bot.storage.backlog import Backlog

log = logging.getLogger(__name__)

Leading = Callable[[], Awaitable[bool]]


def process_name() -> str:
    """How this process appears in `rapport status` and as its queue consumer: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


async def periodically(
    stop: asyncio.Event,
    seconds: float,
    job: Callable[[], Awaitable[Any]],
    *,
    what: str,
    leading: Leading | None = None,
) -> None:
    """Run `job` every `seconds` until `stop`; with `leading`, only in rounds where this process holds the
    schedulers' lease. A database or Redis outage is logged and the next round tries again."""
    while not stop.is_set():
        try:
            if leading is None or await leading():
                await job()
        except StorageError as exc:
            log.warning("%s: storage unavailable (%s)", what, exc)
        except Exception:  # one failing round never ends the loop (the next one tries again)
            log.exception("%s failed", what)
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except TimeoutError:
            pass


async def requeue_lost(queue: WorkQueue, backlog: Backlog, older_than: float) -> int:
    """Re-add to the queue the stored, unprocessed messages it no longer holds (older than `older_than`
    seconds, so a message between its commit and its announcement is left alone)."""
    waiting = await backlog.waiting_ids(utcnow() - timedelta(seconds=older_than))
    added = await queue.requeue(waiting) if waiting else 0
    if added:
        log.info("re-enqueued %d stored, unprocessed messages the work queue had lost", added)
    return added
