"""Customers and their platform identities: one profile across channels."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Select, bindparam, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Customer, Identity, utcnow
from bot.errors import InputError, NotFound, StorageError
from bot.storage.database import Store, insert_new
from bot.storage.rows import customer_of, identity_of
from bot.storage.tables import CustomerRow, IdentityRow

# Built once: the statement `resolve` runs for every message (building it each time costs more than running it).
_OWNER = (
    select(IdentityRow, CustomerRow)
    .join(CustomerRow, CustomerRow.id == IdentityRow.customer_id)
    .where(
        IdentityRow.customer_id
        == select(IdentityRow.customer_id)
        .where(
            IdentityRow.channel == bindparam("channel"), IdentityRow.platform_user_id == bindparam("platform_user_id")
        )
        .scalar_subquery()
    )
)


class Customers(Store):
    """Customers and their platform identities: one profile across channels."""

    async def resolve(self, channel: str, platform_user_id: str, handle: str, name: str) -> Customer:
        """The customer behind a platform account, created on first contact; handle and name kept current."""
        now = utcnow()
        account = (IdentityRow.channel == channel, IdentityRow.platform_user_id == platform_user_id)
        async with self._session() as s:
            # The account owner's row and all of their identities in one query: the account's own is among them.
            found = (await s.execute(_OWNER, {"channel": channel, "platform_user_id": platform_user_id})).all()
            known = [ident for ident, _ in found]
            ident = next((i for i in known if i.channel == channel and i.platform_user_id == platform_user_id), None)
            if ident is None:
                customer = await s.scalar(
                    insert(CustomerRow)
                    .values(display_name=name or handle or platform_user_id, created_at=now, updated_at=now)
                    .returning(CustomerRow)
                )
                assert customer is not None
                identity = {
                    "channel": channel,
                    "platform_user_id": platform_user_id,
                    "customer_id": customer.id,
                    "handle": handle,
                    "display_name": name,
                    "created_at": now,
                    "updated_at": now,
                }
                ident = await insert_new(s, IdentityRow, identity)
                if ident is not None:
                    await s.commit()
                    return replace(customer_of(customer, [ident]), first_contact=True)
                # A concurrent first message created the account first: its customer is this one's.
                await s.execute(delete(CustomerRow).where(CustomerRow.id == customer.id))
                ident = await s.scalar(select(IdentityRow).where(*account))
                if ident is None:
                    raise StorageError(f"identity {channel}:{platform_user_id[:40]} violates a unique key")
            if (handle and handle != ident.handle) or (name and name != ident.display_name):
                ident.handle = handle or ident.handle
                ident.display_name = name or ident.display_name
                ident.updated_at = now
                await s.commit()
            row = found[0][1] if found else await s.get(CustomerRow, ident.customer_id)
            if row is None:
                raise NotFound(f"no customer {ident.customer_id}")
            return customer_of(row, known or [ident])

    async def _load(self, s: AsyncSession, customer_id: int) -> Customer:
        row = await s.get(CustomerRow, customer_id)
        if row is None:
            raise NotFound(f"no customer {customer_id}")
        idents = (await s.scalars(select(IdentityRow).where(IdentityRow.customer_id == customer_id))).all()
        return customer_of(row, idents)

    async def get(self, customer_id: int) -> Customer | None:
        async with self._session() as s:
            try:
                return await self._load(s, customer_id)
            except InputError:
                return None

    async def find(self, query: str = "", limit: int = 100) -> list[Customer]:
        """Customers whose id, name, email, handle or platform id matches `query` (all when empty)."""
        stmt: Select[CustomerRow] = select(CustomerRow)
        q = query.strip().lstrip("@")
        if q:
            like = f"%{q.lower()}%"
            ids = select(IdentityRow.customer_id).where(
                or_(
                    func.lower(IdentityRow.handle).like(like),
                    IdentityRow.platform_user_id == q,
                    func.lower(IdentityRow.display_name).like(like),
                )
            )
            conds = [
                func.lower(CustomerRow.display_name).like(like),
                func.lower(CustomerRow.email) == q.lower(),
                CustomerRow.id.in_(ids),
            ]
            if q.isdigit():
                conds.append(CustomerRow.id == int(q))
            stmt = stmt.where(or_(*conds))
        async with self._session() as s:
            rows = (await s.scalars(stmt.order_by(CustomerRow.id).limit(limit))).all()
            out = []
            for row in rows:
                idents = (await s.scalars(select(IdentityRow).where(IdentityRow.customer_id == row.id))).all()
                out.append(customer_of(row, idents))
            return out

    async def link_identity(self, channel: str, platform_user_id: str, customer_id: int) -> Identity:
        """Point a platform account at a customer, creating the identity if it is new."""
        now = utcnow()
        async with self._session() as s:
            if await s.get(CustomerRow, customer_id) is None:
                raise NotFound(f"no customer {customer_id}")
            ident = await s.scalar(
                select(IdentityRow).where(
                    IdentityRow.channel == channel, IdentityRow.platform_user_id == platform_user_id
                )
            )
            if ident is None:
                ident = IdentityRow(
                    channel=channel,
                    platform_user_id=platform_user_id,
                    customer_id=customer_id,
                    created_at=now,
                    updated_at=now,
                )
                s.add(ident)
            else:
                ident.customer_id = customer_id
                ident.updated_at = now
            await s.commit()
            return identity_of(ident)
