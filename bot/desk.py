"""The support desk: what staff do with escalations, independent of where they click (Slack, CLI)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config import SlaSettings
from bot.domain import (
    CHANNELS,
    Customer,
    Escalation,
    EscalationStatus,
    Identity,
    OutboundReply,
    StoredMessage,
    utcnow,
)
from bot.errors import InputError, NotFound
from bot.events import EscalationChanged, EventBus
from bot.sla import SlaState, sla_state
from bot.storage import Repository
from nlp.types import Analysis, Intent

if TYPE_CHECKING:
    from bot.staff.business_hours import BusinessHours


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    actor: str
    what: str
    at: datetime


@dataclass(frozen=True, slots=True)
class EscalationCard:
    """Everything a triage card shows about one escalation."""

    escalation: Escalation
    customer: Customer
    identity: Identity | None  # the account the customer wrote from
    opening: StoredMessage
    analysis: Analysis | None
    recent: tuple[StoredMessage, ...]  # the customer's last three interactions before this one, newest first
    sla: SlaState
    history: tuple[HistoryEntry, ...]
    snoozed_until: datetime | None = None
    first_response_at: datetime | None = None  # when staff first answered the customer

    @property
    def responded(self) -> bool:
        return self.first_response_at is not None


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    customer: Customer
    recent: tuple[StoredMessage, ...]
    escalations: tuple[Escalation, ...]


MAX_REPLY = 20_000  # characters of one staff reply (an X thread of 70 posts): longer is surely a paste error

_HISTORY_KINDS = {
    "escalation.opened": "opened",
    "escalation.claimed": "claimed",
    "escalation.assigned": "assigned",
    "escalation.resolved": "resolved",
    "escalation.snoozed": "snoozed",
    "escalation.reclassified": "reclassified",
    "escalation.replied": "replied",
    "escalation.noted": "added a note",
    "escalation.reopened": "reopened",
    "reply.failed": "reply could not be delivered",
    "conversation.handoff": "customer asked for a person",
    "conversation.details": "customer gave details",
}


class Desk:
    """Staff actions on escalations. Every action is audited with who did it."""

    def __init__(
        self, repo: Repository, events: EventBus, sla: SlaSettings, hours: BusinessHours | None = None
    ) -> None:
        self.repo = repo
        self.events = events
        self.sla = sla
        self.hours = hours  # SLA targets count business time; None: always open
        # How an account is linked to a customer. The relationships feature replaces this with a link
        # that brings the account's earlier messages along (as an undoable merge).
        self.linker: Callable[[str, str, int, str], Awaitable[Identity]] = self._plain_link
        # Wakes the outbox once a reply is committed (the composition root sets it), so a staff reply from
        # any face (Slack, the console, the API) goes out at once rather than at the outbox's next poll.
        self.wake: Callable[[], None] = lambda: None

    async def _get(self, escalation_id: int) -> Escalation:
        esc = await self.repo.escalations.get(escalation_id)
        if esc is None:
            raise NotFound(f"escalation #{escalation_id} does not exist")
        return esc

    async def _changed(self, esc: Escalation, change: str, staff: str, detail: dict[str, Any] | None = None) -> None:
        await self.repo.audit.record(
            f"escalation.{change}", detail or {}, actor=staff, escalation_id=esc.id, customer_id=esc.customer_id
        )
        await self.events.publish(EscalationChanged(esc.id, change, staff))

    async def claim(self, escalation_id: int, staff: str) -> Escalation:
        async with self.events.held(), self.repo.unit():
            esc = await self.repo.escalations.update(
                escalation_id,
                only_if=(EscalationStatus.OPEN,),
                status=EscalationStatus.CLAIMED,
                assignee=staff,
                claimed_at=utcnow(),
            )
            await self._changed(esc, "claimed", staff)
        return esc

    async def assign(self, escalation_id: int, staff: str, to: str) -> Escalation:
        """Give an open or claimed escalation to `to` (claimed in their name); `staff` is who decided."""
        to = to.strip()
        if not to or len(to) > 100:
            raise InputError("name who takes the case (up to 100 characters)", field="assignee")
        async with self.events.held(), self.repo.unit():
            esc = await self._get(escalation_id)
            esc = await self.repo.escalations.update(
                esc.id,
                only_if=(EscalationStatus.OPEN, EscalationStatus.CLAIMED),
                status=EscalationStatus.CLAIMED,
                assignee=to,
                claimed_at=esc.claimed_at or utcnow(),
            )
            await self._changed(esc, "assigned", staff, {"assignee": to})
        return esc

    async def resolve(self, escalation_id: int, staff: str) -> Escalation:
        async with self.events.held(), self.repo.unit():
            esc = await self._get(escalation_id)
            esc = await self.repo.escalations.update(
                esc.id,
                only_if=(EscalationStatus.OPEN, EscalationStatus.CLAIMED),
                status=EscalationStatus.RESOLVED,
                resolved_at=utcnow(),
                assignee=esc.assignee or staff,
            )
            await self._changed(esc, "resolved", staff)
        return esc

    async def reopen(self, escalation_id: int, staff: str) -> Escalation:
        esc = await self._get(escalation_id)
        esc = await self.repo.escalations.update(esc.id, status=EscalationStatus.OPEN, resolved_at=None)
        await self._changed(esc, "reopened", staff)
        return esc

    async def snooze(self, escalation_id: int, staff: str, minutes: int) -> Escalation:
        if not 1 <= minutes <= 7 * 24 * 60:
            raise InputError("snooze for 1 minute to 7 days")
        esc = await self._get(escalation_id)
        esc = await self.repo.escalations.update(esc.id, snoozed_until=utcnow() + timedelta(minutes=minutes))
        await self._changed(esc, "snoozed", staff, {"minutes": minutes})
        return esc

    async def reclassify(self, escalation_id: int, staff: str, intent: str) -> Escalation:
        try:
            new = Intent(intent)
        except ValueError:
            raise InputError(f"unknown intent {intent[:40]!r}") from None
        esc = await self._get(escalation_id)
        old = esc.intent
        esc = await self.repo.escalations.update(esc.id, intent=new.value)
        # Corrections are training data for the next model; keep them with the message.
        await self._changed(
            esc, "reclassified", staff, {"from": old, "to": new.value, "message_id": esc.opening_message_id}
        )
        return esc

    async def reply(
        self, escalation_id: int, staff: str, text: str, *, key: str = "", marker: dict[str, str] | None = None
    ) -> OutboundReply:
        """Queue a staff reply to the customer on their own channel. `key` makes a retried request idempotent;
        `marker` goes into the audit entry (a suggested reply or a macro says which it was)."""
        text = text.strip()
        if not text:
            raise InputError("reply text is empty", field="text")
        if len(text) > MAX_REPLY:
            raise InputError(f"reply text is longer than {MAX_REPLY:,} characters", field="text")
        # One unit: the reply, the first-response time and the audit entry commit together.
        async with self.events.held(), self.repo.unit():
            esc = await self._get(escalation_id)
            opening = await self.repo.messages.get(esc.opening_message_id)
            if opening is None:
                raise InputError(f"escalation #{esc.id} lost its opening message")
            m = opening.message
            queued = await self.repo.replies.enqueue(
                dedupe_key=f"staff:{esc.id}:{key or utcnow().isoformat()}",
                connector=m.via,
                channel=m.channel,
                recipient_id=m.author_id,
                conversation_id=m.conversation_id,
                text=text,  # a connector splits what its platform cannot take in one message, never cuts it
                in_reply_to=m.external_id,
                direct=m.direct,
                kind="staff",
                escalation_id=esc.id,
                message_id=opening.id,
            )
            if queued is None:  # the same request again (a retried delivery): nothing new
                existing = [r for r in await self.repo.replies.query(escalation_id=esc.id) if r.kind == "staff"]
                return existing[-1]
            times = await self.repo.escalations.times(esc.id)
            if times["first_response_at"] is None:
                await self.repo.escalations.update(esc.id, first_response_at=utcnow())
            await self._changed(esc, "replied", staff, {"reply_id": queued.id, **(marker or {})})
        self.wake()
        return queued

    async def note(self, escalation_id: int, staff: str, text: str) -> Escalation:
        if not text.strip():
            raise InputError("note text is empty", field="text")
        esc = await self._get(escalation_id)
        await self.repo.escalations.add_note(esc.id, staff, text.strip()[:4000])
        await self._changed(esc, "noted", staff)
        return await self._get(esc.id)

    async def card(self, escalation_id: int) -> EscalationCard | None:
        esc = await self.repo.escalations.get(escalation_id)
        if esc is None:
            return None
        opening = await self.repo.messages.get(esc.opening_message_id)
        customer = await self.repo.customers.get(esc.customer_id)
        if opening is None or customer is None:
            return None
        identity = next(
            (
                i
                for i in customer.identities
                if i.channel == opening.message.channel and i.platform_user_id == opening.message.author_id
            ),
            None,
        )
        before = [
            m
            for m in await self.repo.messages.query(customer_id=customer.id, limit=20, newest_first=True)
            if m.id < opening.id
        ][:3]
        times = await self.repo.escalations.times(esc.id)
        history = tuple(
            HistoryEntry(e.actor, _HISTORY_KINDS[e.kind], e.at)
            for e in await self.repo.audit.events(escalation_id=esc.id)
            if e.kind in _HISTORY_KINDS
        )
        return EscalationCard(
            escalation=esc,
            customer=customer,
            identity=identity,
            opening=opening,
            analysis=opening.analysis,
            recent=tuple(before),
            sla=sla_state(self.sla, esc, utcnow(), times["first_response_at"], self.hours),
            history=history,
            snoozed_until=times["snoozed_until"],
            first_response_at=times["first_response_at"],
        )

    async def message(self, message_id: int) -> StoredMessage | None:
        return await self.repo.messages.get(message_id)

    async def customer(self, customer_id: int) -> Customer | None:
        return await self.repo.customers.get(customer_id)

    async def queue(self) -> list[Escalation]:
        """Active escalations, most pressing first, oldest first within a priority."""
        active = await self.repo.escalations.query(statuses=[EscalationStatus.OPEN, EscalationStatus.CLAIMED])
        return sorted(active, key=lambda e: (e.priority.rank, e.created_at))

    async def sla_due_soon(self, within_minutes: int) -> list[EscalationCard]:
        """Active escalations whose next SLA target falls within the window (or has passed)."""
        horizon = utcnow() + timedelta(minutes=within_minutes)
        cards = []
        for esc in await self.queue():
            card = await self.card(esc.id)
            if card is None:
                continue
            if card.sla.next_due(card.responded) <= horizon:
                cards.append(card)
        return cards

    async def today_by_sentiment(self) -> dict[str, int]:
        start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        return await self.repo.messages.count_by_sentiment(start)

    async def profile(self, query: str) -> CustomerProfile | None:
        """A customer by id, handle, name, email or platform id ("channel:user" works too)."""
        query = query.strip()
        if ":" in query and query.split(":", 1)[0] in CHANNELS:
            channel, user = query.split(":", 1)
            found = [
                c
                for c in await self.repo.customers.find(user)
                if any(i.channel == channel and i.platform_user_id == user for i in c.identities)
            ]
        else:
            found = await self.repo.customers.find(query, limit=2)
        if not found:
            return None
        customer = found[0]
        recent = await self.repo.messages.query(customer_id=customer.id, limit=5, newest_first=True)
        escalations = await self.repo.escalations.query(customer_id=customer.id)
        return CustomerProfile(customer, tuple(recent), tuple(escalations))

    async def link(self, channel: str, platform_user_id: str, customer_ref: str, staff: str) -> Identity:
        """Link a platform account to an existing customer (by id or any profile query)."""
        if channel not in CHANNELS:
            raise InputError(f"unknown channel {channel[:40]!r}")
        profile = await self.profile(customer_ref)
        if profile is None:
            raise InputError(f"no customer matches {customer_ref[:80]!r}")
        return await self.linker(channel, platform_user_id, profile.customer.id, staff)

    async def _plain_link(self, channel: str, platform_user_id: str, customer_id: int, staff: str) -> Identity:
        identity = await self.repo.customers.link_identity(channel, platform_user_id, customer_id)
        await self.repo.audit.record(
            "identity.linked",
            {"channel": channel, "platform_user_id": platform_user_id},
            actor=staff,
            customer_id=customer_id,
        )
        return identity

    async def audit(self, kind: str, actor: str, detail: dict[str, Any]) -> None:
        await self.repo.audit.record(kind, detail, actor=actor)


__all__ = ["Customer", "CustomerProfile", "Desk", "EscalationCard", "HistoryEntry"]
