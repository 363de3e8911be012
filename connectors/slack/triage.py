"""The triage desk in Slack: one card per escalation, kept current, and staff replies from its thread.

Card bookkeeping lives in the durable state store: `card:<escalation id>` -> "<channel>:<ts>" and
`thread:<ts>` -> escalation id, so a restart keeps updating the same cards and routing thread replies.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from bot.config import SlackSettings
from bot.desk import Desk, EscalationCard
from bot.domain import utcnow
from bot.errors import ConnectorError, DeliveryFailed, InputError
from bot.events import EscalationChanged, Event, SalesAlert, SlaDue
from bot.staff.macros import UnknownMacro
from bot.staff.suggestions import Suggestion
from bot.staff.tools import StaffTools
from connectors.base import StateStore
from connectors.slack import blocks as bk
from connectors.slack import cards
from connectors.slack.client import SlackApi
from connectors.slack.ingest import StaffReply
from connectors.slack.staff import StaffDirectory

log = logging.getLogger(__name__)


def staff_actor(user: str) -> str:
    """How a Slack user is recorded as the actor of a desk action (cards render it as a mention)."""
    return f"slack:{user}"


class TriageDesk:
    def __init__(
        self,
        settings: SlackSettings,
        api: SlackApi,
        desk: Desk,
        state: StateStore,
        staff: StaffDirectory,
        tools: StaffTools | None = None,
    ) -> None:
        self._settings = settings
        self._tools = tools
        self._api = api
        self._desk = desk
        self._state = state
        self._staff = staff
        # One card per escalation even when "opened" and "attached" arrive together. Weak values: a lock
        # lives only while someone holds or waits on it.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, escalation_id: int) -> asyncio.Lock:
        lock = self._locks.get(escalation_id)
        if lock is None:
            lock = self._locks[escalation_id] = asyncio.Lock()
        return lock

    # -- cards ---------------------------------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        """EventBus subscriber: render or update the card, post sales alerts."""
        if isinstance(event, EscalationChanged):
            await self.refresh(event.escalation_id, event.change)
        elif isinstance(event, SalesAlert):
            await self.sales_alert(event)
        elif isinstance(event, SlaDue):
            await self.sla_due(event)

    async def sla_due(self, event: SlaDue) -> None:
        """A reminder in the card's thread before a target passes; at a breach, the card marked too.
        Posted once per escalation and target even when the relay delivers the event again."""
        key = f"sla:{event.escalation_id}:{event.target}:{'breach' if event.breached else 'reminder'}"
        if await self._state.get(key) is not None:
            return
        owner = cards.who(event.assignee) if event.assignee else "nobody has claimed it yet"
        if event.breached:
            await self.refresh(event.escalation_id)
            text = f":rotating_light: *SLA breached:* {event.target} was due {bk.date(event.due)} ({owner})."
        else:
            text = f":alarm_clock: *SLA reminder:* {event.target} is due {bk.date(event.due)} ({owner})."
        if await self.say_in_thread(event.escalation_id, text):
            await self._state.set(key, utcnow().isoformat())

    async def card_ref(self, escalation_id: int) -> tuple[str, str] | None:
        ref = await self._state.get(f"card:{escalation_id}")
        if not ref or ":" not in ref:
            return None
        channel, ts = ref.split(":", 1)
        return channel, ts

    async def refresh(self, escalation_id: int, change: str = "") -> tuple[str, str] | None:
        """Post the card if it is new, else update it in place; returns (channel, ts) or None."""
        channel = self._settings.triage_channel
        if not channel:
            return None
        async with self._lock(escalation_id):
            card = await self._desk.card(escalation_id)
            if card is None:
                return None
            text, blocks = cards.render(card, utcnow(), await self._link(card), await self._suggested(card))
            ref = await self.card_ref(escalation_id)
            if ref is not None:
                try:
                    await self._api.update(ref[0], ref[1], text, blocks)
                except DeliveryFailed as exc:
                    if exc.retryable:
                        raise
                    log.warning("slack: card for escalation #%s is gone (%s); posting a new one", escalation_id, exc)
                    ref = None
            if ref is None:
                ts = await self._api.post(channel, text, blocks=blocks)
                ref = (channel, ts)
                await self._state.set(f"thread:{ts}", str(escalation_id))
                await self._state.set(f"card:{escalation_id}", f"{channel}:{ts}")
        if change == "attached":
            await self._post_latest(card, ref)
        return ref

    async def _suggested(self, card: EscalationCard) -> tuple[Suggestion, ...]:
        if self._tools is None or not card.escalation.status.active:
            return ()
        try:
            return tuple(await self._tools.suggestions.for_case(card.escalation.id))
        except Exception as exc:  # the card matters more than its suggestions: show it without them
            log.warning("slack: no suggestions for escalation #%s: %s", card.escalation.id, type(exc).__name__)
            return ()

    async def _link(self, card: EscalationCard) -> str:
        m = card.opening.message
        if m.channel != "slack" or ":" not in m.external_id:
            return cards.original_link(m)
        key = f"link:{card.escalation.id}"
        link = await self._state.get(key)
        if link is None:
            channel, ts = m.external_id.split(":", 1)
            try:
                link = await self._api.permalink(channel, ts)
            except ConnectorError:
                return ""  # the card still names the channel; the next update tries again
            await self._state.set(key, link)
        return link

    async def _post_latest(self, card: EscalationCard, ref: tuple[str, str]) -> None:
        """The customer wrote again on an open escalation: show it in the card's thread."""
        ids = card.escalation.message_ids
        if len(ids) < 2:
            return
        stored = await self._desk.message(ids[-1])
        if stored is None:
            return
        text = f"*{bk.escape(card.customer.display_name)} wrote again:*\n{bk.quote(stored.message.text)}"
        await self._api.post(ref[0], text, thread_ts=ref[1])

    async def sales_alert(self, alert: SalesAlert) -> None:
        channel = self._settings.sales_channel
        if not channel:
            return
        customer = await self._desk.customer(alert.customer_id)
        stored = await self._desk.message(alert.message_id)
        if customer is None or stored is None:
            return
        key = f"sales:{alert.message_id}"
        if await self._state.get(key) is not None:
            return  # events are delivered at least once: this alert was posted already
        m = stored.message
        text = (
            f":moneybag: *Sales lead:* {bk.escape(customer.display_name)} (#{customer.id}, {customer.tier}) "
            f"on {m.channel}:\n{bk.quote(m.text)}"
        )
        await self._api.post(channel, bk.clip(text, bk.SECTION_TEXT_MAX))
        await self._state.set(key, "posted")

    async def say_in_thread(self, escalation_id: int, text: str) -> bool:
        ref = await self.card_ref(escalation_id)
        if ref is None:
            return False
        await self._api.post(ref[0], text, thread_ts=ref[1])
        return True

    # -- staff replies in a card's thread ------------------------------------------------------------

    async def on_staff_reply(self, reply: StaffReply) -> None:
        """A reply goes to the customer via the outbox; one starting with the note prefix stays internal."""
        raw_id = await self._state.get(f"thread:{reply.thread_ts}")
        if raw_id is None or not raw_id.isdigit():
            return  # a thread under something other than a card: staff chatting
        escalation_id = int(raw_id)
        actor = staff_actor(reply.user)
        if not await self._staff.is_staff(reply.user):
            await self._desk.audit("slack.refused", actor, {"what": "thread reply", "escalation_id": escalation_id})
            await self._api.ephemeral(reply.channel, reply.user, "Only support staff can answer customers from here.")
            return
        prefix = self._settings.note_prefix
        text = reply.text.strip()
        try:
            if prefix and text.lower().startswith(prefix.lower()):
                await self._desk.note(escalation_id, actor, text[len(prefix) :].strip())
            elif (macro := self.macro_named(text)) is not None:
                if self._tools is None:
                    raise InputError("macros are not available here")
                await self._tools.macros.send(escalation_id, actor, macro, request_key=f"slack:{reply.ts}")
            else:
                # The message ts makes a redelivered event queue the reply only once.
                await self._desk.reply(escalation_id, actor, text, key=f"slack:{reply.ts}")
        except UnknownMacro as exc:
            await self._api.ephemeral(reply.channel, reply.user, f"Not sent: {exc}.")
        except InputError as exc:
            await self._api.ephemeral(reply.channel, reply.user, f"Not sent: {exc}")

    def macro_named(self, text: str) -> str | None:
        """The macro a thread reply asks for: "macro: NAME", or "/rapport macro NAME" sent as a message
        (Slack runs no app's slash command in a thread, so it arrives as text); None for a plain reply."""
        words = text.split()
        prefix = self._settings.macro_prefix.lower()
        if prefix and text.lower().startswith(prefix):
            rest = text[len(prefix) :].split()
            return rest[0].lower() if len(rest) == 1 else ""
        if len(words) == 3 and words[0].lower() == self._settings.command.lower() and words[1].lower() == "macro":
            return words[2].lower()
        return None
