"""The schedulers' lease: exactly one process at a time runs the follow-ups, SLA watch, weekly topics,
event relay and re-enqueue sweep, however many gateways run.

On PostgreSQL the lease is a session-level advisory lock held on a connection of its own. It ends when
the holder releases it, when its process dies (the server closes the session), and when the holder
stops renewing: the session's `idle_session_timeout` is the lease, so the server ends the session of a
frozen or cut-off leader after `lease_seconds` and another process takes the lock. The holder renews
(one statement) every third of the lease, and steps down as soon as a renewal fails or takes longer
than that. Against the small window where a leader resumes mid-tick after losing the lease, the
scheduled work itself stays idempotent (dedupe keys). On SQLite one process owns the file: it leads.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.storage.database import Database, async_url
from bot.storage.turns import LOCK_SPACE

log = logging.getLogger(__name__)

SCHEDULERS = 1  # the lease's key in LOCK_SPACE (customer turns are transaction locks there, never this one)


class Leadership:
    """Whether this process runs the schedulers. `run(stop)` keeps trying for the lease and renews it."""

    def __init__(self, db: Database, *, lease_seconds: float = 30.0, key: int = SCHEDULERS) -> None:
        self.lease_seconds = lease_seconds
        self._db = db
        self._key = key
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._use = asyncio.Lock()  # one statement at a time on the lease's connection

    @property
    def leading(self) -> bool:
        """As of the last renewal (use `confirm` right before acting on it)."""
        return self._db.is_sqlite or self._conn is not None

    @property
    def renew_seconds(self) -> float:
        return self.lease_seconds / 3

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: take the lease when it is free, renew it while held; release it at the end."""
        try:
            while not stop.is_set():
                await self.try_lead()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.renew_seconds)
                except TimeoutError:
                    pass
        finally:
            await self.release()

    async def try_lead(self) -> bool:
        """Take the lease if it is free, or renew it if held; whether this process leads now."""
        if self._db.is_sqlite:
            return True
        async with self._use:
            if self._conn is not None:
                return await self._renew()
            return await self._acquire()

    async def confirm(self) -> bool:
        """Whether this process still leads, checked with the database now: call it before each tick."""
        if self._db.is_sqlite:
            return True
        async with self._use:
            return self._conn is not None and await self._renew()

    async def release(self) -> None:
        """Give the lease up (closing its session releases the lock) so another process takes it at once."""
        async with self._use:
            await self._drop()
            if self._engine is not None:
                await self._engine.dispose()
                self._engine = None

    async def _acquire(self) -> bool:
        if self._engine is None:
            self._engine = create_async_engine(
                async_url(self._db.url), poolclass=NullPool, isolation_level="AUTOCOMMIT", hide_parameters=True
            )
        conn: AsyncConnection | None = None
        try:
            async with asyncio.timeout(self.renew_seconds):
                conn = await self._engine.connect()
                if not await conn.scalar(select(func.pg_try_advisory_lock(LOCK_SPACE, self._key))):
                    await conn.close()
                    return False
                await self._expire_after_lease(conn)
        except Exception as exc:  # any failure (a timeout too) means: not leading
            log.warning("scheduler lease: could not take it (%s)", type(exc).__name__)
            if conn is not None:
                await _close(conn)
            return False
        self._conn = conn
        log.info("scheduler lease taken: this process runs the schedulers")
        return True

    async def _expire_after_lease(self, conn: AsyncConnection) -> None:
        millis = max(1, int(self.lease_seconds * 1000))
        try:
            await conn.execute(text(f"SET idle_session_timeout = {millis}"))
        except Exception:  # PostgreSQL before 14: only the holder's death or release ends the lease
            log.warning("scheduler lease: PostgreSQL has no idle_session_timeout; a frozen leader keeps the lease")
        await conn.execute(text(f"SET idle_in_transaction_session_timeout = {millis}"))

    async def _renew(self) -> bool:
        assert self._conn is not None
        try:
            async with asyncio.timeout(self.renew_seconds):
                await self._conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # any failure (a timeout too) means: not leading
            # The session ended (lease expired, server restarted) or is unreachable: another process may
            # hold the lease already, so stop acting as the leader at once.
            log.warning("scheduler lease lost (%s)", type(exc).__name__)
            await self._drop()
            return False

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close(conn)


async def _close(conn: AsyncConnection) -> None:
    try:
        await conn.invalidate()  # the session and its lock must end, whatever state the connection is in
        await conn.close()
    except Exception as exc:  # closing a dead connection: nothing more to release
        log.debug("scheduler lease: closing its connection: %s", type(exc).__name__)
