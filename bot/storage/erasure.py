"""Erasing a customer: every row that holds what they wrote or who they are, in one transaction.

What goes: the customer (and customers merged into them), their identities, messages (and messages
their accounts sent before being linked), escalations with notes, replies sent to them, the account
record, purchases, follow-ups, CSAT answers, opt-outs, merges, topic memberships, the audit trail of
their cases, and the durable events and webhook bodies that describe them. Rows are deleted, not blanked:
an empty row still says someone was here, and when.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Delete, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import EscalationStatus
from bot.storage.database import Database
from bot.storage.tables import (
    AuditRow,
    CsatSurveyRow,
    CustomerAccountRow,
    CustomerMergeRow,
    CustomerRow,
    EscalationRow,
    EventDeliveryRow,
    EventRow,
    FollowUpRow,
    IdentityRow,
    MessageRow,
    NoteRow,
    OptOutRow,
    PurchaseRow,
    ReplyRow,
    TopicMessageRow,
    WebhookDeliveryRow,
)

_ACTIVE = (EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value)
_CHUNK = 500  # ids per IN (...): SQLite allows 32k bound parameters, PostgreSQL 65k; stay far below


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    items = sorted(set(ids))
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


class ErasureStore:
    """Finds and deletes one customer's rows; runs inside the caller's unit of work."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def exists(self, customer_id: int) -> bool:
        async with self._db.session() as s:
            return await s.get(CustomerRow, customer_id) is not None

    async def active_escalations(self, customer_id: int) -> list[int]:
        """Ids of the customer's open or claimed escalations (and of customers merged into them)."""
        async with self._db.session() as s:
            people = await self._people(s, customer_id)
            found = await s.scalars(
                select(EscalationRow.id).where(EscalationRow.customer_id.in_(people), EscalationRow.status.in_(_ACTIVE))
            )
            return sorted(found)

    async def erase(self, customer_id: int) -> dict[str, int]:
        """Delete every row about the customer; how many rows went, per table (no values)."""
        async with self._db.session() as s:
            people = await self._people(s, customer_id)
            accounts = [
                (row.channel, row.platform_user_id)
                for row in await s.scalars(select(IdentityRow).where(IdentityRow.customer_id.in_(people)))
            ]
            messages = set(await s.scalars(select(MessageRow.id).where(MessageRow.customer_id.in_(people))))
            if accounts:  # what their accounts sent before anyone knew whose they were
                messages |= set(
                    await s.scalars(
                        select(MessageRow.id).where(tuple_(MessageRow.channel, MessageRow.author_id).in_(accounts))
                    )
                )
            escalations = set(await s.scalars(select(EscalationRow.id).where(EscalationRow.customer_id.in_(people))))
            replies = set(
                await s.scalars(
                    select(ReplyRow.id).where(
                        or_(
                            ReplyRow.escalation_id.in_(escalations or [-1]),
                            ReplyRow.message_id.in_(messages or [-1]),
                            tuple_(ReplyRow.channel, ReplyRow.recipient_id).in_(accounts or [("", "")]),
                        )
                    )
                )
            )
            events = await self._events(s, people, messages, escalations)
            counts: dict[str, int] = {}

            async def gone(table: str, stmt: Delete) -> None:
                result = await s.execute(stmt)
                counts[table] = counts.get(table, 0) + int(result.rowcount)  # type: ignore[attr-defined]

            for chunk in _chunks(await self._webhook_bodies(s, people, messages, escalations)):
                await gone("webhook_deliveries", delete(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(chunk)))
            for chunk in _chunks(events):
                await gone(
                    "webhook_deliveries", delete(WebhookDeliveryRow).where(WebhookDeliveryRow.event_id.in_(chunk))
                )
                await gone("event_deliveries", delete(EventDeliveryRow).where(EventDeliveryRow.event_id.in_(chunk)))
                await gone("events", delete(EventRow).where(EventRow.id.in_(chunk)))
            for chunk in _chunks(messages):
                await gone("topic_messages", delete(TopicMessageRow).where(TopicMessageRow.message_id.in_(chunk)))
            await gone(
                "csat_surveys",
                delete(CsatSurveyRow).where(
                    or_(CsatSurveyRow.customer_id.in_(people), CsatSurveyRow.escalation_id.in_(escalations or [-1]))
                ),
            )
            await gone("opt_outs", delete(OptOutRow).where(OptOutRow.customer_id.in_(people)))
            await gone(
                "followups",
                delete(FollowUpRow).where(
                    or_(
                        FollowUpRow.customer_id.in_(people),
                        FollowUpRow.escalation_id.in_(escalations or [-1]),
                        FollowUpRow.reply_id.in_(replies or [-1]),
                    )
                ),
            )
            for chunk in _chunks(replies):
                await gone("replies", delete(ReplyRow).where(ReplyRow.id.in_(chunk)))
            for chunk in _chunks(escalations):
                await gone("escalation_notes", delete(NoteRow).where(NoteRow.escalation_id.in_(chunk)))
                await gone("audit_events", delete(AuditRow).where(AuditRow.escalation_id.in_(chunk)))
            for chunk in _chunks(messages):
                await gone("audit_events", delete(AuditRow).where(AuditRow.message_id.in_(chunk)))
                await gone("messages", delete(MessageRow).where(MessageRow.id.in_(chunk)))
            await gone("audit_events", delete(AuditRow).where(AuditRow.customer_id.in_(people)))
            for chunk in _chunks(escalations):
                await gone("escalations", delete(EscalationRow).where(EscalationRow.id.in_(chunk)))
            await gone("purchases", delete(PurchaseRow).where(PurchaseRow.customer_id.in_(people)))
            await gone(
                "customer_merges",
                delete(CustomerMergeRow).where(
                    or_(CustomerMergeRow.source_id.in_(people), CustomerMergeRow.target_id.in_(people))
                ),
            )
            await gone(
                "customer_accounts", delete(CustomerAccountRow).where(CustomerAccountRow.customer_id.in_(people))
            )
            await gone("identities", delete(IdentityRow).where(IdentityRow.customer_id.in_(people)))
            await gone("customers", delete(CustomerRow).where(CustomerRow.id.in_(people)))
            await s.commit()
            return {table: n for table, n in counts.items() if n}

    async def _people(self, s: AsyncSession, customer_id: int) -> list[int]:
        """The customer and every customer merged into them (their rows still hold names), transitively."""
        people = {customer_id}
        frontier = {customer_id}
        while frontier:
            merged = set(
                await s.scalars(
                    select(CustomerAccountRow.customer_id).where(CustomerAccountRow.merged_into.in_(frontier))
                )
            )
            frontier = merged - people
            people |= frontier
        return sorted(people)

    async def _events(self, s: AsyncSession, people: list[int], messages: set[int], escalations: set[int]) -> set[int]:
        """Durable events that name one of these customers, messages or escalations (their webhook bodies
        carry the texts). Payloads are JSON of a few ids, read here rather than queried per dialect."""
        found = set()
        wanted: dict[str, set[int]] = {
            "customer_id": set(people),
            "message_id": messages,
            "escalation_id": escalations,
        }
        for event_id, payload in await s.execute(select(EventRow.id, EventRow.payload)):
            if _names_any(payload, wanted):
                found.add(event_id)
        return found

    async def _webhook_bodies(
        self, s: AsyncSession, people: list[int], messages: set[int], escalations: set[int]
    ) -> set[int]:
        """Webhook deliveries whose body describes them, also those whose event row was pruned since."""
        found = set()
        for delivery_id, body in await s.execute(select(WebhookDeliveryRow.id, WebhookDeliveryRow.body)):
            try:
                data = json.loads(body).get("data", {})
            except (ValueError, AttributeError):
                continue
            if not isinstance(data, dict):
                continue
            esc, msg = data.get("escalation"), data.get("message")
            if (
                _names_any(data, {"customer_id": set(people), "escalation_id": escalations})
                or _names_any(esc, {"id": escalations, "customer_id": set(people)})
                or _names_any(msg, {"id": messages})
            ):
                found.add(delivery_id)
        return found


def _names_any(payload: object, wanted: dict[str, set[int]]) -> bool:
    if not isinstance(payload, dict):
        return False
    return any(isinstance(payload.get(key), int) and payload[key] in ids for key, ids in wanted.items())
