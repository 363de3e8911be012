"""Connectors' small durable state (cursors, ledgers), keyed by name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from bot.domain import utcnow
from bot.storage.database import Store
from bot.storage.tables import ConnectorStateRow


class ConnectorState(Store):
    """Connectors' small durable state (cursors, ledgers), keyed by name."""

    async def get(self, key: str) -> str | None:
        async with self._session() as s:
            row = await s.get(ConnectorStateRow, key)
            return row.value if row else None

    async def set(self, key: str, value: str) -> None:
        async with self._session() as s:
            row = await s.get(ConnectorStateRow, key)
            if row is None:
                s.add(ConnectorStateRow(key=key, value=value, updated_at=utcnow()))
            else:
                row.value = value
                row.updated_at = utcnow()
            await s.commit()

    async def prune(self, prefix: str, before: datetime) -> int:
        async with self._session() as s:
            result = await s.execute(
                delete(ConnectorStateRow).where(
                    ConnectorStateRow.key.startswith(prefix, autoescape=True), ConnectorStateRow.updated_at < before
                )
            )
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]
