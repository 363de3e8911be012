"""The core's data access: one store per aggregate, sharing the unit of work.

`Repository` only composes them (messages, customers, escalations, replies, audit, state) and opens
units: everything a unit's stores do inside it commits together, or none of it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime

from bot.storage.audit import AuditLog
from bot.storage.customers import Customers
from bot.storage.database import Database
from bot.storage.escalations import Escalations
from bot.storage.messages import Messages
from bot.storage.replies import Replies
from bot.storage.state import ConnectorState


class Repository:
    """The stores of the core's aggregates over one database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.messages = Messages(db)
        self.customers = Customers(db)
        self.escalations = Escalations(db)
        self.replies = Replies(db)
        self.audit = AuditLog(db)
        self.state = ConnectorState(db)

    @property
    def one_writer(self) -> bool:
        """The database takes one writer at a time (SQLite): concurrent units only take turns."""
        return self._db.is_sqlite

    def unit(self) -> AbstractAsyncContextManager[None]:
        """One transaction for every store call inside (see Database.unit)."""
        return self._db.unit()


class RepositoryState:
    """A connector's `StateStore`, namespaced by connector name, kept in the database."""

    def __init__(self, repo: Repository, namespace: str) -> None:
        self._state = repo.state
        self._prefix = namespace + ":"

    async def get(self, key: str) -> str | None:
        return await self._state.get(self._prefix + key)

    async def set(self, key: str, value: str) -> None:
        await self._state.set(self._prefix + key, value)

    async def prune(self, prefix: str, before: datetime) -> int:
        return await self._state.prune(self._prefix + prefix, before)
