"""Watching SLA targets: an `SlaDue` event before a target passes and another when it has, each once per
escalation and target. The event is written with the marker that it was sent, in one transaction, and
relayed to the desks (the Slack thread today), so a crash neither loses nor repeats one."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from bot.config import SlaSettings
from bot.desk import Desk, EscalationCard
from bot.domain import utcnow
from bot.errors import StorageError
from bot.events import EventBus, SlaDue
from bot.ports import StateStore
from bot.storage import Repository

log = logging.getLogger(__name__)


def current_target(card: EscalationCard) -> tuple[str, datetime, bool]:
    """(name, due, breached) of the target that matters now: first response until someone answered."""
    if not card.responded and card.sla.first_response_due <= card.sla.resolution_due:
        return "first response", card.sla.first_response_due, card.sla.first_response_breached
    return "resolution", card.sla.resolution_due, card.sla.resolution_breached


class SlaWatch:
    """One pass every `[sla] check_seconds` in the process that runs the schedulers."""

    def __init__(self, settings: SlaSettings, desk: Desk, repo: Repository, events: EventBus, state: StateStore):
        self.settings = settings
        self._desk = desk
        self._repo = repo
        self._events = events
        self._state = state  # "<escalation>:<target>:<reminder|breach>" once announced

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.check()
            except StorageError as exc:
                log.warning("SLA check: database unavailable (%s)", exc)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.check_seconds)
            except TimeoutError:
                pass

    async def check(self, now: datetime | None = None) -> int:
        """One pass; returns how many reminders and breaches were announced."""
        now = now or utcnow()
        announced = 0
        for card in await self._desk.sla_due_soon(self.settings.remind_before_minutes):
            esc = card.escalation
            if card.snoozed_until is not None and card.snoozed_until > now:
                continue
            target, due, breached = current_target(card)
            key = f"{esc.id}:{target}:{'breach' if breached else 'reminder'}"
            async with self._events.held(), self._repo.unit():
                if await self._state.get(key) is not None:
                    continue
                await self._state.set(key, now.isoformat())
                await self._repo.audit.record(
                    "sla.breached" if breached else "sla.reminder",
                    {"target": target, "due": due.isoformat()},
                    escalation_id=esc.id,
                    customer_id=esc.customer_id,
                )
                await self._events.publish(SlaDue(esc.id, target, breached, due, esc.assignee))
            announced += 1
        return announced
