"""The outbox's rows: replies queued once (a dedupe key), claimed by one sender, marked as they go."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from bot.domain import OutboundReply, ReplyStatus, utcnow
from bot.errors import InputError
from bot.storage.database import Store, insert_new
from bot.storage.rows import reply_of
from bot.storage.tables import ReplyRow


class Replies(Store):
    """The outbox's rows: replies queued once (a dedupe key), claimed by one sender, marked as they go."""

    async def enqueue(
        self,
        *,
        dedupe_key: str,
        connector: str,
        channel: str,
        recipient_id: str,
        conversation_id: str,
        text: str,
        in_reply_to: str = "",
        direct: bool = False,
        kind: str = "auto",
        escalation_id: int | None = None,
        message_id: int | None = None,
    ) -> OutboundReply | None:
        """Queue a reply; None if one with the same dedupe key was already queued (never twice)."""
        now = utcnow()
        async with self._session() as s:
            row = await insert_new(
                s,
                ReplyRow,
                {
                    "dedupe_key": dedupe_key,
                    "connector": connector,
                    "channel": channel,
                    "recipient_id": recipient_id,
                    "conversation_id": conversation_id,
                    "in_reply_to": in_reply_to,
                    "direct": direct,
                    "text": text,
                    "kind": kind,
                    "status": ReplyStatus.QUEUED.value,
                    "attempts": 0,
                    "escalation_id": escalation_id,
                    "message_id": message_id,
                    "created_at": now,
                    "next_attempt_at": now,
                },
            )
            if row is None:  # the dedupe key is taken: queued before (a redelivery, a retried step)
                return None
            await s.commit()
            return reply_of(row)

    async def claim_due(self, connectors: Sequence[str], now: datetime, limit: int = 50) -> list[OutboundReply]:
        """Mark due queued replies as sending and return them. The conditional UPDATE makes each
        reply go to exactly one worker even when several share the database."""
        async with self._session() as s:
            ids = (
                await s.scalars(
                    select(ReplyRow.id)
                    .where(
                        ReplyRow.status == ReplyStatus.QUEUED.value,
                        ReplyRow.connector.in_(connectors),
                        or_(ReplyRow.next_attempt_at.is_(None), ReplyRow.next_attempt_at <= now),
                    )
                    .order_by(ReplyRow.id)
                    .limit(limit)
                )
            ).all()
            claimed = []
            for reply_id in ids:
                result = await s.execute(
                    update(ReplyRow)
                    .where(ReplyRow.id == reply_id, ReplyRow.status == ReplyStatus.QUEUED.value)
                    .values(status=ReplyStatus.SENDING.value, attempts=ReplyRow.attempts + 1)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(reply_id)
            await s.commit()
            rows = (await s.scalars(select(ReplyRow).where(ReplyRow.id.in_(claimed)).order_by(ReplyRow.id))).all()
            return [reply_of(r) for r in rows]

    async def requeue_stale_sending(self, older_than: datetime) -> int:
        """Replies left 'sending' by a process that died mid-send go back to the queue."""
        async with self._session() as s:
            result = await s.execute(
                update(ReplyRow)
                .where(
                    ReplyRow.status == ReplyStatus.SENDING.value,
                    or_(ReplyRow.next_attempt_at.is_(None), ReplyRow.next_attempt_at <= older_than),
                )
                .values(status=ReplyStatus.QUEUED.value)
            )
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def mark(self, reply_id: int, status: ReplyStatus, **values: Any) -> OutboundReply:
        async with self._session() as s:
            row = await s.get(ReplyRow, reply_id)
            if row is None:
                raise InputError(f"no reply {reply_id}")
            row.status = status.value
            for key, value in values.items():
                setattr(row, key, value)
            await s.commit()
            return reply_of(row)

    async def release(self, reply_ids: Sequence[int]) -> int:
        """Replies this process claimed ('sending') and did not send go back to the queue."""
        async with self._session() as s:
            result = await s.execute(
                update(ReplyRow)
                .where(ReplyRow.id.in_(reply_ids), ReplyRow.status == ReplyStatus.SENDING.value)
                .values(status=ReplyStatus.QUEUED.value)
            )
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def query(
        self,
        *,
        escalation_id: int | None = None,
        message_id: int | None = None,
        statuses: Sequence[ReplyStatus] | None = None,
        limit: int = 500,
    ) -> list[OutboundReply]:
        stmt = select(ReplyRow)
        if escalation_id is not None:
            stmt = stmt.where(ReplyRow.escalation_id == escalation_id)
        if message_id is not None:
            stmt = stmt.where(ReplyRow.message_id == message_id)
        if statuses:
            stmt = stmt.where(ReplyRow.status.in_([st.value for st in statuses]))
        async with self._session() as s:
            return [reply_of(r) for r in (await s.scalars(stmt.order_by(ReplyRow.id).limit(limit))).all()]
