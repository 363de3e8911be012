"""Roles, staff accounts and API tokens as the rest of Rapport sees them: frozen values, never rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.errors import AccessDenied


class Role(StrEnum):
    """Each role may do what the ones below it may."""

    VIEWER = "viewer"  # reads escalations, customers, reports
    AGENT = "agent"  # also acts: claim, reply, note, resolve, record purchases, link accounts
    ADMIN = "admin"  # also manages users, tokens and webhooks

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: `actor` is what the audit trail records (a Slack user id is one elsewhere)."""

    actor: str  # "token:<name>" or "user:<email>", as Slack staff are "slack:<user id>"
    role: Role

    def require(self, needed: Role) -> None:
        """Raise AccessDenied unless this principal's role allows `needed`."""
        if not self.role.allows(needed):
            raise AccessDenied(f"{self.role.value} may not do this: it takes {needed.value}", needs=needed.value)
