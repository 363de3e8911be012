"""Staff accounts and API tokens: created, checked and revoked, every change audited with who made it."""

from __future__ import annotations

import asyncio
import functools
import re
from datetime import timedelta

from bot.access.credentials import TOKEN_PREFIX, hash_password, new_token, token_digest, verify_password
from bot.access.models import ApiToken, Principal, Role, User
from bot.domain import utcnow
from bot.errors import Conflict, InputError, NotFound, Unauthenticated
from bot.storage import Database, Repository
from bot.storage.access import AccessStore

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MIN_PASSWORD = 10
_TOUCH_EVERY = timedelta(minutes=5)  # how stale a token's last_used_at may get: not a write per request


def role_of(value: str, field: str = "role") -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InputError(f"unknown role {value[:20]!r} (admin, agent or viewer)", field=field) from None


class Access:
    """Who may use Rapport beyond Slack: staff accounts (console) and API tokens (other systems)."""

    def __init__(self, repo: Repository, db: Database) -> None:
        self.repo = repo
        self.store = AccessStore(db)

    async def add_user(self, email: str, role: Role, password: str, *, actor: str) -> User:
        email = email.strip().lower()
        if not _EMAIL.match(email) or len(email) > 320:
            raise InputError("not an email address", field="email")
        if len(password) < MIN_PASSWORD:
            raise InputError(f"the password needs at least {MIN_PASSWORD} characters", field="password")
        # argon2 is slow on purpose (tens of milliseconds): keep it off the event loop.
        hashed = await asyncio.to_thread(hash_password, password)
        async with self.repo.unit():
            user = await self.store.add_user(email, role, hashed)
            if user is None:
                raise Conflict(f"a user {email} exists already", field="email")
            await self.repo.audit.record(
                "user.added", {"email": email, "role": role.value, "user_id": user.id}, actor=actor
            )
        return user

    async def sign_in(self, email: str, password: str) -> Principal:
        """The staff member with this email and password; Unauthenticated otherwise (never says which was wrong)."""
        found = await self.store.user_by_email(email.strip().lower())
        hashed = found[1] if found else _dummy_hash()  # the same work either way: no timing tells who has an account
        ok = await asyncio.to_thread(verify_password, hashed, password)
        if found is None or not ok or found[0].disabled_at is not None:
            raise Unauthenticated("wrong email or password")
        return Principal(f"user:{found[0].email}", found[0].role)

    async def users(self) -> list[User]:
        return await self.store.users()

    async def create_token(self, name: str, role: Role, *, actor: str) -> tuple[ApiToken, str]:
        """A new API token and its clear text, which is never stored and cannot be shown again."""
        name = name.strip()
        if not _NAME.match(name):
            raise InputError("a token name is 1-100 letters, digits, '.', '_' or '-'", field="name")
        clear = new_token()
        async with self.repo.unit():
            token = await self.store.add_token(name, role, token_digest(clear))
            if token is None:
                raise Conflict(f"a token named {name} exists already", field="name")
            await self.repo.audit.record(
                "token.created", {"name": name, "role": role.value, "token_id": token.id}, actor=actor
            )
        return token, clear

    async def tokens(self) -> list[ApiToken]:
        return await self.store.tokens()

    async def revoke_token(self, name: str, *, actor: str) -> ApiToken:
        async with self.repo.unit():
            token = await self.store.revoke_token(name.strip())
            if token is None:
                raise NotFound(f"no live token named {name[:100]}", field="name")
            await self.repo.audit.record("token.revoked", {"name": token.name, "token_id": token.id}, actor=actor)
        return token

    async def authenticate(self, bearer: str) -> Principal:
        """The principal behind an API token; Unauthenticated when it is unknown or revoked."""
        bearer = bearer.strip()
        if not bearer.startswith(TOKEN_PREFIX):
            raise Unauthenticated("not a Rapport API token")
        token = await self.store.token_by_digest(token_digest(bearer))
        if token is None or token.revoked_at is not None:
            raise Unauthenticated("unknown or revoked API token")
        now = utcnow()
        if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
            await self.store.token_used(token.id, now)
        return Principal(f"token:{token.name}", token.role)


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not a password anyone has")
