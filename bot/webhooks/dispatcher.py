"""Turning durable events into webhook deliveries, and sending them: signed, retried, never lost.

The bus's relay hands this subscriber any event it missed (a crash between commit and delivery), and a
delivery row is written once per (webhook, event); the sender claims due rows, so a killed process
resends at most what it was sending. Receivers dedupe on the event id (`X-Rapport-Event-Id`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

import aiohttp

from bot.config import WebhookSettings
from bot.domain import utcnow
from bot.events import current_event_id
from bot.metrics import Metrics
from bot.storage import Database, Repository
from bot.storage.webhooks import WebhookStore
from bot.webhooks.models import Delivery, DeliveryStatus
from bot.webhooks.payloads import describe, envelope, event_id
from bot.webhooks.signing import sign

log = logging.getLogger(__name__)

SUBSCRIBER = "webhooks"  # the bus's delivery records name this subscriber


class Webhooks:
    def __init__(
        self,
        repo: Repository,
        db: Database,
        hooks: Sequence[WebhookSettings],
        metrics: Metrics | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self.repo = repo
        self.store = WebhookStore(db)
        self.hooks = {h.key: h for h in hooks}
        self.metrics = metrics
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()

    @property
    def wants_messages(self) -> bool:
        """Whether any webhook takes message.received (so the pipeline announces each message)."""
        return any("message.received" in h.events for h in self.hooks.values())

    async def on_event(self, event: object) -> None:
        """The bus subscriber: queue one delivery per webhook that takes this event. Raising makes the
        relay hand the event over again later."""
        stored_id = current_event_id()
        if stored_id is None or not self.hooks:
            return  # in-memory events (a weekly summary) are not for webhooks
        described = await describe(event, self.repo)
        if described is None:
            return
        kind, data = described
        targets = [h for h in self.hooks.values() if kind in h.events]
        if not targets:
            return
        body = envelope(stored_id, kind, data)
        for hook in targets:
            await self.store.add(hook.key, stored_id, kind, body)
        self._wake.set()

    async def deliver_due(self, session: aiohttp.ClientSession) -> int:
        """One pass: send every due delivery; how many were accepted."""
        accepted = 0
        for delivery in await self.store.claim_due(utcnow()):
            accepted += await self._send(session, delivery)
        return accepted

    async def _send(self, session: aiohttp.ClientSession, delivery: Delivery) -> bool:
        hook = self.hooks.get(delivery.webhook)
        if hook is None:
            await self.store.finish(delivery.id, DeliveryStatus.FAILED, last_error="webhook no longer configured")
            return False
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Rapport-Webhooks",
            "X-Rapport-Event": delivery.event_type,
            "X-Rapport-Event-Id": event_id(delivery.event_id),
            "X-Rapport-Delivery": str(delivery.id),
            "X-Rapport-Timestamp": timestamp,
            "X-Rapport-Signature": sign(hook.secret.get_secret_value(), timestamp, delivery.body),
        }
        status: int | None = None
        try:
            async with session.post(
                hook.url,
                data=delivery.body.encode("utf-8"),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=hook.timeout),
                allow_redirects=False,
            ) as resp:
                status = resp.status
                await resp.read()
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            error = type(exc).__name__
        if not error:
            await self.store.finish(delivery.id, DeliveryStatus.DELIVERED, last_status=status, delivered_at=utcnow())
            log.info("webhook %s: %s delivered (%s)", hook.key, delivery.event_type, event_id(delivery.event_id))
            return True
        if self.metrics is not None:
            self.metrics.webhook_failures.labels(webhook=hook.key).inc()
        now = utcnow()
        if now - delivery.created_at >= timedelta(hours=hook.retry_hours):
            await self.store.finish(delivery.id, DeliveryStatus.FAILED, last_status=status, last_error=error)
            log.warning(
                "webhook %s: gave up on %s after %d attempts (%s)",
                hook.key,
                delivery.event_type,
                delivery.attempts,
                error,
            )
            return False
        delay = min(hook.backoff_max, hook.backoff_initial * 2 ** max(0, delivery.attempts - 1))
        await self.store.finish(
            delivery.id,
            DeliveryStatus.PENDING,
            last_status=status,
            last_error=error,
            next_attempt_at=now + timedelta(seconds=delay),
        )
        log.warning("webhook %s: %s failed (%s); retrying in %.1fs", hook.key, delivery.event_type, error, delay)
        return False

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop`, waking when an event was queued or every poll interval."""
        requeued = await self.store.recover()
        if requeued:
            log.info("webhooks: %d interrupted deliveries go again", requeued)
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                try:
                    await self.deliver_due(session)
                except Exception:
                    log.exception("webhook pass failed; will retry")
                self._wake.clear()
                waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
