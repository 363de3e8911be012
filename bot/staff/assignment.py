"""Shifts and automatic assignment: a new case goes round-robin to staff on shift with room for it.

`AutoAssigner` is a durable event subscriber: it sees each "opened" escalation after its commit (or from
the relay, after a crash), so whichever process assigns, the conditional updates in `StaffStore` make
sure exactly one does, and a case nobody can take stays unassigned for someone to claim.
"""

from __future__ import annotations

import logging

from bot.config import AssignmentSettings
from bot.domain import utcnow
from bot.errors import InputError
from bot.events import EscalationChanged, Event, EventBus
from bot.storage import Repository
from bot.storage.staff import Shift, StaffStore

log = logging.getLogger(__name__)

AUTO_ASSIGN = "auto-assign"  # the actor automatic assignments are audited as
SUBSCRIBER = "auto-assign"
_TRIES = 5  # picks before giving up when other processes keep taking the same person's turn


class _Taken(Exception):
    """Rolls the turn back: the case was no longer open and unassigned."""


class Shifts:
    """Who is on shift: `rapport staff shift`, `/rapport shift`, and the console all go through here."""

    def __init__(self, store: StaffStore, repo: Repository) -> None:
        self.store = store
        self._repo = repo

    async def set(self, actor: str, on_shift: bool, by: str) -> Shift:
        """Put `actor` on shift or take them off; audited as done by `by`."""
        actor = actor.strip()
        if not actor or len(actor) > 100 or any(c.isspace() for c in actor):
            raise InputError("name one person (up to 100 characters, no spaces), e.g. slack:U123", field="actor")
        async with self._repo.unit():
            shift = await self.store.set_shift(actor, on_shift)
            await self._repo.audit.record("staff.shift", {"actor": actor, "on_shift": on_shift}, actor=by)
        return shift

    async def list(self) -> list[Shift]:
        """Everyone ever put on shift, next in turn first, with their open cases."""
        return await self.store.shifts()


class AutoAssigner:
    def __init__(self, settings: AssignmentSettings, store: StaffStore, repo: Repository, events: EventBus) -> None:
        self.settings = settings
        self._store = store
        self._repo = repo
        self._events = events

    async def on_event(self, event: Event) -> None:
        """EventBus subscriber: assign each newly opened escalation."""
        if isinstance(event, EscalationChanged) and event.change == "opened":
            await self.assign(event.escalation_id)

    async def assign(self, escalation_id: int) -> str | None:
        """Give the case to the next person on shift under the cap; who got it, or None (it stays unassigned)."""
        if not self.settings.enabled:
            return None
        for _ in range(_TRIES):
            cap = self.settings.max_open_per_person
            free = [s for s in await self._store.shifts(on_shift_only=True) if s.open_cases < cap]
            if not free:
                log.info("auto-assign: nobody on shift has room for escalation #%s", escalation_id)
                return None
            pick = free[0]
            now = utcnow()
            try:
                async with self._events.held(), self._repo.unit():
                    if not await self._store.take_turn(pick.actor, pick.turns, now):
                        continue  # another process just gave this person a case: look again
                    if not await self._store.assign_unassigned(escalation_id, pick.actor, now):
                        raise _Taken
                    esc = await self._repo.escalations.get(escalation_id)
                    await self._repo.audit.record(
                        "escalation.assigned",
                        {"assignee": pick.actor},
                        actor=AUTO_ASSIGN,
                        escalation_id=escalation_id,
                        customer_id=esc.customer_id if esc else None,
                    )
                    await self._events.publish(EscalationChanged(escalation_id, "assigned", AUTO_ASSIGN))
            except _Taken:
                return None  # claimed, assigned or resolved already (here or by another process)
            return pick.actor
        log.warning("auto-assign: gave up on escalation #%s after %d tries", escalation_id, _TRIES)
        return None
