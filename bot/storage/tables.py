"""SQLAlchemy 2.0 tables. Rows never leave `bot.storage`: the repository turns them into domain objects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    tier: Mapped[str] = mapped_column(String(20), default="iron")
    tier_reason: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(20), default="exploration")
    stage_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IdentityRow(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "platform_user_id", name="uq_identity_channel_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    platform_user_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    handle: Mapped[str] = mapped_column(String(200), default="")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_message_channel_external"),
        Index("ix_messages_customer_received", "customer_id", "received_at"),
        # Only the messages still waiting: a customer's earlier ones (arrival order), sweeps, status.
        Index(
            "ix_messages_waiting",
            "channel",
            "author_id",
            "id",
            sqlite_where=text("action = ''"),
            postgresql_where=text("action = ''"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    connector: Mapped[str] = mapped_column(String(40))
    conversation_id: Mapped[str] = mapped_column(String(200), default="")
    author_id: Mapped[str] = mapped_column(String(100))
    author_handle: Mapped[str] = mapped_column(String(200), default="")
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime]
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), default=None)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    intent: Mapped[str | None] = mapped_column(String(30), default=None)
    sentiment: Mapped[str | None] = mapped_column(String(10), default=None)
    action: Mapped[str] = mapped_column(String(30), default="")
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"), default=None, index=True)
    error: Mapped[str] = mapped_column(Text, default="")


class EscalationRow(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_customer_status", "customer_id", "status"),
        # One active (open or claimed) escalation per conversation, whichever process handles its messages.
        Index(
            "uq_escalations_active_conversation",
            "customer_id",
            "channel",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'claimed')"),
            postgresql_where=text("status IN ('open', 'claimed')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    opening_message_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), index=True)
    priority: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    intent: Mapped[str] = mapped_column(String(30), default="")
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    # Who holds the conversation while the case is active, what was asked for and given, and the last
    # follow-up acknowledgement (bot/conversation.py).
    conversation_state: Mapped[str] = mapped_column(String(30), default="with_person", server_default="with_person")
    details: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    acked_at: Mapped[datetime | None] = mapped_column(default=None)


class NoteRow(Base):
    __tablename__ = "escalation_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class ReplyRow(Base):
    """The outbox. `dedupe_key` is unique so the same cause can never queue a second reply."""

    __tablename__ = "replies"
    __table_args__ = (Index("ix_replies_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    connector: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    recipient_id: Mapped[str] = mapped_column(String(100))
    conversation_id: Mapped[str] = mapped_column(String(200), default="")
    in_reply_to: Mapped[str] = mapped_column(String(200), default="")
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="auto")
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"), default=None)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), default=None)
    external_id: Mapped[str] = mapped_column(String(200), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    actor: Mapped[str] = mapped_column(String(100), default="bot")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    escalation_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)


class ConnectorStateRow(Base):
    __tablename__ = "connector_state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


# -- customer relationships (bot.relationships) ---------------------------------------------------


class CustomerAccountRow(Base):
    """What the business knows about a customer beyond their messages: imported or recorded values."""

    __tablename__ = "customer_accounts"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    lifetime_value: Mapped[float] = mapped_column(Float, default=0.0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    birthday: Mapped[date | None] = mapped_column(Date, default=None)
    account_manager: Mapped[str] = mapped_column(String(200), default="")
    merged_into: Mapped[int | None] = mapped_column(Integer, default=None)  # set while merged into another
    updated_at: Mapped[datetime]


class PurchaseRow(Base):
    __tablename__ = "purchases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    reference: Mapped[str] = mapped_column(String(200), unique=True)  # the shop's order id: never twice
    amount: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(40), default="api")


class FollowUpRow(Base):
    """A message to send later. Persisted so a restart loses none; `dedupe_key` makes each one once."""

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # csat | purchase_thanks | keep_in_touch | birthday
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"), default=None)
    status: Mapped[str] = mapped_column(String(12))  # pending | sent | skipped | cancelled
    due_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")  # why skipped or postponed
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("replies.id"), default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CsatSurveyRow(Base):
    __tablename__ = "csat_surveys"
    __table_args__ = (Index("ix_csat_customer_status", "customer_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))  # asked | reasked | answered | unanswered
    score: Mapped[int | None] = mapped_column(Integer, default=None)
    answer_text: Mapped[str] = mapped_column(Text, default="")
    answer_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), default=None)
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(default=None)


class OptOutRow(Base):
    __tablename__ = "opt_outs"
    __table_args__ = (UniqueConstraint("customer_id", "channel", name="uq_opt_out_customer_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), default=None)


class CustomerMergeRow(Base):
    """One merge and exactly which rows it moved, so it can be undone."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)  # table name -> list of row ids
    actor: Mapped[str] = mapped_column(String(100), default="bot")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]
    undone_at: Mapped[datetime | None] = mapped_column(default=None)


class TopicRow(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[datetime]


class TopicMessageRow(Base):
    __tablename__ = "topic_messages"

    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True, index=True)


class EventRow(Base):
    """A domain event, written in the transaction of the change it reports (durable events)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)


class EventDeliveryRow(Base):
    """One subscriber has handled one event: what makes relayed delivery at least once, and each
    subscriber's handling of an event once."""

    __tablename__ = "event_deliveries"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(100), primary_key=True)
    delivered_at: Mapped[datetime]


# -- staff access (bot.access) --------------------------------------------------------------------


class UserRow(Base):
    """A staff account. Only an argon2 hash of the password is kept."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(10))  # admin | agent | viewer
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiTokenRow(Base):
    """An API token: its SHA-256 digest only (the token is high-entropy, so a slow hash adds nothing)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class WebhookDeliveryRow(Base):
    """One event for one webhook: the exact body that is signed and sent, and how sending went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook", "event_id", name="uq_webhook_delivery_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[int] = mapped_column(Integer)  # the durable event's id: what receivers dedupe on
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # pending | sending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)  # the receiver's HTTP status
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


# -- the web console (bot.access.sessions) --------------------------------------------------------


class ConsoleSessionRow(Base):
    """A signed-in browser: the SHA-256 digest of its cookie (the cookie itself is never stored)."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SignInAttemptRow(Base):
    """One console sign-in attempt, for rate limiting per account and per client address."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_email", "email", "at"),
        Index("ix_sign_in_attempts_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


# -- staff tools (bot.staff) ----------------------------------------------------------------------


class StaffShiftRow(Base):
    """Who is on shift for automatic assignment, and when each last got a case (the round-robin turn)."""

    __tablename__ = "staff_shifts"

    actor: Mapped[str] = mapped_column(String(100), primary_key=True)  # "slack:U123", "user:ann@example.com"
    on_shift: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime]
    last_assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    turns: Mapped[int] = mapped_column(Integer, default=0)  # cases auto-assigned: the conditional update's check
