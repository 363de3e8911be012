"""Turns in a conversation: one unit of work at a time per customer account on a platform, and their
messages handled in the order they were stored, whichever worker holds which.

The turn is per (channel, author) rather than per thread: the conversation layer joins a customer's
quick follow-ups across threads into one case (bot/conversation.py), so two workers holding two threads
of one burst could otherwise both open a case. On PostgreSQL the turn is a transaction-level advisory
lock, released by the unit's commit or rollback (also when the process dies: the server ends the
session). On SQLite every unit already holds the database's one write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import blake2b

from sqlalchemy import ColumnClause, func, literal_column, select, tuple_

from bot.domain import StoredMessage
from bot.storage.database import Database
from bot.storage.tables import MessageRow

# The first key of Rapport's advisory locks: another application's locks on the same database (which use
# the one-key form, or other first keys) never meet ours. The scheduler's lease uses the same space.
LOCK_SPACE = 0x52617070  # "Rapp"
# A literal, not a bound parameter: PostgreSQL's generic plans can then still use ix_messages_waiting.
WAITING: ColumnClause[str] = literal_column("''")


def turn_key(channel: str, author_id: str) -> int:
    """A stable signed 32-bit key for an account; a rare collision only makes two customers take turns."""
    digest = blake2b(f"{channel}\x1f{author_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


class ConversationTurns:
    """Takes a customer's turn inside the caller's unit of work, and finds their messages still waiting."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def take(self, message: StoredMessage) -> None:
        """Wait until no other unit holds this message's customer account; held until the unit ends.

        The wait is bounded by the database's lock timeout ([database] busy_timeout): past it, a
        StorageError leaves the message queued for another try.
        """
        if self._db.is_sqlite:
            return
        m = message.message
        async with self._db.session() as s:
            await s.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, turn_key(m.channel, m.author_id))))

    async def earlier_waiting(self, message: StoredMessage, limit: int = 64) -> list[int]:
        """Ids of this account's messages stored before `message` and not processed yet, oldest first."""
        m = message.message
        async with self._db.session() as s:
            rows = await s.scalars(
                select(MessageRow.id)
                .where(
                    MessageRow.channel == m.channel,
                    MessageRow.author_id == m.author_id,
                    MessageRow.action == WAITING,
                    MessageRow.id < message.id,
                )
                .order_by(MessageRow.id)
                .limit(limit)
            )
            return list(rows)

    async def waiting_outside(self, messages: Sequence[StoredMessage]) -> dict[tuple[str, str], list[int]]:
        """The accounts of `messages` with messages stored before the last of them, not processed yet and
        not among them: {(channel, author): ids, oldest first}. One query for a batch where
        `earlier_waiting` would take one per message."""
        accounts = {(m.message.channel, m.message.author_id) for m in messages}
        if not accounts:
            return {}
        async with self._db.session() as s:
            rows = await s.execute(
                select(MessageRow.id, MessageRow.channel, MessageRow.author_id)
                .where(
                    tuple_(MessageRow.channel, MessageRow.author_id).in_(sorted(accounts)),
                    MessageRow.action == WAITING,
                    MessageRow.id < max(m.id for m in messages),
                    MessageRow.id.not_in([m.id for m in messages]),
                )
                .order_by(MessageRow.id)
            )
            found: dict[tuple[str, str], list[int]] = {}
            for message_id, channel, author in rows:
                found.setdefault((channel, author), []).append(message_id)
            return found
