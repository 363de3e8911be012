"""Delivering queued replies through connectors: retried with backoff, never sent twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta

from bot.config import OutboxSettings
from bot.domain import OutboundReply, ReplyStatus, utcnow
from bot.errors import AuthFailed, DeliveryFailed, RateLimited
from bot.ports import Connector
from bot.storage import Repository

log = logging.getLogger(__name__)


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

    def poke(self) -> None:
        """Deliver now rather than at the next poll (a reply was just queued)."""
        self._wake.set()

    async def recover(self) -> int:
        """At start-up: replies a dead process left 'sending' go back to the queue.

        The send may or may not have reached the platform; we choose at-least-once for those
        few, since a customer who is never answered is worse than one answered twice.
        """
        return await self._repo.requeue_stale_sending(utcnow())

    async def deliver_due(self) -> int:
        """One pass: send every due reply; returns how many were sent."""
        if not self._connectors:
            return 0
        sent = 0
        for reply in await self._repo.claim_due_replies(list(self._connectors), utcnow()):
            if await self._deliver(reply):
                sent += 1
        return sent

    async def _deliver(self, reply: OutboundReply) -> bool:
        connector = self._connectors[reply.connector]
        try:
            external_id = await connector.send(reply)
        except RateLimited as exc:
            await self._retry(reply, exc.retry_after, f"rate limited: {exc}", count=False)
            return False
        except AuthFailed as exc:
            await self._fail(reply, f"auth failed: {exc}")
            return False
        except DeliveryFailed as exc:
            if exc.retryable:
                await self._retry(reply, backoff(reply.attempts, self._settings), str(exc))
            else:
                await self._fail(reply, str(exc))
            return False
        except Exception as exc:  # a connector bug must not kill the outbox
            log.exception("connector %s raised on reply %s", reply.connector, reply.id)
            await self._retry(reply, backoff(reply.attempts, self._settings), f"{type(exc).__name__}")
            return False
        await self._repo.mark_reply(
            reply.id, ReplyStatus.SENT, external_id=str(external_id), sent_at=utcnow(), last_error=""
        )
        await self._repo.audit(
            "reply.sent",
            {
                "reply_id": reply.id,
                "connector": reply.connector,
                "external_id": str(external_id),
                "attempts": reply.attempts,
            },
            message_id=reply.message_id,
            escalation_id=reply.escalation_id,
        )
        return True

    async def _retry(self, reply: OutboundReply, delay: float, error: str, *, count: bool = True) -> None:
        # A rate limit is the platform asking us to wait, not a failure of this reply.
        attempts = reply.attempts if count else max(0, reply.attempts - 1)
        if count and attempts >= self._settings.max_attempts:
            await self._fail(reply, f"gave up after {attempts} attempts: {error}")
            return
        await self._repo.mark_reply(
            reply.id,
            ReplyStatus.QUEUED,
            attempts=attempts,
            last_error=error[:500],
            next_attempt_at=utcnow() + timedelta(seconds=delay),
        )
        await self._repo.audit(
            "reply.retry",
            {"reply_id": reply.id, "in_seconds": round(delay, 1), "error": error},
            message_id=reply.message_id,
            escalation_id=reply.escalation_id,
        )

    async def _fail(self, reply: OutboundReply, error: str) -> None:
        await self._repo.mark_reply(reply.id, ReplyStatus.FAILED, last_error=error[:500])
        await self._repo.audit(
            "reply.failed",
            {"reply_id": reply.id, "error": error},
            message_id=reply.message_id,
            escalation_id=reply.escalation_id,
        )
        log.warning("reply %s failed for good: %s", reply.id, error)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, waking on `poke()` or every poll interval."""
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:
                log.exception("outbox pass failed; will retry")
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=self._settings.poll_interval, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
