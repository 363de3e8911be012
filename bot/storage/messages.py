"""Stored inbound messages: storing (a redelivery is not stored twice), the processing claim, queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select, update

from bot.domain import InboundMessage, StoredMessage, utcnow
from bot.errors import StorageError
from bot.storage.database import Store, insert_new
from bot.storage.rows import analysis_to_json, message_of
from bot.storage.tables import MessageRow
from bot.storage.turns import WAITING
from nlp.types import Analysis


@cache
def _update(columns: tuple[str, ...]) -> Any:
    """The UPDATE of these columns of one message, built once per set of columns (the pipeline's last
    write for each message); the values are its parameters."""
    return (
        update(MessageRow)
        .where(MessageRow.id == bindparam("message_id"))
        .values({c: bindparam(f"new_{c}") for c in columns})
        .execution_options(synchronize_session=False)
    )


class Messages(Store):
    """Stored inbound messages: storing (a redelivery is not stored twice), the processing claim, queries."""

    async def start_processing(self, message_id: int) -> bool:
        """Mark a stored message as being processed, inside the caller's unit of work.

        False when it is no longer waiting (processed already, by this process or a concurrent one): the
        conditional update is what makes processing a redelivered message change nothing.
        """
        return message_id in await self.start_processing_many([message_id])

    async def start_processing_many(self, message_ids: Sequence[int]) -> set[int]:
        """`start_processing` for several messages in one statement: the ids it marked (those still waiting)."""
        if not message_ids:
            return set()
        async with self._session() as s:
            result = await s.execute(
                update(MessageRow)
                .where(MessageRow.id.in_(message_ids), MessageRow.action == "")
                .values(action="processing")
                .returning(MessageRow.id)
                .execution_options(synchronize_session=False)
            )
            claimed = set(result.scalars())
            await s.commit()
            return claimed

    async def store(self, msg: InboundMessage) -> tuple[StoredMessage, bool]:
        """Persist an inbound message; returns (stored, created). A known (channel, id) is not stored again."""
        same = (MessageRow.channel == msg.channel, MessageRow.external_id == msg.external_id)
        async with self._session() as s:
            # Insert first: a new message (the common case) costs one statement, a redelivery two.
            row = await insert_new(
                s,
                MessageRow,
                {
                    "channel": msg.channel,
                    "external_id": msg.external_id,
                    "connector": msg.via,
                    "conversation_id": msg.conversation_id,
                    "author_id": msg.author_id,
                    "author_handle": msg.author_handle,
                    "author_name": msg.author_name,
                    "text": msg.text,
                    "direct": msg.direct,
                    "sent_at": msg.sent_at,
                    "received_at": utcnow(),
                },
            )
            if row is not None:
                await s.commit()
                return message_of(row), True
            existing = await s.scalar(select(MessageRow).where(*same))
            if existing is None:
                raise StorageError(f"message {msg.channel}:{msg.external_id[:40]} violates a unique key")
            return message_of(existing), False

    async def update(
        self,
        message_id: int,
        *,
        customer_id: int | None = None,
        analysis: Analysis | None = None,
        action: str | None = None,
        escalation_id: int | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if customer_id is not None:
            values["customer_id"] = customer_id
        if analysis is not None:
            values.update(
                analysis=analysis_to_json(analysis), intent=analysis.intent.value, sentiment=analysis.sentiment.value
            )
        if action is not None:
            values["action"] = action
        if escalation_id is not None:
            values["escalation_id"] = escalation_id
        if error is not None:
            values["error"] = error[:2000]
        if not values:
            return
        async with self._session() as s:
            await s.execute(
                _update(tuple(values)), {"message_id": message_id, **{f"new_{k}": v for k, v in values.items()}}
            )
            await s.commit()

    async def get(self, message_id: int) -> StoredMessage | None:
        async with self._session() as s:
            row = await s.get(MessageRow, message_id)
            return message_of(row) if row else None

    async def query(
        self,
        *,
        customer_id: int | None = None,
        escalation_id: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
        since: datetime | None = None,
    ) -> list[StoredMessage]:
        stmt = select(MessageRow)
        if customer_id is not None:
            stmt = stmt.where(MessageRow.customer_id == customer_id)
        if escalation_id is not None:
            stmt = stmt.where(MessageRow.escalation_id == escalation_id)
        if since is not None:
            stmt = stmt.where(MessageRow.received_at >= since)
        order = MessageRow.id.desc() if newest_first else MessageRow.id
        async with self._session() as s:
            rows = (await s.scalars(stmt.order_by(order).limit(limit))).all()
            return [message_of(r) for r in rows]

    async def unfinished(self, limit: int = 1000) -> list[StoredMessage]:
        """Messages stored but not processed yet (waiting in the queue, or left by a process that stopped)."""
        async with self._session() as s:
            rows = (
                await s.scalars(
                    select(MessageRow).where(MessageRow.action == WAITING).order_by(MessageRow.id).limit(limit)
                )
            ).all()
            return [message_of(r) for r in rows]

    async def waiting(self, ids: Sequence[int]) -> list[StoredMessage]:
        """Those of `ids` that are stored and not processed yet, oldest first."""
        async with self._session() as s:
            rows = (
                await s.scalars(
                    select(MessageRow)
                    .where(MessageRow.id.in_(list(ids)), MessageRow.action == WAITING)
                    .order_by(MessageRow.id)
                )
            ).all()
            return [message_of(r) for r in rows]

    async def count_by_sentiment(self, since: datetime) -> dict[str, int]:
        async with self._session() as s:
            rows = await s.execute(
                select(MessageRow.sentiment, func.count())
                .where(MessageRow.received_at >= since)
                .group_by(MessageRow.sentiment)
            )
            return {(k or "unclassified"): int(v) for k, v in rows.all()}
