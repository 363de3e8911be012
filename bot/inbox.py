"""The console's inbox: escalations filtered as staff ask, the most pressing SLA target first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import SlaSettings
from bot.domain import Priority
from bot.sla import sla_of
from bot.storage import Database
from bot.storage.inbox import InboxFilter, InboxQueries, InboxRow


@dataclass(frozen=True, slots=True)
class InboxItem:
    row: InboxRow
    due: datetime  # the next SLA target: the first response until there is one, then the resolution
    due_what: str  # "first response" or "resolution"
    breached: bool

    def overdue(self, now: datetime) -> bool:
        return self.due <= now


def _item(row: InboxRow, sla: SlaSettings, now: datetime) -> InboxItem:
    done = row.status in ("resolved", "closed")
    state = sla_of(
        sla, Priority(row.priority), row.created_at, now, row.first_response_at, row.resolved_at if done else None
    )
    responded = row.first_response_at is not None
    due = state.next_due(responded)
    what = "resolution" if responded or due == state.resolution_due else "first response"
    return InboxItem(row, due, what, state.breached)


async def inbox(db: Database, sla: SlaSettings, f: InboxFilter, now: datetime, limit: int = 500) -> list[InboxItem]:
    """The escalations matching `f`, sorted by SLA due, soonest (or most overdue) first."""
    items = [_item(r, sla, now) for r in await InboxQueries(db).rows(f, limit)]
    return sorted(items, key=lambda i: (i.due, Priority(i.row.priority).rank, i.row.id))
