"""Service-level targets: when the first response and the resolution of an escalation are due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import SlaSettings
from bot.domain import Escalation, EscalationStatus, Priority

if TYPE_CHECKING:
    from bot.staff.business_hours import BusinessHours


@dataclass(frozen=True, slots=True)
class SlaState:
    first_response_due: datetime
    resolution_due: datetime
    first_response_breached: bool
    resolution_breached: bool

    @property
    def breached(self) -> bool:
        return self.first_response_breached or self.resolution_breached

    def next_due(self, responded: bool) -> datetime:
        return self.resolution_due if responded else min(self.first_response_due, self.resolution_due)


def sla_state(
    settings: SlaSettings,
    escalation: Escalation,
    now: datetime,
    first_response_at: datetime | None,
    hours: BusinessHours | None = None,
) -> SlaState:
    """Due times from the escalation's priority; a breach is a target passed without the event. With
    business `hours`, the targets count business time only."""
    done = escalation.status in (EscalationStatus.RESOLVED, EscalationStatus.CLOSED)
    return sla_of(
        settings,
        escalation.priority,
        escalation.created_at,
        now,
        first_response_at,
        escalation.resolved_at if done else None,
        hours,
    )


def sla_of(
    settings: SlaSettings,
    priority: Priority,
    created_at: datetime,
    now: datetime,
    first_response_at: datetime | None,
    resolved_at: datetime | None = None,
    hours: BusinessHours | None = None,
) -> SlaState:
    """The same from the bare facts (for counting breaches without loading escalations)."""
    target = settings.targets[priority]
    if hours is None:
        first_due = created_at + timedelta(minutes=target.first_response_minutes)
        resolution_due = created_at + timedelta(minutes=target.resolution_minutes)
    else:
        first_due = hours.add(created_at, target.first_response_minutes)
        resolution_due = hours.add(created_at, target.resolution_minutes)
    first_breached = (first_response_at or now) > first_due
    resolution_breached = (resolved_at or now) > resolution_due
    return SlaState(first_due, resolution_due, first_breached, resolution_breached)
