"""What the relationship stores share: the session factory and a few row helpers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import utcnow
from bot.storage.database import Store
from bot.storage.rows import aware
from bot.storage.tables import OptOutRow
from nlp.types import Intent

_COMPLAINTS = (Intent.COMPLAINT.value, Intent.CANCELLATION.value)


def _at(value: datetime | None) -> datetime:
    return aware(value) or utcnow()


class RepositoryBase(Store):
    """One transaction per method (or the caller's unit); rows never leave, domain objects do."""

    @staticmethod
    async def _opted(s: AsyncSession, customer_id: int, channel: str) -> OptOutRow | None:
        return await s.scalar(
            select(OptOutRow).where(OptOutRow.customer_id == customer_id, OptOutRow.channel == channel)
        )
