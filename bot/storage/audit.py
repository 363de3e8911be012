"""The audit trail: who did what to which message, customer or case."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from bot.domain import AuditEvent, utcnow
from bot.storage.database import Store
from bot.storage.rows import audit_of
from bot.storage.tables import AuditRow


class AuditLog(Store):
    """The audit trail: who did what to which message, customer or case."""

    async def record(
        self,
        kind: str,
        detail: Mapping[str, Any] | None = None,
        *,
        actor: str = "bot",
        message_id: int | None = None,
        customer_id: int | None = None,
        escalation_id: int | None = None,
    ) -> None:
        # Nothing reads an audit row back inside the unit that writes it (audit_events writes them first):
        # the unit's audit rows go in together, one statement, at its end.
        await self._db.insert_later(
            AuditRow,
            {
                "at": utcnow(),
                "kind": kind,
                "actor": actor,
                "detail": dict(detail or {}),
                "message_id": message_id,
                "customer_id": customer_id,
                "escalation_id": escalation_id,
            },
        )

    async def events(
        self,
        *,
        message_id: int | None = None,
        escalation_id: int | None = None,
        kind: str | None = None,
        limit: int = 500,
    ) -> list[AuditEvent]:
        stmt = select(AuditRow)
        if message_id is not None:
            stmt = stmt.where(AuditRow.message_id == message_id)
        if escalation_id is not None:
            stmt = stmt.where(AuditRow.escalation_id == escalation_id)
        if kind is not None:
            stmt = stmt.where(AuditRow.kind == kind)
        await self._db.write_later()
        async with self._session() as s:
            return [audit_of(r) for r in (await s.scalars(stmt.order_by(AuditRow.id).limit(limit))).all()]
