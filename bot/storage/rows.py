"""Rows to domain objects and back: the one place a table row becomes a frozen domain object."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from bot.domain import (
    AuditEvent,
    ConversationState,
    Customer,
    Escalation,
    EscalationStatus,
    Identity,
    InboundMessage,
    Note,
    OutboundReply,
    Priority,
    ReplyStatus,
    StoredMessage,
    utcnow,
)
from bot.storage.tables import AuditRow, CustomerRow, EscalationRow, IdentityRow, MessageRow, NoteRow, ReplyRow
from nlp.types import Analysis, Intent, Sentiment


def aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; everything we store is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def analysis_to_json(a: Analysis) -> dict[str, Any]:
    data = asdict(a)
    data["scores"] = dict(a.scores)
    return data


def analysis_from_json(data: Mapping[str, Any] | None) -> Analysis | None:
    if not data:
        return None
    return Analysis(
        sentiment=Sentiment(data["sentiment"]),
        intent=Intent(data["intent"]),
        urgent=bool(data["urgent"]),
        abusive=bool(data["abusive"]),
        language=data.get("language", "unknown"),
        confidence=float(data.get("confidence", 0.0)),
        low_confidence=bool(data.get("low_confidence", False)),
        scores=dict(data.get("scores", {})),
        model_version=data.get("model_version", "unknown"),
    )


def message_of(row: MessageRow) -> StoredMessage:
    inbound = InboundMessage(
        channel=row.channel,
        external_id=row.external_id,
        author_id=row.author_id,
        text=row.text,
        conversation_id=row.conversation_id,
        author_handle=row.author_handle,
        author_name=row.author_name,
        sent_at=aware(row.sent_at) or utcnow(),
        direct=row.direct,
        connector=row.connector,
    )
    return StoredMessage(
        id=row.id,
        message=inbound,
        customer_id=row.customer_id,
        analysis=analysis_from_json(row.analysis),
        received_at=aware(row.received_at) or utcnow(),
        action=row.action,
    )


def identity_of(row: IdentityRow) -> Identity:
    return Identity(row.channel, row.platform_user_id, row.customer_id, row.handle, row.display_name)


def customer_of(row: CustomerRow, identities: Iterable[IdentityRow] = ()) -> Customer:
    return Customer(
        id=row.id,
        display_name=row.display_name,
        created_at=aware(row.created_at) or utcnow(),
        tier=row.tier,
        stage=row.stage,
        email=row.email,
        identities=tuple(identity_of(i) for i in identities),
    )


def escalation_of(row: EscalationRow, message_ids: Sequence[int] = (), notes: Iterable[NoteRow] = ()) -> Escalation:
    return Escalation(
        id=row.id,
        customer_id=row.customer_id,
        opening_message_id=row.opening_message_id,
        channel=row.channel,
        conversation_id=row.conversation_id,
        status=EscalationStatus(row.status),
        priority=Priority(row.priority),
        reason=row.reason,
        intent=row.intent,
        created_at=aware(row.created_at) or utcnow(),
        updated_at=aware(row.updated_at) or utcnow(),
        flagged=row.flagged,
        assignee=row.assignee,
        claimed_at=aware(row.claimed_at),
        resolved_at=aware(row.resolved_at),
        message_ids=tuple(message_ids),
        notes=tuple(Note(n.author, n.text, aware(n.at) or utcnow()) for n in notes),
        state=ConversationState(row.conversation_state or ConversationState.WITH_PERSON),
        details=details_of(row.details),
    )


def details_of(text: str | None) -> dict[str, str]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def reply_of(row: ReplyRow) -> OutboundReply:
    return OutboundReply(
        id=row.id,
        connector=row.connector,
        channel=row.channel,
        recipient_id=row.recipient_id,
        conversation_id=row.conversation_id,
        text=row.text,
        status=ReplyStatus(row.status),
        attempts=row.attempts,
        created_at=aware(row.created_at) or utcnow(),
        in_reply_to=row.in_reply_to,
        direct=row.direct,
        kind=row.kind,
        escalation_id=row.escalation_id,
        message_id=row.message_id,
        external_id=row.external_id,
        last_error=row.last_error,
        next_attempt_at=aware(row.next_attempt_at),
        sent_at=aware(row.sent_at),
    )


def audit_of(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        at=aware(row.at) or utcnow(),
        kind=row.kind,
        detail=row.detail,
        actor=row.actor,
        message_id=row.message_id,
        customer_id=row.customer_id,
        escalation_id=row.escalation_id,
    )
