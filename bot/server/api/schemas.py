"""The API's JSON shapes (request bodies and responses), built from domain objects in one place."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.desk import EscalationCard
from bot.domain import Escalation, Identity, Note, OutboundReply, StoredMessage
from bot.privacy import mask

# How a text is shown: masked (card numbers, IBANs, passwords), or as stored for an admin who asked.
Shown = Callable[[str], str]

T = TypeVar("T")
ChannelName = Literal["discord", "slack", "x", "console", "email"]


class StrictIn(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last one.")


class Error(BaseModel):
    error: str = Field(description="A stable code: invalid, not_found, conflict, unauthenticated, forbidden, ...")
    message: str
    field: str | None = Field(None, description="The request field at fault, when there is one.")


# -- requests -------------------------------------------------------------------------------------


class TextIn(StrictIn):
    text: str = Field(min_length=1, max_length=4000)


class PurchaseIn(StrictIn):
    amount: float = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code; must be [relationships] currency.")
    at: datetime | None = Field(None, description="When it was bought (ISO 8601); now when left out.")
    reference: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The shop's order id: a purchase is recorded once per reference. Without one, the "
        "Idempotency-Key header serves, else a new reference is made (a retried request then counts twice).",
    )

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # A time without an offset is taken as UTC, as everything Rapport stores is.
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class LinkIn(StrictIn):
    channel: ChannelName
    platform_user_id: str = Field(min_length=1, max_length=100, description="The account's id on that platform.")


# -- responses ------------------------------------------------------------------------------------


class EscalationOut(BaseModel):
    id: int
    status: str
    priority: str
    channel: str
    customer_id: int
    conversation_id: str
    reason: str
    intent: str
    flagged: bool
    assignee: str
    created_at: datetime
    updated_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    message_ids: list[int]

    @classmethod
    def of(cls, e: Escalation, show: Shown = mask) -> EscalationOut:
        return cls(
            id=e.id,
            status=e.status.value,
            priority=e.priority.value,
            channel=e.channel,
            customer_id=e.customer_id,
            conversation_id=e.conversation_id,
            reason=show(e.reason),
            intent=e.intent,
            flagged=e.flagged,
            assignee=e.assignee,
            created_at=e.created_at,
            updated_at=e.updated_at,
            claimed_at=e.claimed_at,
            resolved_at=e.resolved_at,
            message_ids=list(e.message_ids),
        )


class MessageOut(BaseModel):
    id: int
    channel: str
    author_id: str
    author_name: str
    text: str
    sent_at: datetime
    received_at: datetime
    intent: str | None
    sentiment: str | None
    action: str

    @classmethod
    def of(cls, m: StoredMessage, show: Shown = mask) -> MessageOut:
        a = m.analysis
        return cls(
            id=m.id,
            channel=m.message.channel,
            author_id=m.message.author_id,
            author_name=m.message.author_name,
            text=show(m.message.text),
            sent_at=m.message.sent_at,
            received_at=m.received_at,
            intent=a.intent.value if a else None,
            sentiment=a.sentiment.value if a else None,
            action=m.action,
        )


class ReplyOut(BaseModel):
    id: int
    kind: str
    status: str
    channel: str
    text: str
    created_at: datetime
    sent_at: datetime | None
    last_error: str

    @classmethod
    def of(cls, r: OutboundReply, show: Shown = mask) -> ReplyOut:
        return cls(
            id=r.id,
            kind=r.kind,
            status=r.status.value,
            channel=r.channel,
            text=show(r.text),
            created_at=r.created_at,
            sent_at=r.sent_at,
            last_error=r.last_error,
        )


class NoteOut(BaseModel):
    author: str
    text: str
    at: datetime

    @classmethod
    def of(cls, n: Note, show: Shown = mask) -> NoteOut:
        return cls(author=n.author, text=show(n.text), at=n.at)


class HistoryOut(BaseModel):
    actor: str
    what: str
    at: datetime


class Classification(BaseModel):
    intent: str
    sentiment: str
    confidence: float
    low_confidence: bool
    urgent: bool
    abusive: bool
    language: str
    model_version: str


class Sla(BaseModel):
    first_response_due: datetime
    resolution_due: datetime
    first_response_breached: bool
    resolution_breached: bool


class CustomerBrief(BaseModel):
    id: int
    display_name: str
    tier: str
    stage: str


class EscalationDetail(EscalationOut):
    customer: CustomerBrief
    classification: Classification | None
    sla: Sla
    first_response_at: datetime | None
    snoozed_until: datetime | None
    messages: list[MessageOut]
    replies: list[ReplyOut]
    notes: list[NoteOut]
    history: list[HistoryOut]

    @classmethod
    def build(
        cls,
        card: EscalationCard,
        messages: list[StoredMessage],
        replies: list[OutboundReply],
        show: Shown = mask,
    ) -> EscalationDetail:
        """The whole case; every customer and staff text through `show` (masked unless an admin asked)."""
        e, c, a = card.escalation, card.customer, card.analysis
        return cls(
            **EscalationOut.of(e, show).model_dump(),
            customer=CustomerBrief(id=c.id, display_name=c.display_name, tier=c.tier, stage=c.stage),
            classification=None
            if a is None
            else Classification(
                intent=a.intent.value,
                sentiment=a.sentiment.value,
                confidence=round(a.confidence, 4),
                low_confidence=a.low_confidence,
                urgent=a.urgent,
                abusive=a.abusive,
                language=a.language,
                model_version=a.model_version,
            ),
            sla=Sla(
                first_response_due=card.sla.first_response_due,
                resolution_due=card.sla.resolution_due,
                first_response_breached=card.sla.first_response_breached,
                resolution_breached=card.sla.resolution_breached,
            ),
            first_response_at=card.first_response_at,
            snoozed_until=card.snoozed_until,
            messages=[MessageOut.of(m, show) for m in messages],
            replies=[ReplyOut.of(r, show) for r in replies],
            notes=[NoteOut.of(n, show) for n in e.notes],
            history=[HistoryOut(actor=h.actor, what=h.what, at=h.at) for h in card.history],
        )


class IdentityOut(BaseModel):
    channel: str
    platform_user_id: str
    customer_id: int
    handle: str
    display_name: str

    @classmethod
    def of(cls, i: Identity) -> IdentityOut:
        return cls(
            channel=i.channel,
            platform_user_id=i.platform_user_id,
            customer_id=i.customer_id,
            handle=i.handle,
            display_name=i.display_name,
        )


class PurchaseOut(BaseModel):
    recorded: bool = Field(description="false when a purchase with this reference was recorded before")
    reference: str
    customer_id: int
    amount: float
    currency: str
    at: datetime | None


class CustomerOut(BaseModel):
    """A customer's profile, as `rapport customers show --json` gives it."""

    model_config = ConfigDict(extra="allow")

    id: int
    display_name: str
    email: str
    tier: str
    tier_reason: str
    stage: str
    stage_reason: str
    identities: list[dict[str, Any]]
    open_escalations: list[dict[str, Any]]
    purchases: list[dict[str, Any]]
    csat: list[dict[str, Any]]


class ForgottenOut(BaseModel):
    """What forgetting a customer erased: row counts per table, never a value."""

    customer_id: int
    rows: dict[str, int]
    forced: bool
