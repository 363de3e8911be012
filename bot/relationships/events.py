"""Events relationships publish on the core `EventBus`, for staff-facing parts (the Slack desk) to render.

Like the core's events they are stored facts first: a subscriber that misses one can rebuild it from
`RelationshipService.profile` and the topics table.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.events import EventBus, durable
from bot.relationships.models import Topic


@durable
@dataclass(frozen=True, slots=True)
class ChurnRisk:
    """A customer moved into the dissolution stage: post to Slack so someone reaches out."""

    customer_id: int
    previous_stage: str
    reason: str
    message_id: int | None = None


@durable
@dataclass(frozen=True, slots=True)
class LeadAttention:
    """A customer fell to the lead tier: look at why, never serve them worse silently."""

    customer_id: int
    previous_tier: str
    reason: str


@durable
@dataclass(frozen=True, slots=True)
class TierChanged:
    customer_id: int
    previous_tier: str
    tier: str
    reason: str


@durable
@dataclass(frozen=True, slots=True)
class CsatReceived:
    """A customer answered a satisfaction survey."""

    customer_id: int
    escalation_id: int
    score: int


@dataclass(frozen=True, slots=True)
class TopicSummary:
    """The weekly root-cause summary: complaint topics, largest first."""

    week: str  # ISO week, e.g. 2026-W47
    topics: tuple[Topic, ...]


RelationshipEvent = ChurnRisk | LeadAttention | TopicSummary | TierChanged | CsatReceived


async def publish(bus: EventBus, event: RelationshipEvent) -> None:
    # The bus fans out any frozen event; its `Event` alias lists only the core's own kinds.
    await bus.publish(event)  # type: ignore[arg-type]
