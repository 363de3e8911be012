"""SQLAlchemy 2.0 tables. Rows never leave `bot.storage`: the repository turns them into domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


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
    __table_args__ = (Index("ix_escalations_customer_status", "customer_id", "status"),)

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
