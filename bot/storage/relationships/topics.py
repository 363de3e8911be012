"""Complaints and the root-cause topics they are grouped into."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from bot.domain import utcnow
from bot.relationships.models import Complaint
from bot.storage.relationships._base import _COMPLAINTS, RepositoryBase, _at
from bot.storage.tables import (
    MessageRow,
    TopicMessageRow,
    TopicRow,
)


class TopicStore(RepositoryBase):
    # -- topics ---------------------------------------------------------------------------------

    async def complaints(self, since: datetime, limit: int = 5000) -> list[Complaint]:
        async with self._session() as s:
            rows = (
                await s.scalars(
                    select(MessageRow)
                    .where(MessageRow.intent.in_(_COMPLAINTS), MessageRow.received_at >= since)
                    .order_by(MessageRow.id.desc())
                    .limit(limit)
                )
            ).all()
        return [
            Complaint(r.id, r.customer_id, r.channel, r.text, _at(r.received_at), r.escalation_id)
            for r in reversed(rows)
        ]

    async def replace_topics(self, topics: Sequence[tuple[str, dict[str, Any], Sequence[int]]]) -> list[int]:
        """Swap the stored topics for a fresh clustering: [(label, terms, message ids)] -> topic ids."""
        now = utcnow()
        async with self._session() as s:
            await s.execute(delete(TopicMessageRow))
            await s.execute(delete(TopicRow))
            ids = []
            for label, terms, message_ids in topics:
                row = TopicRow(label=label[:200], terms=terms, computed_at=now)
                s.add(row)
                await s.flush()
                s.add_all(TopicMessageRow(topic_id=row.id, message_id=m) for m in sorted(set(message_ids)))
                ids.append(row.id)
            await s.commit()
            return ids

    async def topic_members(self) -> list[tuple[int, str, dict[str, Any], list[Complaint]]]:
        """Stored topics with their complaints: [(id, label, terms, complaints)]."""
        async with self._session() as s:
            topics = (await s.scalars(select(TopicRow).order_by(TopicRow.id))).all()
            out = []
            for t in topics:
                rows = (
                    await s.scalars(
                        select(MessageRow)
                        .join(TopicMessageRow, TopicMessageRow.message_id == MessageRow.id)
                        .where(TopicMessageRow.topic_id == t.id)
                        .order_by(MessageRow.id)
                    )
                ).all()
                out.append(
                    (
                        t.id,
                        t.label,
                        dict(t.terms or {}),
                        [
                            Complaint(r.id, r.customer_id, r.channel, r.text, _at(r.received_at), r.escalation_id)
                            for r in rows
                        ],
                    )
                )
            return out
