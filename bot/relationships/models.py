"""Relationship data as the rest of Rapport sees it: frozen dataclasses, never rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from bot.domain import Escalation, Tier
from nlp.types import Intent, Sentiment

__all__ = [
    "Account",
    "Complaint",
    "CsatStatus",
    "CsatSurvey",
    "CustomerStats",
    "FollowUp",
    "FollowUpKind",
    "FollowUpStatus",
    "ImportRow",
    "LinkSuggestion",
    "Merge",
    "OptOut",
    "Purchase",
    "Signal",
    "Stage",
    "StageResult",
    "Standing",
    "Tier",
    "TierResult",
    "Topic",
]


class Stage(StrEnum):
    EXPLORATION = "exploration"
    AWARENESS = "awareness"
    EXPANSION = "expansion"
    ENGAGEMENT = "engagement"
    DISSOLUTION = "dissolution"


@dataclass(frozen=True, slots=True)
class Account:
    """What the business knows about a customer beyond their messages (imported or recorded)."""

    customer_id: int
    external_id: str | None = None
    lifetime_value: float = 0.0
    orders: int = 0
    birthday: date | None = None
    account_manager: str = ""
    merged_into: int | None = None


@dataclass(frozen=True, slots=True)
class CustomerStats:
    """The cost-to-serve side of a customer, counted from their history."""

    complaints: int = 0  # complaint or cancellation messages
    escalations: int = 0
    handling_hours: float = 0.0  # hours escalations stayed open until resolved


@dataclass(frozen=True, slots=True)
class TierResult:
    tier: Tier
    reason: str
    attention: bool = False  # lead tier: someone should look, service is never lowered silently


@dataclass(frozen=True, slots=True)
class StageResult:
    stage: Stage
    reason: str


@dataclass(frozen=True, slots=True)
class Purchase:
    id: int
    customer_id: int
    reference: str
    amount: float
    at: datetime
    source: str = "api"


class FollowUpKind(StrEnum):
    CSAT = "csat"
    PURCHASE_THANKS = "purchase_thanks"
    KEEP_IN_TOUCH = "keep_in_touch"
    BIRTHDAY = "birthday"


class FollowUpStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"  # opted out, or nowhere to send it
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class FollowUp:
    id: int
    dedupe_key: str
    kind: FollowUpKind
    customer_id: int
    status: FollowUpStatus
    due_at: datetime
    escalation_id: int | None = None
    note: str = ""
    reply_id: int | None = None


class CsatStatus(StrEnum):
    ASKED = "asked"
    REASKED = "reasked"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"

    @property
    def outstanding(self) -> bool:
        return self in (CsatStatus.ASKED, CsatStatus.REASKED)


@dataclass(frozen=True, slots=True)
class CsatSurvey:
    id: int
    escalation_id: int
    customer_id: int
    channel: str
    status: CsatStatus
    asked_at: datetime
    score: int | None = None
    answer_text: str = ""
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OptOut:
    customer_id: int
    channel: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Merge:
    id: int
    source_id: int
    target_id: int
    moved: Mapping[str, tuple[int, ...]]
    actor: str
    at: datetime
    reason: str = ""
    undone_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LinkSuggestion:
    """Two customers that look like one person, for a human to review."""

    customer_id: int
    other_id: int
    confidence: float
    reason: str


@dataclass(frozen=True, slots=True)
class Topic:
    """A root cause: complaints that say the same thing, across channels."""

    id: int
    label: str
    count: int
    recent: int  # in the last 7 days
    previous: int  # in the 7 days before
    examples: tuple[str, ...] = ()
    escalation_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    message_ids: tuple[int, ...] = field(default=(), repr=False)

    @property
    def trend(self) -> str:
        if self.recent > self.previous:
            return "rising"
        if self.recent < self.previous:
            return "falling"
        return "steady"


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything `customers show` and a sales or churn card show about one customer."""

    customer_id: int
    display_name: str
    tier: str
    tier_reason: str
    stage: str
    stage_reason: str
    account: Account
    open_escalations: tuple[Escalation, ...] = ()
    csat: tuple[CsatSurvey, ...] = ()
    opt_outs: tuple[OptOut, ...] = ()
    recent: tuple[str, ...] = ()  # "channel intent: text" of the last messages, newest first


@dataclass(frozen=True, slots=True)
class Signal:
    """One classified message, reduced to what stage inference reads."""

    at: datetime
    intent: Intent
    sentiment: Sentiment


@dataclass(frozen=True, slots=True)
class Standing:
    """A customer's current tier and stage, each with the reason it was given."""

    customer_id: int
    display_name: str
    email: str
    tier: str
    tier_reason: str
    stage: str
    stage_reason: str


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One valid CSV row, ready to write."""

    line: int
    external_id: str
    name: str = ""
    email: str = ""
    identities: tuple[tuple[str, str], ...] = ()  # (channel, platform user id)
    lifetime_value: float | None = None  # None: column absent, keep what is stored
    orders: int | None = None
    birthday: date | None = None
    account_manager: str | None = None


@dataclass(frozen=True, slots=True)
class Complaint:
    message_id: int
    customer_id: int | None
    channel: str
    text: str
    at: datetime
    escalation_id: int | None = None
