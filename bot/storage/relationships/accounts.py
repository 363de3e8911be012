"""Accounts, tiers and stages, CSV import and purchases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.domain import Tier, utcnow
from bot.errors import NotFound
from bot.relationships.models import (
    Account,
    CustomerStats,
    ImportRow,
    Purchase,
    Signal,
    Standing,
)
from bot.storage.relationships._base import _COMPLAINTS, RepositoryBase, _at
from bot.storage.rows import aware
from bot.storage.tables import (
    CustomerAccountRow,
    CustomerRow,
    EscalationRow,
    IdentityRow,
    MessageRow,
    PurchaseRow,
)
from nlp.types import Intent, Sentiment


def _purchase(row: PurchaseRow) -> Purchase:
    return Purchase(row.id, row.customer_id, row.reference, row.amount, _at(row.at), row.source)


class AccountStore(RepositoryBase):
    # -- accounts, tiers and stages -------------------------------------------------------------

    async def account(self, customer_id: int) -> Account:
        """The customer's account, with the values of customers merged into it added in."""
        async with self._session() as s:
            own = await s.get(CustomerAccountRow, customer_id)
            merged = (
                await s.scalars(select(CustomerAccountRow).where(CustomerAccountRow.merged_into == customer_id))
            ).all()
        rows = [r for r in (own, *merged) if r is not None]
        if not rows:
            return Account(customer_id)
        first = own or rows[0]
        return Account(
            customer_id=customer_id,
            external_id=own.external_id if own else None,
            lifetime_value=sum(r.lifetime_value for r in rows),
            orders=sum(r.orders for r in rows),
            birthday=next((r.birthday for r in rows if r.birthday), None),
            account_manager=next((r.account_manager for r in rows if r.account_manager), first.account_manager),
            merged_into=own.merged_into if own else None,
        )

    async def stats(self, customer_id: int) -> CustomerStats:
        async with self._session() as s:
            complaints = await s.scalar(
                select(func.count())
                .select_from(MessageRow)
                .where(MessageRow.customer_id == customer_id, MessageRow.intent.in_(_COMPLAINTS))
            )
            escalations = (
                await s.execute(
                    select(EscalationRow.created_at, EscalationRow.resolved_at).where(
                        EscalationRow.customer_id == customer_id
                    )
                )
            ).all()
        hours = sum((_at(done) - _at(opened)).total_seconds() / 3600 for opened, done in escalations if done)
        return CustomerStats(int(complaints or 0), len(escalations), round(hours, 2))

    async def signals(self, customer_id: int, limit: int = 50) -> list[Signal]:
        """Classified messages of the customer, oldest first (the last `limit`)."""
        async with self._session() as s:
            rows = (
                await s.execute(
                    select(MessageRow.received_at, MessageRow.intent, MessageRow.sentiment)
                    .where(MessageRow.customer_id == customer_id, MessageRow.intent.is_not(None))
                    .order_by(MessageRow.id.desc())
                    .limit(limit)
                )
            ).all()
        return [
            Signal(_at(at), Intent(intent or "other"), Sentiment(sentiment or "neutral"))
            for at, intent, sentiment in reversed(rows)
        ]

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
            rows = (
                await s.scalars(select(CustomerRow).where(CustomerRow.id.not_in(merged)).order_by(CustomerRow.id))
            ).all()
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
                raise NotFound(f"no customer {customer_id}")
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
                account = await s.scalar(
                    select(CustomerAccountRow).where(CustomerAccountRow.external_id == row.external_id)
                )
                customer_id = account.customer_id if account else None
                if account is not None and account.merged_into is not None:
                    customer_id = account.merged_into
                owners: dict[int, str] = {}
                for channel, user in row.identities:
                    ident = await s.scalar(
                        select(IdentityRow).where(IdentityRow.channel == channel, IdentityRow.platform_user_id == user)
                    )
                    if ident is not None:
                        owners.setdefault(ident.customer_id, f"{channel}_id {user}")
                others = [cid for cid in owners if cid != customer_id]
                if customer_id is None and len(others) == 1:
                    other = await s.get(CustomerAccountRow, others[0])
                    if other is None or other.external_id is None:
                        customer_id, others = others[0], []  # a customer who wrote in before being imported
                if others:
                    what = owners[others[0]]
                    problems.append(
                        f"line {row.line}: {what} already belongs to customer #{others[0]}; "
                        "link or merge them first (row skipped)"
                    )
                    continue
                created = customer_id is None
                if customer_id is None:
                    customer = CustomerRow(
                        display_name=row.name or row.external_id, email=row.email, created_at=now, updated_at=now
                    )
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
                    acc = CustomerAccountRow(
                        customer_id=customer_id, lifetime_value=0.0, orders=0, account_manager="", updated_at=now
                    )
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
                    exists = await s.scalar(
                        select(IdentityRow.id).where(
                            IdentityRow.channel == channel, IdentityRow.platform_user_id == user
                        )
                    )
                    if exists is None:
                        s.add(
                            IdentityRow(
                                channel=channel,
                                platform_user_id=user,
                                customer_id=customer_id,
                                handle="",
                                display_name=row.name,
                                created_at=now,
                                updated_at=now,
                            )
                        )
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

    async def add_purchase(
        self, customer_id: int, reference: str, amount: float, at: datetime, source: str = "api"
    ) -> Purchase | None:
        """Record a purchase and add it to the account's value; None if the reference is known."""
        async with self._session() as s:
            if await s.get(CustomerRow, customer_id) is None:
                raise NotFound(f"no customer {customer_id}")
            if await s.scalar(select(PurchaseRow.id).where(PurchaseRow.reference == reference)) is not None:
                return None
            row = PurchaseRow(customer_id=customer_id, reference=reference, amount=amount, at=at, source=source)
            try:
                async with s.begin_nested():  # the same reference recorded concurrently: count it once
                    s.add(row)
            except IntegrityError:
                return None
            acc = await s.get(CustomerAccountRow, customer_id)
            if acc is None:
                acc = CustomerAccountRow(
                    customer_id=customer_id, lifetime_value=0.0, orders=0, account_manager="", updated_at=utcnow()
                )
                s.add(acc)
            acc.lifetime_value = (acc.lifetime_value or 0.0) + amount
            acc.orders = (acc.orders or 0) + 1
            acc.updated_at = utcnow()
            await s.commit()
            return _purchase(row)

    async def purchases(self, customer_id: int) -> list[Purchase]:
        async with self._session() as s:
            rows = (
                await s.scalars(
                    select(PurchaseRow).where(PurchaseRow.customer_id == customer_id).order_by(PurchaseRow.at)
                )
            ).all()
            return [_purchase(r) for r in rows]

    async def last_purchase_at(self, customer_id: int) -> datetime | None:
        async with self._session() as s:
            last = await s.scalar(select(func.max(PurchaseRow.at)).where(PurchaseRow.customer_id == customer_id))
            return aware(last)
