"""The core's own data: frozen dataclasses, free of platform payloads and ORM rows.

Connectors turn platform payloads into `InboundMessage`; the storage repository turns rows into
these objects; everything between sees only these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from nlp.types import Analysis, Intent, Sentiment

__all__ = [
    "CHANNELS",
    "Analysis",
    "AuditEvent",
    "ConversationState",
    "Customer",
    "Escalation",
    "EscalationStatus",
    "Identity",
    "InboundMessage",
    "Intent",
    "Note",
    "OutboundReply",
    "Priority",
    "ReplyStatus",
    "Sentiment",
    "StoredMessage",
    "utcnow",
]

# Platforms a customer can write from. "console" is the local `rapport chat` terminal.
CHANNELS = frozenset({"discord", "slack", "x", "console", "email"})


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message as a connector hands it to the core."""

    channel: str  # platform: discord | slack | x | console | email
    external_id: str  # the platform's message id; (channel, external_id) is unique
    author_id: str  # the platform's user id
    text: str
    conversation_id: str = ""  # thread / channel / conversation the reply belongs in
    author_handle: str = ""
    author_name: str = ""
    sent_at: datetime = field(default_factory=utcnow)
    direct: bool = False  # a DM rather than a public post
    connector: str = ""  # which connector received it, and so which one replies; defaults to channel

    @property
    def via(self) -> str:
        return self.connector or self.channel


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """An inbound message after it was persisted, with what the bot made of it."""

    id: int
    message: InboundMessage
    customer_id: int | None
    analysis: Analysis | None
    received_at: datetime
    action: str = ""  # what routing decided: reply, escalate, attach, record, ...


class Tier(StrEnum):
    PLATINUM = "platinum"
    GOLD = "gold"
    IRON = "iron"
    LEAD = "lead"


@dataclass(frozen=True, slots=True)
class Identity:
    """A platform account, linked to one customer."""

    channel: str
    platform_user_id: str
    customer_id: int
    handle: str = ""
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    display_name: str
    created_at: datetime
    tier: str = "iron"
    stage: str = "exploration"
    email: str = ""
    identities: tuple[Identity, ...] = ()
    # Created by the message being processed: no cases, surveys or history yet, so none is looked up.
    first_contact: bool = False


class EscalationStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def active(self) -> bool:
        return self in (EscalationStatus.OPEN, EscalationStatus.CLAIMED)


class ConversationState(StrEnum):
    """Who holds a conversation. BOT: no active case, the bot answers. The others belong to a case."""

    BOT = "bot"
    WAITING_FOR_DETAILS = "waiting_for_details"  # the bot asked for something (an order number)
    WITH_PERSON = "with_person"  # staff own it: the bot acknowledges once, and is silent once staff reply
    RESOLVED = "resolved"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 is most pressing; used for ordering queues."""
        return list(Priority).index(self)

    def raised(self, steps: int = 1) -> Priority:
        members = list(Priority)
        return members[max(0, self.rank - steps)]


@dataclass(frozen=True, slots=True)
class Note:
    author: str
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Escalation:
    id: int
    customer_id: int
    opening_message_id: int
    channel: str
    conversation_id: str
    status: EscalationStatus
    priority: Priority
    reason: str
    intent: str
    created_at: datetime
    updated_at: datetime
    flagged: bool = False  # abusive: staff should read before anyone answers
    assignee: str = ""
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    message_ids: tuple[int, ...] = ()  # opening message first, then later ones in order
    notes: tuple[Note, ...] = ()
    state: ConversationState = ConversationState.WITH_PERSON  # as stored; see `conversation`
    details: Mapping[str, str] = field(default_factory=dict)  # asked for and given: {"order_number": "55120"}

    @property
    def conversation(self) -> ConversationState:
        """The conversation's state: the stored one while the case is active, resolved after."""
        return self.state if self.status.active else ConversationState.RESOLVED


class ReplyStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboundReply:
    """A message to a customer, persisted in the outbox before any connector sees it."""

    id: int
    connector: str  # which connector delivers it
    channel: str
    recipient_id: str  # the customer's platform user id
    conversation_id: str
    text: str
    status: ReplyStatus
    attempts: int
    created_at: datetime
    in_reply_to: str = ""  # external id of the message answered, if any
    direct: bool = False
    kind: str = "auto"  # auto | staff | followup
    escalation_id: int | None = None
    message_id: int | None = None  # the inbound message that caused it
    external_id: str = ""  # the platform's id once sent
    last_error: str = ""
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """A decision the bot or a person made, and why."""

    id: int
    at: datetime
    kind: str  # e.g. message.stored, message.duplicate, routed, escalation.opened, reply.sent
    detail: Mapping[str, Any]
    actor: str = "bot"
    message_id: int | None = None
    customer_id: int | None = None
    escalation_id: int | None = None
