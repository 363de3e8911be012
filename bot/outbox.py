"""Delivering queued replies through connectors: retried with backoff, never sent twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.config import OutboxSettings
from bot.domain import OutboundReply, ReplyStatus, utcnow
from bot.errors import AuthFailed, DeliveryFailed, RateLimited, StorageError
from bot.ports import Connector
from bot.storage import Repository

log = logging.getLogger(__name__)

# While the database is unreachable, passes space out from the poll interval up to this, so an outage
# costs a few connection attempts rather than one every poll.
STORAGE_BACKOFF_MAX = 10.0


def backoff(attempts: int, settings: OutboxSettings) -> float:
    """Seconds to wait after the n-th failed attempt: doubling from `backoff_initial`, capped."""
    return float(min(settings.backoff_max, settings.backoff_initial * (2 ** max(0, attempts - 1))))


class Outbox:
    """Claims due replies for the connectors it has, sends each once, records the result."""

    def __init__(self, repo: Repository, connectors: Mapping[str, Connector], settings: OutboxSettings) -> None:
        self._repo = repo
        self._connectors = connectors
        self._settings = settings
        self._wake = asyncio.Event()
        # What a database outage kept a pass from recording, recorded by the next pass (see `_settle`).
        self._sent: dict[int, tuple[OutboundReply, str, datetime]] = {}
        self._unsent: set[int] = set()

    def poke(self) -> None:
        """Deliver now rather than at the next poll (a reply was just queued)."""
        self._wake.set()

    async def recover(self) -> int:
        """At start-up: replies a dead process left 'sending' go back to the queue.

        The send may or may not have reached the platform; we choose at-least-once for those
        few, since a customer who is never answered is worse than one answered twice.
        """
        return await self._repo.replies.requeue_stale_sending(utcnow())

    async def deliver_due(self) -> int:
        """One pass: send every due reply; returns how many were sent."""
        if not self._connectors:
            return 0
        await self._settle()
        sent = 0
        claimed = await self._repo.replies.claim_due(list(self._connectors), utcnow())
        for n, reply in enumerate(claimed):
            try:
                if await self._deliver(reply):
                    sent += 1
            except StorageError:
                # The database went away mid-pass. The rest are claimed ('sending') but were never tried: they
                # go back to the queue once it returns, not at the next restart's `recover`.
                self._unsent.update(r.id for r in claimed[n + 1 :])
                raise
        return sent

    async def _settle(self) -> None:
        """Record what a pass cut short by a database outage could not: replies it sent (so they are never
        sent again) and replies it claimed but did not send (back to the queue)."""
        for reply_id, (reply, external_id, sent_at) in list(self._sent.items()):
            await self._record_sent(reply, external_id, sent_at)
            del self._sent[reply_id]
        if self._unsent:
            await self._repo.replies.release(sorted(self._unsent))
            self._unsent.clear()

    async def _deliver(self, reply: OutboundReply) -> bool:
        connector = self._connectors[reply.connector]
        try:
            external_id = str(await connector.send(reply))
        except StorageError:  # the connector needed the database (its own state) and could not send
            self._unsent.add(reply.id)
            raise
        except Exception as exc:
            try:
                await self._failed(reply, exc)
            except StorageError:
                self._unsent.add(reply.id)  # not sent, and its failure not recorded: it goes again
                raise
            return False
        sent_at = utcnow()
        try:
            await self._record_sent(reply, external_id, sent_at)
        except StorageError:
            self._sent[reply.id] = (reply, external_id, sent_at)  # sent: recorded later, never sent twice
            raise
        return True

    async def _failed(self, reply: OutboundReply, exc: Exception) -> None:
        """Record a failed send: retried later with backoff, or failed for good."""
        if isinstance(exc, RateLimited):
            await self._retry(reply, exc.retry_after, f"rate limited: {exc}", count=False)
        elif isinstance(exc, AuthFailed):
            await self._fail(reply, f"auth failed: {exc}")
        elif isinstance(exc, DeliveryFailed):
            if exc.retryable:
                await self._retry(reply, backoff(reply.attempts, self._settings), str(exc))
            else:
                await self._fail(reply, str(exc))
        else:  # a connector bug must not kill the outbox
            log.error("connector %s raised on reply %s", reply.connector, reply.id, exc_info=exc)
            await self._retry(reply, backoff(reply.attempts, self._settings), f"{type(exc).__name__}")

    async def _record_sent(self, reply: OutboundReply, external_id: str, sent_at: datetime) -> None:
        async with self._repo.unit():
            await self._repo.replies.mark(
                reply.id, ReplyStatus.SENT, external_id=external_id, sent_at=sent_at, last_error=""
            )
            await self._repo.audit.record(
                "reply.sent",
                {
                    "reply_id": reply.id,
                    "connector": reply.connector,
                    "external_id": external_id,
                    "attempts": reply.attempts,
                },
                message_id=reply.message_id,
                escalation_id=reply.escalation_id,
            )

    async def _retry(self, reply: OutboundReply, delay: float, error: str, *, count: bool = True) -> None:
        # A rate limit is the platform asking us to wait, not a failure of this reply.
        attempts = reply.attempts if count else max(0, reply.attempts - 1)
        if count and attempts >= self._settings.max_attempts:
            await self._fail(reply, f"gave up after {attempts} attempts: {error}")
            return
        await self._repo.replies.mark(
            reply.id,
            ReplyStatus.QUEUED,
            attempts=attempts,
            last_error=error[:500],
            next_attempt_at=utcnow() + timedelta(seconds=delay),
        )
        await self._repo.audit.record(
            "reply.retry",
            {"reply_id": reply.id, "in_seconds": round(delay, 1), "error": error},
            message_id=reply.message_id,
            escalation_id=reply.escalation_id,
        )

    async def _fail(self, reply: OutboundReply, error: str) -> None:
        await self._repo.replies.mark(reply.id, ReplyStatus.FAILED, last_error=error[:500])
        await self._repo.audit.record(
            "reply.failed",
            {"reply_id": reply.id, "error": error},
            message_id=reply.message_id,
            escalation_id=reply.escalation_id,
        )
        log.warning("reply %s failed for good: %s", reply.id, error)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, waking on `poke()` or every poll interval (less often, doubling,
        while the database is unreachable)."""
        wait = self._settings.poll_interval
        while not stop.is_set():
            try:
                await self.deliver_due()
                wait = self._settings.poll_interval
            except StorageError as exc:
                wait = min(max(STORAGE_BACKOFF_MAX, self._settings.poll_interval), wait * 2)
                log.warning("outbox: database unavailable (%s); next pass in %.1fs", exc, wait)
            except Exception:
                log.exception("outbox pass failed; will retry")
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
