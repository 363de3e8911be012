"""SLA watch: a reminder in the card's thread before a target passes, and the card marked at a breach.

Each reminder and breach is posted once per escalation and target, remembered in the state store so a
restart does not repeat them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.config import SlaSettings
from bot.desk import Desk, EscalationCard
from bot.domain import utcnow
from bot.errors import RapportError
from connectors.base import StateStore
from connectors.slack import blocks as bk
from connectors.slack.cards import who
from connectors.slack.triage import TriageDesk

log = logging.getLogger(__name__)


def _target(card: EscalationCard) -> tuple[str, datetime, bool]:
    """(name, due, breached) of the target that matters now: first response until someone answered."""
    responded = card.responded
    if not responded and card.sla.first_response_due <= card.sla.resolution_due:
        return "first response", card.sla.first_response_due, card.sla.first_response_breached
    return "resolution", card.sla.resolution_due, card.sla.resolution_breached


class SlaWatch:
    def __init__(
        self,
        sla: SlaSettings,
        desk: Desk,
        triage: TriageDesk,
        state: StateStore,
        interval: float,
        leading: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        """`leading`: whether this process runs the schedulers now (one gateway of several does)."""
        self._sla = sla
        self._desk = desk
        self._triage = triage
        self._state = state
        self._interval = interval
        self._leading = leading

    async def run(self) -> None:
        while True:
            try:
                if self._leading is None or await self._leading():
                    await self.check()
            except RapportError as exc:
                log.warning("slack: SLA check failed: %s", exc)
            await asyncio.sleep(self._interval)

    async def check(self) -> int:
        """One pass; returns how many reminders and breach notices were posted."""
        posted = 0
        for card in await self._desk.sla_due_soon(self._sla.remind_before_minutes):
            esc = card.escalation
            if card.snoozed_until is not None and card.snoozed_until > utcnow():
                continue
            name, due, breached = _target(card)
            key = f"sla:{esc.id}:{name}:{'breach' if breached else 'reminder'}"
            if await self._state.get(key) is not None:
                continue
            owner = who(esc.assignee) if esc.assignee else "nobody has claimed it yet"
            if breached:
                await self._triage.refresh(esc.id)
                text = f":rotating_light: *SLA breached:* {name} was due {bk.date(due)} ({owner})."
            else:
                text = f":alarm_clock: *SLA reminder:* {name} is due {bk.date(due)} ({owner})."
            if await self._triage.say_in_thread(esc.id, text):
                posted += 1
            await self._state.set(key, utcnow().isoformat())
        return posted
