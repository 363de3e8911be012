"""Follow-ups, CSAT surveys and opt-outs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update

from bot.domain import EscalationStatus, utcnow
from bot.errors import InputError
from bot.relationships.models import (
    CsatStatus,
    CsatSurvey,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    OptOut,
)
from bot.storage.database import commit_unique
from bot.storage.relationships._base import RepositoryBase, _at
from bot.storage.rows import aware
from bot.storage.tables import (
    CsatSurveyRow,
    CustomerAccountRow,
    CustomerRow,
    EscalationRow,
    FollowUpRow,
    MessageRow,
    OptOutRow,
)


def _followup(row: FollowUpRow) -> FollowUp:
    return FollowUp(
        row.id,
        row.dedupe_key,
        FollowUpKind(row.kind),
        row.customer_id,
        FollowUpStatus(row.status),
        _at(row.due_at),
        row.escalation_id,
        row.note,
        row.reply_id,
    )


def _survey(row: CsatSurveyRow) -> CsatSurvey:
    return CsatSurvey(
        row.id,
        row.escalation_id,
        row.customer_id,
        row.channel,
        CsatStatus(row.status),
        _at(row.asked_at),
        row.score,
        row.answer_text,
        aware(row.answered_at),
    )


# Built once: the CSAT interceptor asks for nearly every message.
_OUTSTANDING = (
    select(CsatSurveyRow)
    .where(
        CsatSurveyRow.customer_id == bindparam("customer_id"),
        CsatSurveyRow.channel == bindparam("channel"),
        CsatSurveyRow.status.in_([CsatStatus.ASKED.value, CsatStatus.REASKED.value]),
    )
    .order_by(CsatSurveyRow.id.desc())
    .limit(1)
)


class FollowUpStore(RepositoryBase):
    # -- follow-ups -----------------------------------------------------------------------------

    async def schedule(
        self, dedupe_key: str, kind: FollowUpKind, customer_id: int, due_at: datetime, escalation_id: int | None = None
    ) -> FollowUp | None:
        """Persist a follow-up; None if one with this key exists (each cause gets one, ever)."""
        now = utcnow()
        async with self._session() as s:
            if await s.scalar(select(FollowUpRow.id).where(FollowUpRow.dedupe_key == dedupe_key)) is not None:
                return None
            row = FollowUpRow(
                dedupe_key=dedupe_key,
                kind=kind.value,
                customer_id=customer_id,
                escalation_id=escalation_id,
                status=FollowUpStatus.PENDING.value,
                due_at=due_at,
                note="",
                created_at=now,
                updated_at=now,
            )
            if not await commit_unique(s, row):
                return None
            return _followup(row)

    async def due_followups(self, now: datetime, limit: int = 100) -> list[FollowUp]:
        async with self._session() as s:
            rows = (
                await s.scalars(
                    select(FollowUpRow)
                    .where(FollowUpRow.status == FollowUpStatus.PENDING.value, FollowUpRow.due_at <= now)
                    .order_by(FollowUpRow.due_at, FollowUpRow.id)
                    .limit(limit)
                )
            ).all()
            return [_followup(r) for r in rows]

    async def set_followup(
        self,
        followup_id: int,
        status: FollowUpStatus,
        *,
        note: str = "",
        due_at: datetime | None = None,
        reply_id: int | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "note": note[:500], "updated_at": utcnow()}
        if due_at is not None:
            values["due_at"] = due_at
        if reply_id is not None:
            values["reply_id"] = reply_id
        async with self._session() as s:
            await s.execute(update(FollowUpRow).where(FollowUpRow.id == followup_id).values(**values))
            await s.commit()

    async def followups(self, customer_id: int | None = None) -> list[FollowUp]:
        stmt = select(FollowUpRow)
        if customer_id is not None:
            stmt = stmt.where(FollowUpRow.customer_id == customer_id)
        async with self._session() as s:
            return [_followup(r) for r in (await s.scalars(stmt.order_by(FollowUpRow.id))).all()]

    async def resolved_without_csat(self, since: datetime) -> list[tuple[int, int, datetime]]:
        """(escalation id, customer id, resolved at) of escalations resolved since `since` with no survey
        scheduled: what a missed "resolved" event (a restart) left behind."""
        scheduled = select(FollowUpRow.escalation_id).where(
            FollowUpRow.kind == FollowUpKind.CSAT.value, FollowUpRow.escalation_id.is_not(None)
        )
        async with self._session() as s:
            rows = (
                await s.execute(
                    select(EscalationRow.id, EscalationRow.customer_id, EscalationRow.resolved_at).where(
                        EscalationRow.status == EscalationStatus.RESOLVED.value,
                        EscalationRow.resolved_at >= since,
                        EscalationRow.id.not_in(scheduled),
                    )
                )
            ).all()
        return [(i, c, _at(r)) for i, c, r in rows]

    async def quiet_customers(self, tiers: Sequence[str], before: datetime) -> list[tuple[int, datetime]]:
        """(customer id, last message at) of customers in `tiers` not heard from since `before`."""
        async with self._session() as s:
            last = func.max(MessageRow.received_at)
            rows = (
                await s.execute(
                    select(MessageRow.customer_id, last)
                    .join(CustomerRow, CustomerRow.id == MessageRow.customer_id)
                    .where(CustomerRow.tier.in_(list(tiers)))
                    .group_by(MessageRow.customer_id)
                    .having(last < before)
                )
            ).all()
        return [(int(c), _at(at)) for c, at in rows if c is not None]

    async def birthdays(self) -> list[tuple[int, date]]:
        async with self._session() as s:
            rows = (
                await s.execute(
                    select(CustomerAccountRow.customer_id, CustomerAccountRow.birthday).where(
                        CustomerAccountRow.birthday.is_not(None), CustomerAccountRow.merged_into.is_(None)
                    )
                )
            ).all()
        return [(int(c), b) for c, b in rows if b is not None]

    # -- CSAT -----------------------------------------------------------------------------------

    async def open_survey(self, escalation_id: int, customer_id: int, channel: str) -> CsatSurvey | None:
        async with self._session() as s:
            if await s.scalar(select(CsatSurveyRow.id).where(CsatSurveyRow.escalation_id == escalation_id)):
                return None
            row = CsatSurveyRow(
                escalation_id=escalation_id,
                customer_id=customer_id,
                channel=channel,
                status=CsatStatus.ASKED.value,
                answer_text="",
                asked_at=utcnow(),
            )
            if not await commit_unique(s, row):
                return None
            return _survey(row)

    async def outstanding_survey(self, customer_id: int, channel: str) -> CsatSurvey | None:
        """The newest survey still waiting for this customer's answer on this channel."""
        async with self._session() as s:
            row = await s.scalar(_OUTSTANDING, {"customer_id": customer_id, "channel": channel})
            return _survey(row) if row else None

    async def update_survey(
        self,
        survey_id: int,
        status: CsatStatus,
        *,
        score: int | None = None,
        text: str = "",
        message_id: int | None = None,
    ) -> CsatSurvey:
        async with self._session() as s:
            row = await s.get(CsatSurveyRow, survey_id)
            if row is None:
                raise InputError(f"no survey {survey_id}")
            row.status = status.value
            if status in (CsatStatus.ANSWERED, CsatStatus.UNANSWERED):
                row.score, row.answered_at = score, utcnow()
            if text:
                row.answer_text = text[:1000]
            if message_id is not None:
                row.answer_message_id = message_id
            await s.commit()
            return _survey(row)

    async def surveys(self, customer_id: int | None = None) -> list[CsatSurvey]:
        stmt = select(CsatSurveyRow)
        if customer_id is not None:
            stmt = stmt.where(CsatSurveyRow.customer_id == customer_id)
        async with self._session() as s:
            return [_survey(r) for r in (await s.scalars(stmt.order_by(CsatSurveyRow.id))).all()]

    async def expire_surveys(self, asked_before: datetime) -> int:
        async with self._session() as s:
            result = await s.execute(
                update(CsatSurveyRow)
                .where(
                    CsatSurveyRow.status.in_([CsatStatus.ASKED.value, CsatStatus.REASKED.value]),
                    CsatSurveyRow.asked_at < asked_before,
                )
                .values(status=CsatStatus.UNANSWERED.value)
            )
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    # -- opt-outs -------------------------------------------------------------------------------

    async def opt_out(self, customer_id: int, channel: str, message_id: int | None = None) -> bool:
        """True if the customer was not opted out on this channel before."""
        async with self._session() as s:
            if await self._opted(s, customer_id, channel):
                return False
            row = OptOutRow(customer_id=customer_id, channel=channel, at=utcnow(), message_id=message_id)
            return await commit_unique(s, row)

    async def opt_in(self, customer_id: int, channel: str) -> bool:
        async with self._session() as s:
            row = await self._opted(s, customer_id, channel)
            if row is None:
                return False
            await s.delete(row)
            await s.commit()
            return True

    async def is_opted_out(self, customer_id: int, channel: str) -> bool:
        async with self._session() as s:
            return await self._opted(s, customer_id, channel) is not None

    async def opt_outs(self, customer_id: int) -> list[OptOut]:
        async with self._session() as s:
            rows = (
                await s.scalars(select(OptOutRow).where(OptOutRow.customer_id == customer_id).order_by(OptOutRow.id))
            ).all()
            return [OptOut(r.customer_id, r.channel, _at(r.at)) for r in rows]
