"""What each webhook event says: the event's type and its data, read from the database at delivery time.

Customer texts leave masked (bot/privacy.py): a receiver is another system, and what it stores is out of
our hands, so card numbers, IBANs and passwords never go out."""

from __future__ import annotations

import json
from typing import Any

from bot.domain import Escalation, StoredMessage, utcnow
from bot.events import EscalationChanged, MessageReceived, SalesAlert
from bot.privacy import mask
from bot.relationships.events import CsatReceived, TierChanged
from bot.storage import Repository

# The desk's change -> the webhook event: an assignment (by hand or automatic) claims the case for someone.
_ESCALATION_CHANGES = {"opened": "opened", "claimed": "claimed", "assigned": "claimed", "resolved": "resolved"}


def _escalation(e: Escalation) -> dict[str, Any]:
    return {
        "id": e.id,
        "status": e.status.value,
        "priority": e.priority.value,
        "channel": e.channel,
        "customer_id": e.customer_id,
        "reason": mask(e.reason),
        "intent": e.intent,
        "flagged": e.flagged,
        "assignee": e.assignee,
        "created_at": e.created_at.isoformat(),
        "resolved_at": e.resolved_at.isoformat() if e.resolved_at else None,
    }


def _message(m: StoredMessage) -> dict[str, Any]:
    a = m.analysis
    return {
        "id": m.id,
        "channel": m.message.channel,
        "author_id": m.message.author_id,
        "author_name": m.message.author_name,
        "text": mask(m.message.text),
        "sent_at": m.message.sent_at.isoformat(),
        "intent": a.intent.value if a else None,
        "sentiment": a.sentiment.value if a else None,
        "urgent": a.urgent if a else None,
        "action": m.action,
    }


async def describe(event: object, repo: Repository) -> tuple[str, dict[str, Any]] | None:
    """(webhook event type, data) for the events webhooks carry; None for every other event."""
    if isinstance(event, EscalationChanged) and event.change in _ESCALATION_CHANGES:
        esc = await repo.escalations.get(event.escalation_id)
        if esc is None:
            return None
        return f"escalation.{_ESCALATION_CHANGES[event.change]}", {"escalation": _escalation(esc), "actor": event.actor}
    if isinstance(event, SalesAlert | MessageReceived):
        stored = await repo.messages.get(event.message_id)
        if stored is None:
            return None
        kind = "sales.alert" if isinstance(event, SalesAlert) else "message.received"
        return kind, {"customer_id": event.customer_id, "message": _message(stored)}
    if isinstance(event, CsatReceived):
        return "csat.received", {
            "customer_id": event.customer_id,
            "escalation_id": event.escalation_id,
            "score": event.score,
        }
    if isinstance(event, TierChanged):
        return "customer.tier_changed", {
            "customer_id": event.customer_id,
            "from": event.previous_tier,
            "to": event.tier,
            "reason": mask(event.reason),
        }
    return None


def event_id(stored_id: int) -> str:
    """The id receivers dedupe on: the durable event's own, the same however often it is relayed."""
    return f"evt_{stored_id}"


def envelope(stored_id: int, kind: str, data: dict[str, Any]) -> str:
    """The exact JSON body that is signed and sent."""
    body = {"id": event_id(stored_id), "type": kind, "created_at": utcnow().isoformat(), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
