"""Staff accounts and API tokens in the database; rows in, domain objects out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from bot.access.models import ApiToken, Role, User
from bot.domain import utcnow
from bot.storage.database import Database, commit_unique
from bot.storage.rows import aware
from bot.storage.tables import ApiTokenRow, UserRow


def _user(row: UserRow) -> User:
    return User(row.id, row.email, Role(row.role), aware(row.created_at) or utcnow(), aware(row.disabled_at))


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        row.id,
        row.name,
        Role(row.role),
        aware(row.created_at) or utcnow(),
        aware(row.last_used_at),
        aware(row.revoked_at),
    )


class AccessStore:
    """One transaction per method (or the caller's unit of work)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_user(self, email: str, role: Role, password_hash: str) -> User | None:
        """The new account; None when the email has one already."""
        async with self._db.session() as s:
            row = UserRow(email=email, role=role.value, password_hash=password_hash, created_at=utcnow())
            if not await commit_unique(s, row):
                return None
            return _user(row)

    async def user_by_email(self, email: str) -> tuple[User, str] | None:
        """The account and its password hash (for signing in)."""
        async with self._db.session() as s:
            row = await s.scalar(select(UserRow).where(UserRow.email == email))
            return (_user(row), row.password_hash) if row else None

    async def users(self) -> list[User]:
        async with self._db.session() as s:
            return [_user(r) for r in (await s.scalars(select(UserRow).order_by(UserRow.id))).all()]

    async def add_token(self, name: str, role: Role, digest: str) -> ApiToken | None:
        """The new token's record; None when a token of that name exists."""
        async with self._db.session() as s:
            row = ApiTokenRow(name=name, role=role.value, digest=digest, created_at=utcnow())
            if not await commit_unique(s, row):
                return None
            return _token(row)

    async def token_by_digest(self, digest: str) -> ApiToken | None:
        async with self._db.session() as s:
            row = await s.scalar(select(ApiTokenRow).where(ApiTokenRow.digest == digest))
            return _token(row) if row else None

    async def tokens(self) -> list[ApiToken]:
        async with self._db.session() as s:
            return [_token(r) for r in (await s.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id))).all()]

    async def token_used(self, token_id: int, at: datetime) -> None:
        async with self._db.session() as s:
            await s.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=at))
            await s.commit()

    async def revoke_token(self, name: str) -> ApiToken | None:
        """Revoke the live token of that name; None when there is none."""
        async with self._db.session() as s:
            row = await s.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name, ApiTokenRow.revoked_at.is_(None)))
            if row is None:
                return None
            row.revoked_at = utcnow()
            await s.commit()
            return _token(row)
