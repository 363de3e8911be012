"""Console sessions and sign-in attempts in the database; rows in, domain objects out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from bot.access.models import User
from bot.domain import utcnow
from bot.storage.access import _user
from bot.storage.database import Database
from bot.storage.rows import aware
from bot.storage.tables import ConsoleSessionRow, SignInAttemptRow, UserRow


class ConsoleStore:
    """One transaction per method."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_session(self, digest: str, user_id: int, expires_at: datetime) -> None:
        async with self._db.session() as s:
            s.add(ConsoleSessionRow(digest=digest, user_id=user_id, created_at=utcnow(), expires_at=expires_at))
            await s.commit()

    async def session_user(self, digest: str, now: datetime) -> User | None:
        """The account behind a live session, read afresh (a changed role or a disabled account counts at once)."""
        async with self._db.session() as s:
            found = (
                await s.execute(
                    select(ConsoleSessionRow.expires_at, UserRow)
                    .join(UserRow, UserRow.id == ConsoleSessionRow.user_id)
                    .where(ConsoleSessionRow.digest == digest)
                )
            ).first()
            if found is None:
                return None
            expires_at, row = found
            if (aware(expires_at) or now) <= now:
                return None
            return _user(row)

    async def end_session(self, digest: str) -> bool:
        async with self._db.session() as s:
            gone = (await s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.digest == digest))).rowcount  # type: ignore[attr-defined]
            await s.commit()
            return bool(gone)

    async def end_expired(self, now: datetime) -> int:
        async with self._db.session() as s:
            gone = (await s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))).rowcount  # type: ignore[attr-defined]
            await s.commit()
            return int(gone or 0)

    async def record_attempt(self, email: str, address: str, ok: bool) -> None:
        async with self._db.session() as s:
            s.add(SignInAttemptRow(email=email[:320], address=address[:64], at=utcnow(), ok=ok))
            await s.commit()

    async def failures_since(
        self, since: datetime, *, email: str | None = None, address: str | None = None
    ) -> list[datetime]:
        """When the failed attempts for this account (or from this address) since `since` happened, oldest first."""
        stmt = select(SignInAttemptRow.at).where(SignInAttemptRow.at >= since, SignInAttemptRow.ok.is_(False))
        if email is not None:
            stmt = stmt.where(SignInAttemptRow.email == email)
        if address is not None:
            stmt = stmt.where(SignInAttemptRow.address == address)
        async with self._db.session() as s:
            rows = (await s.scalars(stmt.order_by(SignInAttemptRow.at))).all()
            return [aware(r) or since for r in rows]

    async def prune_attempts(self, before: datetime) -> int:
        async with self._db.session() as s:
            gone = (await s.execute(delete(SignInAttemptRow).where(SignInAttemptRow.at < before))).rowcount  # type: ignore[attr-defined]
            await s.commit()
            return int(gone or 0)
