"""Staff shifts, the round-robin turn, conditional assignment, and the staff replies of resolved cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from bot.domain import EscalationStatus, utcnow
from bot.storage.database import Database, commit_unique
from bot.storage.rows import aware
from bot.storage.tables import EscalationRow, MessageRow, ReplyRow, StaffShiftRow

_ACTIVE = (EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value)
_DONE = (EscalationStatus.RESOLVED.value, EscalationStatus.CLOSED.value)


@dataclass(frozen=True, slots=True)
class Shift:
    actor: str
    on_shift: bool
    changed_at: datetime
    last_assigned_at: datetime | None
    turns: int = 0
    open_cases: int = 0


@dataclass(frozen=True, slots=True)
class PastReply:
    """A reply staff sent on a case that is resolved now, with what the customer had written."""

    reply_id: int
    escalation_id: int
    asked: str
    text: str


class StaffStore:
    """One transaction per method (or the caller's unit of work)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_shift(self, actor: str, on_shift: bool) -> Shift:
        async with self._db.session() as s:
            now = utcnow()
            if not await commit_unique(s, StaffShiftRow(actor=actor, on_shift=on_shift, changed_at=now, turns=0)):
                await s.execute(
                    update(StaffShiftRow)
                    .where(StaffShiftRow.actor == actor)
                    .values(on_shift=on_shift, changed_at=now)
                    .execution_options(synchronize_session=False)
                )
                await s.commit()
        found = [x for x in await self.shifts() if x.actor == actor]
        return found[0]

    async def shifts(self, *, on_shift_only: bool = False) -> list[Shift]:
        """Everyone who was ever put on shift, with their open (active) cases, next turn first."""
        opened = (
            select(EscalationRow.assignee, func.count().label("n"))
            .where(EscalationRow.status.in_(_ACTIVE), EscalationRow.assignee != "")
            .group_by(EscalationRow.assignee)
            .subquery()
        )
        stmt = select(StaffShiftRow, func.coalesce(opened.c.n, 0)).outerjoin(
            opened, opened.c.assignee == StaffShiftRow.actor
        )
        if on_shift_only:
            stmt = stmt.where(StaffShiftRow.on_shift.is_(True))
        # Whoever waited longest for a case is next; nobody-yet first; the actor breaks ties stably.
        stmt = stmt.order_by(
            StaffShiftRow.last_assigned_at.is_not(None), StaffShiftRow.last_assigned_at, StaffShiftRow.actor
        )
        async with self._db.session() as s:
            rows = (await s.execute(stmt)).all()
        return [
            Shift(r.actor, r.on_shift, aware(r.changed_at) or utcnow(), aware(r.last_assigned_at), r.turns, int(n))
            for r, n in rows
        ]

    async def take_turn(self, actor: str, seen: int, now: datetime) -> bool:
        """Move `actor` to the back of the round if their turn count is still `seen`: of two processes
        picking the same person for two cases at once, one gets them and the other picks again."""
        row = StaffShiftRow
        async with self._db.session() as s:
            stmt = (
                update(row)
                .where(row.actor == actor, row.on_shift.is_(True), row.turns == seen)
                .values(last_assigned_at=now, turns=row.turns + 1)
            )
            changed = (await s.execute(stmt.execution_options(synchronize_session=False))).rowcount  # type: ignore[attr-defined]
            await s.commit()
        return bool(changed)

    async def assign_unassigned(self, escalation_id: int, actor: str, now: datetime) -> bool:
        """Claim an escalation for `actor` only while it is open and nobody's: two processes never both do."""
        e = EscalationRow
        stmt = (
            update(e)
            .where(e.id == escalation_id, e.status == EscalationStatus.OPEN.value, e.assignee == "")
            .values(status=EscalationStatus.CLAIMED.value, assignee=actor, claimed_at=now, updated_at=now)
        )
        async with self._db.session() as s:
            changed = (await s.execute(stmt.execution_options(synchronize_session=False))).rowcount  # type: ignore[attr-defined]
            await s.commit()
        return bool(changed)

    def _past(self) -> Any:  # a Select of (reply id, escalation id, opening text, reply text)
        return (
            select(ReplyRow.id, ReplyRow.escalation_id, MessageRow.text, ReplyRow.text)
            .join(EscalationRow, EscalationRow.id == ReplyRow.escalation_id)
            .join(MessageRow, MessageRow.id == EscalationRow.opening_message_id)
            .where(ReplyRow.kind == "staff", EscalationRow.status.in_(_DONE))
        )

    async def past_replies(self, *, limit: int, after_id: int = 0) -> list[PastReply]:
        """Staff replies on resolved cases (of the `limit` newest such cases), with their opening text."""
        cases = select(EscalationRow.id).where(EscalationRow.status.in_(_DONE)).order_by(EscalationRow.id.desc())
        stmt = self._past().where(
            ReplyRow.id > after_id, ReplyRow.escalation_id.in_(cases.limit(limit).scalar_subquery())
        )
        async with self._db.session() as s:
            rows = (await s.execute(stmt.order_by(ReplyRow.id))).all()
        return [PastReply(int(r[0]), int(r[1] or 0), str(r[2]), str(r[3])) for r in rows]

    async def past_reply(self, reply_id: int) -> PastReply | None:
        """One such reply by id; None when it is not a staff reply on a resolved case."""
        async with self._db.session() as s:
            r = (await s.execute(self._past().where(ReplyRow.id == reply_id))).first()
        return PastReply(int(r[0]), int(r[1] or 0), str(r[2]), str(r[3])) if r else None
