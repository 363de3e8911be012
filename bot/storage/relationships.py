"""Data access for customer relationships; like the core repository, it returns domain objects only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import EscalationStatus, Tier, utcnow
from bot.errors import InputError
from bot.relationships.models import (
    Account,
    Complaint,
    CsatStatus,
    CsatSurvey,
    CustomerStats,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    ImportRow,
    Merge,
    OptOut,
    Purchase,
    Signal,
    Standing,
)
from bot.storage.database import Database
from bot.storage.repository import _aware
from bot.storage.tables import (
    CsatSurveyRow,
    CustomerAccountRow,
    CustomerMergeRow,
    CustomerRow,
    EscalationRow,
    FollowUpRow,
    IdentityRow,
    MessageRow,
    OptOutRow,
    PurchaseRow,
    TopicMessageRow,
    TopicRow,
)
from nlp.types import Intent, Sentiment

_COMPLAINTS = (Intent.COMPLAINT.value, Intent.CANCELLATION.value)


def _at(value: datetime | None) -> datetime:
    return _aware(value) or utcnow()


def _followup(row: FollowUpRow) -> FollowUp:
    return FollowUp(row.id, row.dedupe_key, FollowUpKind(row.kind), row.customer_id, FollowUpStatus(row.status),
                    _at(row.due_at), row.escalation_id, row.note, row.reply_id)  # fmt: skip


def _survey(row: CsatSurveyRow) -> CsatSurvey:
    return CsatSurvey(row.id, row.escalation_id, row.customer_id, row.channel, CsatStatus(row.status),
                      _at(row.asked_at), row.score, row.answer_text, _aware(row.answered_at))  # fmt: skip


def _merge(row: CustomerMergeRow) -> Merge:
    moved = {k: tuple(int(i) for i in v) for k, v in (row.moved or {}).items()}
    return Merge(row.id, row.source_id, row.target_id, moved, row.actor, _at(row.at), row.reason,
                 _aware(row.undone_at))  # fmt: skip


def _purchase(row: PurchaseRow) -> Purchase:
    return Purchase(row.id, row.customer_id, row.reference, row.amount, _at(row.at), row.source)


# What a merge moves from one customer to another: table, its customer column, and the row id column.
_MOVABLE: tuple[tuple[str, Any, Any], ...] = (
    ("identities", IdentityRow.customer_id, IdentityRow.id),
    ("messages", MessageRow.customer_id, MessageRow.id),
    ("escalations", EscalationRow.customer_id, EscalationRow.id),
    ("purchases", PurchaseRow.customer_id, PurchaseRow.id),
    ("followups", FollowUpRow.customer_id, FollowUpRow.id),
    ("csat_surveys", CsatSurveyRow.customer_id, CsatSurveyRow.id),
)


class RelationshipRepository:
    """Accounts, purchases, follow-ups, surveys, opt-outs, merges and topics. One transaction per method."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _session(self) -> AsyncSession:
        return self._db.sessions()

    # -- accounts, tiers and stages -------------------------------------------------------------

    async def account(self, customer_id: int) -> Account:
        """The customer's account, with the values of customers merged into it added in."""
        async with self._session() as s:
            own = await s.get(CustomerAccountRow, customer_id)
            merged = (await s.scalars(select(CustomerAccountRow).where(
                CustomerAccountRow.merged_into == customer_id))).all()  # fmt: skip
        rows = [r for r in (own, *merged) if r is not None]
        if not rows:
            return Account(customer_id)
        first = own or rows[0]
        return Account(
            customer_id=customer_id, external_id=own.external_id if own else None,
            lifetime_value=sum(r.lifetime_value for r in rows), orders=sum(r.orders for r in rows),
            birthday=next((r.birthday for r in rows if r.birthday), None),
            account_manager=next((r.account_manager for r in rows if r.account_manager), first.account_manager),
            merged_into=own.merged_into if own else None,
        )  # fmt: skip

    async def stats(self, customer_id: int) -> CustomerStats:
        async with self._session() as s:
            complaints = await s.scalar(select(func.count()).select_from(MessageRow).where(
                MessageRow.customer_id == customer_id, MessageRow.intent.in_(_COMPLAINTS)))  # fmt: skip
            escalations = (await s.execute(select(EscalationRow.created_at, EscalationRow.resolved_at).where(
                EscalationRow.customer_id == customer_id))).all()  # fmt: skip
        hours = sum((_at(done) - _at(opened)).total_seconds() / 3600 for opened, done in escalations if done)
        return CustomerStats(int(complaints or 0), len(escalations), round(hours, 2))

    async def signals(self, customer_id: int, limit: int = 50) -> list[Signal]:
        """Classified messages of the customer, oldest first (the last `limit`)."""
        async with self._session() as s:
            rows = (await s.execute(
                select(MessageRow.received_at, MessageRow.intent, MessageRow.sentiment)
                .where(MessageRow.customer_id == customer_id, MessageRow.intent.is_not(None))
                .order_by(MessageRow.id.desc()).limit(limit)
            )).all()  # fmt: skip
        return [Signal(_at(at), Intent(intent or "other"), Sentiment(sentiment or "neutral")) for at, intent, sentiment
                in reversed(rows)]  # fmt: skip

    async def standing(self, customer_id: int) -> Standing | None:
        async with self._session() as s:
            row = await s.get(CustomerRow, customer_id)
            return self._standing(row) if row else None

    @staticmethod
    def _standing(row: CustomerRow) -> Standing:
        return Standing(row.id, row.display_name, row.email, row.tier, row.tier_reason, row.stage, row.stage_reason)

    async def standings(self) -> list[Standing]:
        """Every customer not merged into another, by id."""
        merged = select(CustomerAccountRow.customer_id).where(CustomerAccountRow.merged_into.is_not(None))
        async with self._session() as s:
            rows = (await s.scalars(select(CustomerRow).where(CustomerRow.id.not_in(merged))
                                    .order_by(CustomerRow.id))).all()  # fmt: skip
            return [self._standing(r) for r in rows]

    async def set_tier(self, customer_id: int, tier: Tier, reason: str) -> str:
        """Store the tier and its reason; returns the previous tier."""
        return await self._set(customer_id, tier=tier.value, tier_reason=reason)

    async def set_stage(self, customer_id: int, stage: str, reason: str) -> str:
        """Store the stage and its reason; returns the previous stage."""
        return await self._set(customer_id, stage=stage, stage_reason=reason)

    async def _set(self, customer_id: int, **values: str) -> str:
        async with self._session() as s:
            row = await s.get(CustomerRow, customer_id)
            if row is None:
                raise InputError(f"no customer {customer_id}")
            key = "tier" if "tier" in values else "stage"
            before = str(getattr(row, key))
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = utcnow()
            await s.commit()
            return before

    # -- import ---------------------------------------------------------------------------------

    async def import_rows(self, rows: Sequence[ImportRow]) -> tuple[list[tuple[int, int, bool]], list[str]]:
        """Write valid rows in one transaction: ([(line, customer id, created)], problems).

        A row is matched by external id, then by any of its platform ids; a row whose ids point at two
        different customers is reported and skipped rather than merged behind anyone's back.
        """
        done: list[tuple[int, int, bool]] = []
        problems: list[str] = []
        now = utcnow()
        async with self._session() as s:
            for row in rows:
                account = await s.scalar(select(CustomerAccountRow).where(
                    CustomerAccountRow.external_id == row.external_id))  # fmt: skip
                customer_id = account.customer_id if account else None
                if account is not None and account.merged_into is not None:
                    customer_id = account.merged_into
                owners: dict[int, str] = {}
                for channel, user in row.identities:
                    ident = await s.scalar(select(IdentityRow).where(
                        IdentityRow.channel == channel, IdentityRow.platform_user_id == user))  # fmt: skip
                    if ident is not None:
                        owners.setdefault(ident.customer_id, f"{channel}_id {user}")
                others = [cid for cid in owners if cid != customer_id]
                if customer_id is None and len(others) == 1:
                    other = await s.get(CustomerAccountRow, others[0])
                    if other is None or other.external_id is None:
                        customer_id, others = others[0], []  # a customer who wrote in before being imported
                if others:
                    what = owners[others[0]]
                    problems.append(f"line {row.line}: {what} already belongs to customer #{others[0]}; "
                                    "link or merge them first (row skipped)")  # fmt: skip
                    continue
                created = customer_id is None
                if customer_id is None:
                    customer = CustomerRow(display_name=row.name or row.external_id, email=row.email,
                                           created_at=now, updated_at=now)  # fmt: skip
                    s.add(customer)
                    await s.flush()
                    customer_id = customer.id
                else:
                    customer = await s.get(CustomerRow, customer_id)  # type: ignore[assignment]
                    if row.name:
                        customer.display_name = row.name
                    if row.email:
                        customer.email = row.email
                    customer.updated_at = now
                acc = await s.get(CustomerAccountRow, customer_id)
                if acc is None:
                    acc = CustomerAccountRow(customer_id=customer_id, lifetime_value=0.0, orders=0,
                                             account_manager="", updated_at=now)  # fmt: skip
                    s.add(acc)
                acc.external_id = row.external_id
                if row.lifetime_value is not None:
                    acc.lifetime_value = row.lifetime_value
                if row.orders is not None:
                    acc.orders = row.orders
                if row.birthday is not None:
                    acc.birthday = row.birthday
                if row.account_manager is not None:
                    acc.account_manager = row.account_manager
                acc.updated_at = now
                for channel, user in row.identities:
                    exists = await s.scalar(select(IdentityRow.id).where(
                        IdentityRow.channel == channel, IdentityRow.platform_user_id == user))  # fmt: skip
                    if exists is None:
                        s.add(IdentityRow(channel=channel, platform_user_id=user, customer_id=customer_id, handle="",
                                          display_name=row.name, created_at=now, updated_at=now))  # fmt: skip
                await s.flush()
                done.append((row.line, customer_id, created))
            await s.commit()
        return done, problems

    async def customer_for_external_id(self, external_id: str) -> int | None:
        """The customer imported with this id (or the one it was merged into)."""
        async with self._session() as s:
            acc = await s.scalar(select(CustomerAccountRow).where(CustomerAccountRow.external_id == external_id))
            if acc is None:
                return None
            return acc.merged_into or acc.customer_id

    # -- purchases ------------------------------------------------------------------------------

    async def add_purchase(self, customer_id: int, reference: str, amount: float, at: datetime,
                           source: str = "api") -> Purchase | None:  # fmt: skip
        """Record a purchase and add it to the account's value; None if the reference is known."""
        async with self._session() as s:
            if await s.get(CustomerRow, customer_id) is None:
                raise InputError(f"no customer {customer_id}")
            if await s.scalar(select(PurchaseRow.id).where(PurchaseRow.reference == reference)) is not None:
                return None
            row = PurchaseRow(customer_id=customer_id, reference=reference, amount=amount, at=at, source=source)
            s.add(row)
            acc = await s.get(CustomerAccountRow, customer_id)
            if acc is None:
                acc = CustomerAccountRow(customer_id=customer_id, lifetime_value=0.0, orders=0, account_manager="",
                                         updated_at=utcnow())  # fmt: skip
                s.add(acc)
            acc.lifetime_value = (acc.lifetime_value or 0.0) + amount
            acc.orders = (acc.orders or 0) + 1
            acc.updated_at = utcnow()
            try:
                await s.commit()
            except IntegrityError:
                await s.rollback()
                return None
            return _purchase(row)

    async def purchases(self, customer_id: int) -> list[Purchase]:
        async with self._session() as s:
            rows = (await s.scalars(select(PurchaseRow).where(PurchaseRow.customer_id == customer_id)
                                    .order_by(PurchaseRow.at))).all()  # fmt: skip
            return [_purchase(r) for r in rows]

    async def last_purchase_at(self, customer_id: int) -> datetime | None:
        async with self._session() as s:
            last = await s.scalar(select(func.max(PurchaseRow.at)).where(PurchaseRow.customer_id == customer_id))
            return _aware(last)

    # -- follow-ups -----------------------------------------------------------------------------

    async def schedule(self, dedupe_key: str, kind: FollowUpKind, customer_id: int, due_at: datetime,
                       escalation_id: int | None = None) -> FollowUp | None:  # fmt: skip
        """Persist a follow-up; None if one with this key exists (each cause gets one, ever)."""
        now = utcnow()
        async with self._session() as s:
            if await s.scalar(select(FollowUpRow.id).where(FollowUpRow.dedupe_key == dedupe_key)) is not None:
                return None
            row = FollowUpRow(dedupe_key=dedupe_key, kind=kind.value, customer_id=customer_id,
                              escalation_id=escalation_id, status=FollowUpStatus.PENDING.value, due_at=due_at,
                              note="", created_at=now, updated_at=now)  # fmt: skip
            s.add(row)
            try:
                await s.commit()
            except IntegrityError:
                await s.rollback()
                return None
            return _followup(row)

    async def due_followups(self, now: datetime, limit: int = 100) -> list[FollowUp]:
        async with self._session() as s:
            rows = (await s.scalars(select(FollowUpRow).where(
                FollowUpRow.status == FollowUpStatus.PENDING.value, FollowUpRow.due_at <= now)
                .order_by(FollowUpRow.due_at, FollowUpRow.id).limit(limit))).all()  # fmt: skip
            return [_followup(r) for r in rows]

    async def set_followup(self, followup_id: int, status: FollowUpStatus, *, note: str = "",
                           due_at: datetime | None = None, reply_id: int | None = None) -> None:  # fmt: skip
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
        scheduled = select(FollowUpRow.escalation_id).where(FollowUpRow.kind == FollowUpKind.CSAT.value,
                                                            FollowUpRow.escalation_id.is_not(None))  # fmt: skip
        async with self._session() as s:
            rows = (await s.execute(select(EscalationRow.id, EscalationRow.customer_id, EscalationRow.resolved_at)
                                    .where(EscalationRow.status == EscalationStatus.RESOLVED.value,
                                           EscalationRow.resolved_at >= since,
                                           EscalationRow.id.not_in(scheduled)))).all()  # fmt: skip
        return [(i, c, _at(r)) for i, c, r in rows]

    async def quiet_customers(self, tiers: Sequence[str], before: datetime) -> list[tuple[int, datetime]]:
        """(customer id, last message at) of customers in `tiers` not heard from since `before`."""
        async with self._session() as s:
            last = func.max(MessageRow.received_at)
            rows = (await s.execute(
                select(MessageRow.customer_id, last).join(CustomerRow, CustomerRow.id == MessageRow.customer_id)
                .where(CustomerRow.tier.in_(list(tiers))).group_by(MessageRow.customer_id).having(last < before)
            )).all()  # fmt: skip
        return [(int(c), _at(at)) for c, at in rows if c is not None]

    async def birthdays(self) -> list[tuple[int, date]]:
        async with self._session() as s:
            rows = (await s.execute(select(CustomerAccountRow.customer_id, CustomerAccountRow.birthday).where(
                CustomerAccountRow.birthday.is_not(None), CustomerAccountRow.merged_into.is_(None)))).all()  # fmt: skip
        return [(int(c), b) for c, b in rows if b is not None]

    # -- CSAT -----------------------------------------------------------------------------------

    async def open_survey(self, escalation_id: int, customer_id: int, channel: str) -> CsatSurvey | None:
        async with self._session() as s:
            if await s.scalar(select(CsatSurveyRow.id).where(CsatSurveyRow.escalation_id == escalation_id)):
                return None
            row = CsatSurveyRow(escalation_id=escalation_id, customer_id=customer_id, channel=channel,
                                status=CsatStatus.ASKED.value, answer_text="", asked_at=utcnow())  # fmt: skip
            s.add(row)
            try:
                await s.commit()
            except IntegrityError:
                await s.rollback()
                return None
            return _survey(row)

    async def outstanding_survey(self, customer_id: int, channel: str) -> CsatSurvey | None:
        """The newest survey still waiting for this customer's answer on this channel."""
        async with self._session() as s:
            row = await s.scalar(select(CsatSurveyRow).where(
                CsatSurveyRow.customer_id == customer_id, CsatSurveyRow.channel == channel,
                CsatSurveyRow.status.in_([CsatStatus.ASKED.value, CsatStatus.REASKED.value]))
                .order_by(CsatSurveyRow.id.desc()))  # fmt: skip
            return _survey(row) if row else None

    async def update_survey(self, survey_id: int, status: CsatStatus, *, score: int | None = None, text: str = "",
                            message_id: int | None = None) -> CsatSurvey:  # fmt: skip
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
            result = await s.execute(update(CsatSurveyRow).where(
                CsatSurveyRow.status.in_([CsatStatus.ASKED.value, CsatStatus.REASKED.value]),
                CsatSurveyRow.asked_at < asked_before).values(status=CsatStatus.UNANSWERED.value))  # fmt: skip
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    # -- opt-outs -------------------------------------------------------------------------------

    async def opt_out(self, customer_id: int, channel: str, message_id: int | None = None) -> bool:
        """True if the customer was not opted out on this channel before."""
        async with self._session() as s:
            if await self._opted(s, customer_id, channel):
                return False
            s.add(OptOutRow(customer_id=customer_id, channel=channel, at=utcnow(), message_id=message_id))
            try:
                await s.commit()
            except IntegrityError:
                await s.rollback()
                return False
            return True

    async def opt_in(self, customer_id: int, channel: str) -> bool:
        async with self._session() as s:
            row = await self._opted(s, customer_id, channel)
            if row is None:
                return False
            await s.delete(row)
            await s.commit()
            return True

    @staticmethod
    async def _opted(s: AsyncSession, customer_id: int, channel: str) -> OptOutRow | None:
        return await s.scalar(select(OptOutRow).where(OptOutRow.customer_id == customer_id,
                                                      OptOutRow.channel == channel))  # fmt: skip

    async def is_opted_out(self, customer_id: int, channel: str) -> bool:
        async with self._session() as s:
            return await self._opted(s, customer_id, channel) is not None

    async def opt_outs(self, customer_id: int) -> list[OptOut]:
        async with self._session() as s:
            rows = (await s.scalars(select(OptOutRow).where(OptOutRow.customer_id == customer_id)
                                    .order_by(OptOutRow.id))).all()  # fmt: skip
            return [OptOut(r.customer_id, r.channel, _at(r.at)) for r in rows]

    # -- identities: unlink, merge, undo --------------------------------------------------------

    async def unlink(self, channel: str, platform_user_id: str) -> tuple[int, int]:
        """Give a platform account (and what it wrote) a customer of its own: (old id, new id)."""
        now = utcnow()
        async with self._session() as s:
            ident = await s.scalar(select(IdentityRow).where(
                IdentityRow.channel == channel, IdentityRow.platform_user_id == platform_user_id))  # fmt: skip
            if ident is None:
                raise InputError(f"no identity {channel}:{platform_user_id}")
            old = ident.customer_id
            others = await s.scalar(select(func.count()).select_from(IdentityRow).where(
                IdentityRow.customer_id == old, IdentityRow.id != ident.id))  # fmt: skip
            if not others:
                raise InputError(f"{channel}:{platform_user_id} is the only identity of customer #{old}")
            customer = CustomerRow(display_name=ident.display_name or ident.handle or platform_user_id,
                                   created_at=now, updated_at=now)  # fmt: skip
            s.add(customer)
            await s.flush()
            ident.customer_id, ident.updated_at = customer.id, now
            mine = (MessageRow.customer_id == old, MessageRow.channel == channel,
                    MessageRow.author_id == platform_user_id)  # fmt: skip
            opened = select(MessageRow.id).where(*mine)
            await s.execute(update(EscalationRow).where(EscalationRow.customer_id == old,
                                                        EscalationRow.opening_message_id.in_(opened))
                            .values(customer_id=customer.id))  # fmt: skip
            await s.execute(update(MessageRow).where(*mine).values(customer_id=customer.id))
            await s.commit()
            return old, customer.id

    async def merge(self, source_id: int, target_id: int, actor: str, reason: str = "") -> Merge:
        """Move everything of `source` to `target`, remembering each moved row so `undo_merge` can put it back."""
        if source_id == target_id:
            raise InputError("cannot merge a customer into itself")
        now = utcnow()
        async with self._session() as s:
            for cid in (source_id, target_id):
                if await s.get(CustomerRow, cid) is None:
                    raise InputError(f"no customer {cid}")
                acc = await s.get(CustomerAccountRow, cid)
                if acc is not None and acc.merged_into is not None:
                    raise InputError(f"customer #{cid} is already merged into #{acc.merged_into}")
            moved: dict[str, list[int]] = {}
            for name, owner, key in _MOVABLE:
                ids = list((await s.scalars(select(key).where(owner == source_id))).all())
                if ids:
                    await s.execute(update(owner.class_).where(key.in_(ids)).values(customer_id=target_id))
                moved[name] = ids
            # An opt-out stays an opt-out: copy the ones the target lacks (removed again on undo).
            copied = []
            for opt in (await s.scalars(select(OptOutRow).where(OptOutRow.customer_id == source_id))).all():
                if await self._opted(s, target_id, opt.channel) is None:
                    twin = OptOutRow(customer_id=target_id, channel=opt.channel, at=opt.at, message_id=opt.message_id)
                    s.add(twin)
                    await s.flush()
                    copied.append(twin.id)
            moved["opt_outs"] = copied
            acc = await s.get(CustomerAccountRow, source_id)
            if acc is None:
                acc = CustomerAccountRow(customer_id=source_id, lifetime_value=0.0, orders=0, account_manager="",
                                         updated_at=now)  # fmt: skip
                s.add(acc)
            acc.merged_into, acc.updated_at = target_id, now
            row = CustomerMergeRow(source_id=source_id, target_id=target_id, moved=moved, actor=actor,
                                   reason=reason, at=now)  # fmt: skip
            s.add(row)
            await s.commit()
            return _merge(row)

    async def undo_merge(self, merge_id: int) -> Merge:
        """Put back what a merge moved, plus what the moved accounts wrote since."""
        async with self._session() as s:
            row = await s.get(CustomerMergeRow, merge_id)
            if row is None:
                raise InputError(f"no merge #{merge_id}")
            if row.undone_at is not None:
                raise InputError(f"merge #{merge_id} was already undone")
            touching = or_(CustomerMergeRow.source_id == row.target_id, CustomerMergeRow.target_id == row.source_id)
            later = await s.scalar(select(CustomerMergeRow.id).where(
                CustomerMergeRow.id > row.id, CustomerMergeRow.undone_at.is_(None), touching))  # fmt: skip
            if later is not None:
                raise InputError(f"undo merge #{later} first")
            moved = {k: [int(i) for i in v] for k, v in (row.moved or {}).items()}
            idents = (await s.scalars(select(IdentityRow).where(IdentityRow.id.in_(moved.get("identities", []))))).all()
            since = [(MessageRow.channel == i.channel) & (MessageRow.author_id == i.platform_user_id) for i in idents]
            if since:
                later_ids = (await s.scalars(select(MessageRow.id).where(
                    MessageRow.customer_id == row.target_id, MessageRow.received_at >= row.at, or_(*since)
                ))).all()  # fmt: skip
                moved["messages"] = sorted(set(moved.get("messages", [])) | set(later_ids))
            for name, owner, key in _MOVABLE:
                ids = moved.get(name, [])
                if ids:
                    await s.execute(update(owner.class_).where(key.in_(ids), owner == row.target_id)
                                    .values(customer_id=row.source_id))  # fmt: skip
            for opt_id in moved.get("opt_outs", []):
                opt = await s.get(OptOutRow, opt_id)
                if opt is not None:
                    await s.delete(opt)
            acc = await s.get(CustomerAccountRow, row.source_id)
            if acc is not None:
                acc.merged_into, acc.updated_at = None, utcnow()
            row.undone_at = utcnow()
            await s.commit()
            return _merge(row)

    async def merges(self, customer_id: int | None = None) -> list[Merge]:
        stmt = select(CustomerMergeRow)
        if customer_id is not None:
            stmt = stmt.where(or_(CustomerMergeRow.source_id == customer_id, CustomerMergeRow.target_id == customer_id))
        async with self._session() as s:
            return [_merge(r) for r in (await s.scalars(stmt.order_by(CustomerMergeRow.id))).all()]

    async def email_mentions(self, limit: int = 5000) -> list[tuple[int, str]]:
        """(customer id, text) of recent messages that may contain an email address."""
        async with self._session() as s:
            rows = (await s.execute(select(MessageRow.customer_id, MessageRow.text).where(
                MessageRow.customer_id.is_not(None), MessageRow.text.like("%@%.%"))
                .order_by(MessageRow.id.desc()).limit(limit))).all()  # fmt: skip
        return [(int(c), t) for c, t in rows if c is not None]

    async def merged_ids(self) -> set[int]:
        async with self._session() as s:
            return set((await s.scalars(select(CustomerAccountRow.customer_id).where(
                CustomerAccountRow.merged_into.is_not(None)))).all())  # fmt: skip

    # -- topics ---------------------------------------------------------------------------------

    async def complaints(self, since: datetime, limit: int = 5000) -> list[Complaint]:
        async with self._session() as s:
            rows = (await s.scalars(select(MessageRow).where(
                MessageRow.intent.in_(_COMPLAINTS), MessageRow.received_at >= since)
                .order_by(MessageRow.id.desc()).limit(limit))).all()  # fmt: skip
        return [Complaint(r.id, r.customer_id, r.channel, r.text, _at(r.received_at), r.escalation_id)
                for r in reversed(rows)]  # fmt: skip

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
                rows = (await s.scalars(select(MessageRow).join(TopicMessageRow, TopicMessageRow.message_id ==
                                                                MessageRow.id).where(TopicMessageRow.topic_id == t.id)
                                        .order_by(MessageRow.id))).all()  # fmt: skip
                out.append((t.id, t.label, dict(t.terms or {}), [
                    Complaint(r.id, r.customer_id, r.channel, r.text, _at(r.received_at), r.escalation_id)
                    for r in rows]))  # fmt: skip
            return out
