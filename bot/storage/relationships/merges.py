"""Identities across customers: unlink, merge and undo, and the evidence for link suggestions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update

from bot.domain import EscalationStatus, utcnow
from bot.errors import InputError
from bot.relationships.models import Merge
from bot.storage.relationships._base import RepositoryBase, _at
from bot.storage.rows import aware
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
)


def _merge(row: CustomerMergeRow) -> Merge:
    moved = {k: tuple(int(i) for i in v) for k, v in (row.moved or {}).items()}
    return Merge(row.id, row.source_id, row.target_id, moved, row.actor, _at(row.at), row.reason, aware(row.undone_at))


# What a merge moves from one customer to another: table, its customer column, and the row id column.
_MOVABLE: tuple[tuple[str, Any, Any], ...] = (
    ("identities", IdentityRow.customer_id, IdentityRow.id),
    ("messages", MessageRow.customer_id, MessageRow.id),
    ("escalations", EscalationRow.customer_id, EscalationRow.id),
    ("purchases", PurchaseRow.customer_id, PurchaseRow.id),
    ("followups", FollowUpRow.customer_id, FollowUpRow.id),
    ("csat_surveys", CsatSurveyRow.customer_id, CsatSurveyRow.id),
)


class MergeStore(RepositoryBase):
    # -- identities: unlink, merge, undo --------------------------------------------------------

    async def unlink(self, channel: str, platform_user_id: str) -> tuple[int, int]:
        """Give a platform account (and what it wrote) a customer of its own: (old id, new id)."""
        now = utcnow()
        async with self._session() as s:
            ident = await s.scalar(
                select(IdentityRow).where(
                    IdentityRow.channel == channel, IdentityRow.platform_user_id == platform_user_id
                )
            )
            if ident is None:
                raise InputError(f"no identity {channel}:{platform_user_id}")
            old = ident.customer_id
            others = await s.scalar(
                select(func.count())
                .select_from(IdentityRow)
                .where(IdentityRow.customer_id == old, IdentityRow.id != ident.id)
            )
            if not others:
                raise InputError(f"{channel}:{platform_user_id} is the only identity of customer #{old}")
            customer = CustomerRow(
                display_name=ident.display_name or ident.handle or platform_user_id, created_at=now, updated_at=now
            )
            s.add(customer)
            await s.flush()
            ident.customer_id, ident.updated_at = customer.id, now
            mine = (
                MessageRow.customer_id == old,
                MessageRow.channel == channel,
                MessageRow.author_id == platform_user_id,
            )
            opened = select(MessageRow.id).where(*mine)
            await s.execute(
                update(EscalationRow)
                .where(EscalationRow.customer_id == old, EscalationRow.opening_message_id.in_(opened))
                .values(customer_id=customer.id)
            )
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
            moved: dict[str, list[int]] = {"folded_escalations": await self._fold_active_cases(s, source_id, target_id)}
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
                acc = CustomerAccountRow(
                    customer_id=source_id, lifetime_value=0.0, orders=0, account_manager="", updated_at=now
                )
                s.add(acc)
            acc.merged_into, acc.updated_at = target_id, now
            row = CustomerMergeRow(
                source_id=source_id, target_id=target_id, moved=moved, actor=actor, reason=reason, at=now
            )
            s.add(row)
            await s.commit()
            return _merge(row)

    @staticmethod
    async def _fold_active_cases(s: Any, source_id: int, target_id: int) -> list[int]:
        """One active case per conversation holds across a merge: a source case open in a conversation where
        the target has one too is folded into it (its messages join it; it is resolved, saying so)."""
        active = (EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value)
        targets = {
            (e.channel, e.conversation_id): e.id
            for e in (
                await s.scalars(
                    select(EscalationRow).where(
                        EscalationRow.customer_id == target_id, EscalationRow.status.in_(active)
                    )
                )
            ).all()
        }
        folded = []
        for esc in (
            await s.scalars(
                select(EscalationRow).where(EscalationRow.customer_id == source_id, EscalationRow.status.in_(active))
            )
        ).all():
            into = targets.get((esc.channel, esc.conversation_id))
            if into is None:
                continue
            await s.execute(update(MessageRow).where(MessageRow.escalation_id == esc.id).values(escalation_id=into))
            esc.status = EscalationStatus.RESOLVED.value
            esc.resolved_at = esc.updated_at = utcnow()
            esc.reason = f"{esc.reason} (merged into #{into}: one active case per conversation)"
            folded.append(esc.id)
        await s.flush()
        return folded

    async def undo_merge(self, merge_id: int) -> Merge:
        """Put back what a merge moved, plus what the moved accounts wrote since."""
        async with self._session() as s:
            row = await s.get(CustomerMergeRow, merge_id)
            if row is None:
                raise InputError(f"no merge #{merge_id}")
            if row.undone_at is not None:
                raise InputError(f"merge #{merge_id} was already undone")
            touching = or_(CustomerMergeRow.source_id == row.target_id, CustomerMergeRow.target_id == row.source_id)
            later = await s.scalar(
                select(CustomerMergeRow.id).where(
                    CustomerMergeRow.id > row.id, CustomerMergeRow.undone_at.is_(None), touching
                )
            )
            if later is not None:
                raise InputError(f"undo merge #{later} first")
            moved = {k: [int(i) for i in v] for k, v in (row.moved or {}).items()}
            idents = (await s.scalars(select(IdentityRow).where(IdentityRow.id.in_(moved.get("identities", []))))).all()
            since = [(MessageRow.channel == i.channel) & (MessageRow.author_id == i.platform_user_id) for i in idents]
            if since:
                later_ids = (
                    await s.scalars(
                        select(MessageRow.id).where(
                            MessageRow.customer_id == row.target_id, MessageRow.received_at >= row.at, or_(*since)
                        )
                    )
                ).all()
                moved["messages"] = sorted(set(moved.get("messages", [])) | set(later_ids))
            for name, owner, key in _MOVABLE:
                ids = moved.get(name, [])
                if ids:
                    await s.execute(
                        update(owner.class_)
                        .where(key.in_(ids), owner == row.target_id)
                        .values(customer_id=row.source_id)
                    )
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

    async def email_mentions(
        self, limit: int = 5000, *, writer: int | None = None, containing: str = ""
    ) -> list[tuple[int, str]]:
        """(customer id, text) of recent messages that may contain an email address; with `writer` and/or
        `containing`, only those this customer wrote or that contain that text (one customer's evidence)."""
        stmt = select(MessageRow.customer_id, MessageRow.text).where(
            MessageRow.customer_id.is_not(None), MessageRow.text.like("%@%.%")
        )
        narrow = []
        if writer is not None:
            narrow.append(MessageRow.customer_id == writer)
        if containing:
            narrow.append(func.lower(MessageRow.text).like(f"%{containing.lower()}%"))
        if narrow:
            stmt = stmt.where(or_(*narrow))
        async with self._session() as s:
            rows = (await s.execute(stmt.order_by(MessageRow.id.desc()).limit(limit))).all()
        return [(int(c), t) for c, t in rows if c is not None]

    async def identity_owner(self, channel: str, platform_user_id: str) -> int | None:
        async with self._session() as s:
            return await s.scalar(
                select(IdentityRow.customer_id).where(
                    IdentityRow.channel == channel, IdentityRow.platform_user_id == platform_user_id
                )
            )

    async def merged_ids(self) -> set[int]:
        async with self._session() as s:
            return set(
                (
                    await s.scalars(
                        select(CustomerAccountRow.customer_id).where(CustomerAccountRow.merged_into.is_not(None))
                    )
                ).all()
            )
