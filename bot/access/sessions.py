"""Console sign-in: sessions for browsers, their CSRF tokens, and the limit on failed attempts.

A session is a random cookie value; the database keeps only its SHA-256 digest, so a copy of the
database signs nobody in, and signing out (deleting the row) ends the session everywhere at once.
The CSRF token of a session is an HMAC of a fixed label keyed by the session's cookie value: only
a page the server rendered for that browser can carry it, and nothing more has to be stored.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.access.models import Principal, Role
from bot.access.service import Access
from bot.domain import utcnow
from bot.errors import TooManyAttempts, Unauthenticated
from bot.storage import Database, Repository
from bot.storage.console import ConsoleStore

WINDOW = timedelta(minutes=1)
MAX_FAILURES_PER_ACCOUNT = 5  # in WINDOW; the next attempt is refused without checking the password
# An office or a VPN puts many people behind one address: it may fail more often than one account.
MAX_FAILURES_PER_ADDRESS = 20
_CSRF_LABEL = b"rapport-console-csrf"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the cookie value (shown to the browser only) and who it signs in."""

    cookie: str
    principal: Principal
    expires_at: datetime


def digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def csrf_token(cookie: str) -> str:
    """The CSRF token forms of this session carry."""
    return hmac.new(cookie.encode("utf-8"), _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_ok(cookie: str, sent: str) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(cookie), sent)


class ConsoleSessions:
    """Signs staff in and out of the web console; every attempt is audited."""

    def __init__(self, repo: Repository, db: Database, access: Access, lifetime: timedelta) -> None:
        self.repo = repo
        self.store = ConsoleStore(db)
        self.access = access
        self.lifetime = lifetime

    async def _check_rate(self, email: str, address: str, now: datetime) -> None:
        since = now - WINDOW
        limits = (
            (await self.store.failures_since(since, email=email), MAX_FAILURES_PER_ACCOUNT),
            (await self.store.failures_since(since, address=address), MAX_FAILURES_PER_ADDRESS),
        )
        waits = [
            (failures[-limit] + WINDOW - now).total_seconds()
            for failures, limit in limits
            if len(failures) >= limit  # the limit-th newest failure leaves the window first
        ]
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            await self.repo.audit.record(
                "console.sign_in_refused", {"email": email, "address": address}, actor="anonymous"
            )
            raise TooManyAttempts(f"too many failed sign-ins: try again in {retry_after} s", retry_after=retry_after)

    async def sign_in(self, email: str, password: str, address: str) -> SignedIn:
        """A new session for the staff member with this email and password.

        Unauthenticated for a wrong email or password (never saying which); TooManyAttempts, before the
        password is even checked, once the account or the address failed too often in the last minute.
        """
        email = email.strip().lower()[:320]
        now = utcnow()
        await self._check_rate(email, address, now)
        try:
            principal = await self.access.sign_in(email, password)
        except Unauthenticated:
            await self.store.record_attempt(email, address, ok=False)
            await self.repo.audit.record(
                "console.sign_in_failed", {"email": email, "address": address}, actor="anonymous"
            )
            raise
        found = await self.access.store.user_by_email(email)
        assert found is not None  # sign_in just found it
        cookie = secrets.token_urlsafe(32)
        expires_at = now + self.lifetime
        await self.store.add_session(digest(cookie), found[0].id, expires_at)
        await self.store.record_attempt(email, address, ok=True)
        await self.repo.audit.record("console.signed_in", {"address": address}, actor=principal.actor)
        return SignedIn(cookie, principal, expires_at)

    async def principal(self, cookie: str) -> Principal:
        """Who a session cookie signs in, as of now; Unauthenticated when it is unknown, expired or disabled."""
        if not cookie:
            raise Unauthenticated("sign in first")
        user = await self.store.session_user(digest(cookie), utcnow())
        if user is None or user.disabled_at is not None:
            raise Unauthenticated("your session has ended: sign in again")
        return Principal(f"user:{user.email}", user.role)

    async def sign_out(self, cookie: str, actor: str) -> None:
        if await self.store.end_session(digest(cookie)):
            await self.repo.audit.record("console.signed_out", {}, actor=actor)

    async def staff(self) -> list[tuple[str, Role]]:
        """Who a case can be assigned to: the actor name and role of every active account that may act."""
        return [
            (f"user:{u.email}", u.role)
            for u in await self.access.users()
            if u.disabled_at is None and u.role.allows(Role.AGENT)
        ]

    async def prune(self, now: datetime | None = None) -> None:
        """Forget expired sessions and attempts older than the rate window."""
        now = now or utcnow()
        await self.store.end_expired(now)
        await self.store.prune_attempts(now - WINDOW)
