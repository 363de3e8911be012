"""Escalations (cases): one active per conversation, conditional staff updates, notes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Escalation, EscalationStatus, Priority, StoredMessage, utcnow
from bot.errors import Conflict, NotFound, StorageError
from bot.storage.database import Store, insert_new
from bot.storage.rows import aware, escalation_of
from bot.storage.tables import EscalationRow, MessageRow, NoteRow

# Built once: routing looks up the conversation's case for nearly every message.
_ACTIVE = (
    select(EscalationRow)
    .where(
        EscalationRow.customer_id == bindparam("customer_id"),
        EscalationRow.channel == bindparam("channel"),
        EscalationRow.conversation_id == bindparam("conversation_id"),
        EscalationRow.status.in_([EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value]),
    )
    .order_by(EscalationRow.id.desc())
    .limit(1)
)


class Escalations(Store):
    """Escalations (cases): one active per conversation, conditional staff updates, notes."""

    async def active(
        self, customer_id: int, channel: str, conversation_id: str, *, brief: bool = False
    ) -> Escalation | None:
        """The open or claimed escalation of this customer in this conversation, if any. `brief` leaves
        out its message ids and notes (two queries routing a message does not need)."""
        async with self._session() as s:
            row = await s.scalar(
                _ACTIVE, {"customer_id": customer_id, "channel": channel, "conversation_id": conversation_id}
            )
            return await self._load(s, row, brief) if row else None

    async def open(
        self,
        *,
        customer_id: int,
        message: StoredMessage,
        priority: Priority,
        reason: str,
        intent: str,
        flagged: bool = False,
        linked_later: bool = False,
    ) -> tuple[Escalation, bool]:
        """Open an escalation for `message`: (escalation, True). When the conversation already has an active
        one (a concurrent message opened it first), the message joins that one instead: (it, False).
        `linked_later`: the caller's own update of the message row, in the same unit, records the
        escalation on it (the pipeline's last write): one statement fewer."""
        now = utcnow()
        async with self._session() as s:
            values = {
                "customer_id": customer_id,
                "opening_message_id": message.id,
                "channel": message.message.channel,
                "conversation_id": message.message.conversation_id,
                "status": EscalationStatus.OPEN.value,
                "priority": priority.value,
                "reason": reason,
                "intent": intent,
                "flagged": flagged,
                "created_at": now,
                "updated_at": now,
            }
            # The partial unique index (one active escalation per conversation) decides a race.
            row = await insert_new(s, EscalationRow, values)
            if row is None:
                m = message.message
                existing = await self.active(customer_id, m.channel, m.conversation_id)
                if existing is None:
                    raise StorageError(f"escalation for message {message.id} violates a unique key")
                await self.attach_message(existing.id, message.id, linked_later=linked_later)
                return existing, False
            if not linked_later:
                await s.execute(update(MessageRow).where(MessageRow.id == message.id).values(escalation_id=row.id))
            await s.commit()
            return escalation_of(row, [message.id]), True

    async def attach_message(self, escalation_id: int, message_id: int, *, linked_later: bool = False) -> None:
        """The message joins the escalation (see `open` for `linked_later`), which counts as its last change."""
        async with self._session() as s:
            if not linked_later:
                await s.execute(
                    update(MessageRow).where(MessageRow.id == message_id).values(escalation_id=escalation_id)
                )
            await s.execute(update(EscalationRow).where(EscalationRow.id == escalation_id).values(updated_at=utcnow()))
            await s.commit()

    async def _load(self, s: AsyncSession, row: EscalationRow, brief: bool = False) -> Escalation:
        if brief:
            return escalation_of(row)
        ids = await s.scalars(select(MessageRow.id).where(MessageRow.escalation_id == row.id).order_by(MessageRow.id))
        notes = (await s.scalars(select(NoteRow).where(NoteRow.escalation_id == row.id).order_by(NoteRow.id))).all()
        return escalation_of(row, list(ids), notes)

    async def get(self, escalation_id: int, *, brief: bool = False) -> Escalation | None:
        """The escalation; `brief` leaves out its message ids and notes."""
        async with self._session() as s:
            row = await s.get(EscalationRow, escalation_id)
            return await self._load(s, row, brief) if row else None

    async def query(
        self,
        *,
        statuses: Sequence[EscalationStatus] | None = None,
        customer_id: int | None = None,
        limit: int = 200,
        after_id: int | None = None,
    ) -> list[Escalation]:
        """Escalations in id order; `after_id` continues a page from there."""
        stmt = select(EscalationRow)
        if after_id is not None:
            stmt = stmt.where(EscalationRow.id > after_id)
        if statuses:
            stmt = stmt.where(EscalationRow.status.in_([st.value for st in statuses]))
        if customer_id is not None:
            stmt = stmt.where(EscalationRow.customer_id == customer_id)
        async with self._session() as s:
            rows = (await s.scalars(stmt.order_by(EscalationRow.id).limit(limit))).all()
            return [await self._load(s, r) for r in rows]

    async def update(
        self, escalation_id: int, *, only_if: Sequence[EscalationStatus] = (), **values: Any
    ) -> Escalation:
        """Set columns on an escalation (status, assignee, priority, intent, timestamps) and return it.

        With `only_if`, a conditional update: it changes the row only while its status is one of those,
        so of two staff acting at once exactly one wins; the other gets an InputError saying why.
        """
        for key in ("status", "priority"):
            if key in values and hasattr(values[key], "value"):
                values[key] = values[key].value
        values.setdefault("updated_at", utcnow())
        stmt = update(EscalationRow).where(EscalationRow.id == escalation_id)
        if only_if:
            stmt = stmt.where(EscalationRow.status.in_([st.value for st in only_if]))
        async with self._session() as s:
            changed = (await s.execute(stmt.values(**values).execution_options(synchronize_session=False))).rowcount  # type: ignore[attr-defined]
            row = await s.get(EscalationRow, escalation_id, populate_existing=True)
            if row is None:
                raise NotFound(f"escalation #{escalation_id} does not exist")
            if not changed:
                by = f" by {row.assignee}" if row.assignee and row.status == EscalationStatus.CLAIMED.value else ""
                raise Conflict(f"escalation #{escalation_id} is already {row.status}{by}")
            await s.commit()
            return await self._load(s, row)

    async def times(self, escalation_id: int) -> dict[str, datetime | None]:
        """Timestamps that are bookkeeping rather than domain state (first response, snooze)."""
        async with self._session() as s:
            row = await s.get(EscalationRow, escalation_id)
            if row is None:
                raise NotFound(f"no escalation {escalation_id}")
            return {"first_response_at": aware(row.first_response_at), "snoozed_until": aware(row.snoozed_until)}

    async def add_note(self, escalation_id: int, author: str, text: str) -> None:
        async with self._session() as s:
            if await s.get(EscalationRow, escalation_id) is None:
                raise NotFound(f"no escalation {escalation_id}")
            s.add(NoteRow(escalation_id=escalation_id, author=author, text=text, at=utcnow()))
            await s.commit()
