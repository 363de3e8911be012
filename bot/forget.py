"""Forgetting a customer on request (the right to erasure): `rapport customers forget` and
`DELETE /api/v1/customers/{id}` both come here."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import Conflict, NotFound
from bot.storage import Database, Repository
from bot.storage.erasure import ErasureStore


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What was erased: the internal id and row counts per table, never a value."""

    customer_id: int
    counts: dict[str, int] = field(default_factory=dict)
    forced: bool = False


class Forget:
    def __init__(self, repo: Repository, db: Database) -> None:
        self.repo = repo
        self.store = ErasureStore(db)

    async def customer(self, customer_id: int, *, actor: str, force: bool = False) -> Forgotten:
        """Erase everything about the customer, in one transaction, and audit it without personal data.

        Refused (Conflict) while a case of theirs is open or claimed, unless `force`: staff are working on
        it, and erasing it would pull the conversation out from under them.
        """
        async with self.repo.unit():
            if not await self.store.exists(customer_id):
                raise NotFound(f"no customer {customer_id}")
            active = await self.store.active_escalations(customer_id)
            if active and not force:
                cases = ", ".join(f"#{i}" for i in active)
                raise Conflict(
                    f"customer {customer_id} has open escalations ({cases}): resolve them first, or force it"
                )
            counts = await self.store.erase(customer_id)
            # Only the id (now pointing at nothing) and counts: the entry proves the erasure, not the person.
            await self.repo.audit.record(
                "customer.forgotten",
                {"customer_id": customer_id, "rows": counts, "forced": bool(active) and force},
                actor=actor,
            )
        return Forgotten(customer_id, counts, forced=bool(active) and force)
