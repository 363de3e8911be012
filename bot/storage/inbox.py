"""What the console's inbox and conversation view read: escalations with their customer and opening
message in one query, and every reply sent to a customer across their conversations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from bot.domain import OutboundReply
from bot.storage.database import Database
from bot.storage.rows import aware, reply_of
from bot.storage.tables import CustomerRow, EscalationRow, MessageRow, ReplyRow

UNASSIGNED = "-"  # the assignee filter's value for "nobody yet"


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    customer_id: int
    customer_name: str
    tier: str
    channel: str
    status: str
    priority: str
    reason: str
    intent: str
    assignee: str
    flagged: bool
    opening_text: str
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    snoozed_until: datetime | None


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """Empty means any. `assignee` is an actor name, or UNASSIGNED."""

    statuses: tuple[str, ...] = ("open", "claimed")
    priorities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    assignee: str = ""


class InboxQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def rows(self, f: InboxFilter, limit: int = 500) -> list[InboxRow]:
        """Escalations matching the filter, newest first (the caller orders them by SLA)."""
        stmt = (
            select(EscalationRow, CustomerRow.display_name, CustomerRow.tier, MessageRow.text)
            .join(CustomerRow, CustomerRow.id == EscalationRow.customer_id)
            .outerjoin(MessageRow, MessageRow.id == EscalationRow.opening_message_id)
        )
        if f.statuses:
            stmt = stmt.where(EscalationRow.status.in_(f.statuses))
        if f.priorities:
            stmt = stmt.where(EscalationRow.priority.in_(f.priorities))
        if f.channels:
            stmt = stmt.where(EscalationRow.channel.in_(f.channels))
        if f.tiers:
            stmt = stmt.where(CustomerRow.tier.in_(f.tiers))
        if f.assignee:
            stmt = stmt.where(EscalationRow.assignee == ("" if f.assignee == UNASSIGNED else f.assignee))
        async with self._db.session() as s:
            found = (await s.execute(stmt.order_by(EscalationRow.id.desc()).limit(limit))).all()
        return [
            InboxRow(
                id=e.id,
                customer_id=e.customer_id,
                customer_name=name or "",
                tier=tier or "",
                channel=e.channel,
                status=e.status,
                priority=e.priority,
                reason=e.reason,
                intent=e.intent,
                assignee=e.assignee,
                flagged=e.flagged,
                opening_text=text or "",
                created_at=aware(e.created_at) or e.created_at,
                first_response_at=aware(e.first_response_at),
                resolved_at=aware(e.resolved_at),
                snoozed_until=aware(e.snoozed_until),
            )
            for e, name, tier, text in found
        ]

    async def assignees(self) -> list[str]:
        """Everyone who holds an escalation now or held one: the assignee filter's choices."""
        async with self._db.session() as s:
            rows = await s.scalars(select(EscalationRow.assignee).where(EscalationRow.assignee != "").distinct())
            return sorted(rows.all())

    async def replies_to(self, customer_id: int, limit: int = 500) -> list[OutboundReply]:
        """Every reply to this customer, on any channel: the bot's and staff's, oldest first."""
        cases = select(EscalationRow.id).where(EscalationRow.customer_id == customer_id)
        messages = select(MessageRow.id).where(MessageRow.customer_id == customer_id)
        stmt = select(ReplyRow).where(or_(ReplyRow.escalation_id.in_(cases), ReplyRow.message_id.in_(messages)))
        async with self._db.session() as s:
            rows: Sequence[ReplyRow] = (await s.scalars(stmt.order_by(ReplyRow.id.desc()).limit(limit))).all()
        return [reply_of(r) for r in reversed(rows)]
