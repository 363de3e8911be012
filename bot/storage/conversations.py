"""Conversation bookkeeping on escalations: which case a follow-up joins, who holds it, what the customer
gave, and the last follow-up acknowledgement. Conditional updates, so concurrent workers agree."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update

from bot.domain import ConversationState, EscalationStatus
from bot.storage.database import Database
from bot.storage.tables import EscalationRow, MessageRow

_ACTIVE = (EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value)

# Built once (routing asks for most messages): each of the customer's cases with its latest message.
_LATEST = (
    select(MessageRow.escalation_id, func.max(MessageRow.sent_at).label("last"))
    .where(MessageRow.customer_id == bindparam("customer_id"), MessageRow.escalation_id.is_not(None))
    .group_by(MessageRow.escalation_id)
    .subquery()
)
_RECENT = (
    select(EscalationRow.id)
    .join(_LATEST, _LATEST.c.escalation_id == EscalationRow.id)
    .where(
        EscalationRow.customer_id == bindparam("customer_id"),
        EscalationRow.channel == bindparam("channel"),
        EscalationRow.status.in_(_ACTIVE),
        _LATEST.c.last >= bindparam("since"),
    )
    .order_by(EscalationRow.id.desc())
    .limit(1)
)


class ConversationStore:
    """Reads and writes the conversation columns of escalations (inside the caller's unit of work)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def recent_case(self, customer_id: int, channel: str, since: datetime) -> int | None:
        """The customer's active escalation on `channel` with a message sent at or after `since`, if any:
        consecutive messages close together are one conversation even where each is its own thread."""
        async with self._db.session() as s:
            return await s.scalar(_RECENT, {"customer_id": customer_id, "channel": channel, "since": since})

    async def take_acknowledgement(self, escalation_id: int, now: datetime, quiet: timedelta) -> bool:
        """Claim the right to acknowledge a follow-up: True for exactly one caller per quiet period."""
        async with self._db.session() as s:
            result = await s.execute(
                update(EscalationRow)
                .where(
                    EscalationRow.id == escalation_id,
                    or_(EscalationRow.acked_at.is_(None), EscalationRow.acked_at <= now - quiet),
                )
                .values(acked_at=now)
                .execution_options(synchronize_session=False)
            )
            await s.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_state(self, escalation_id: int, state: ConversationState) -> ConversationState | None:
        """Set who holds the conversation; returns the state before, or None when it was already `state`."""
        async with self._db.session() as s:
            before = await s.scalar(select(EscalationRow.conversation_state).where(EscalationRow.id == escalation_id))
            if before is None or before == state.value:
                return None
            await s.execute(
                update(EscalationRow)
                .where(EscalationRow.id == escalation_id)
                .values(conversation_state=state.value)
                .execution_options(synchronize_session=False)
            )
            await s.commit()
            return ConversationState(before)

    async def add_details(self, escalation_id: int, found: Mapping[str, str]) -> dict[str, str]:
        """Record what the customer gave (kept where already known: the first answer stands)."""
        async with self._db.session() as s:
            text = await s.scalar(select(EscalationRow.details).where(EscalationRow.id == escalation_id))
            try:
                details = {str(k): str(v) for k, v in json.loads(text or "{}").items()}
            except (ValueError, AttributeError):
                details = {}
            merged = {**dict(found), **details}
            if merged != details:
                await s.execute(
                    update(EscalationRow)
                    .where(EscalationRow.id == escalation_id)
                    .values(details=json.dumps(merged, sort_keys=True))
                    .execution_options(synchronize_session=False)
                )
                await s.commit()
            return merged

    async def staff_replied(self, escalation_id: int) -> bool:
        """Whether a person has answered the customer on this case (the bot then stays silent)."""
        async with self._db.session() as s:
            at = await s.scalar(select(EscalationRow.first_response_at).where(EscalationRow.id == escalation_id))
            return at is not None
