"""The follow-up scheduler: CSAT surveys after resolutions, thanks after purchases, keep-in-touch and
birthday messages. Every follow-up is a row before it is a message, so a restart loses none and a
dedupe key sends each at most once; delivery goes through the outbox like every other reply."""

from __future__ import annotations

import asyncio
import calendar
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import RelationshipSettings
from bot.domain import EscalationStatus, StoredMessage, utcnow
from bot.relationships.models import FollowUp, FollowUpKind, FollowUpStatus
from bot.relationships.quiet import next_allowed
from bot.relationships.templates import render_followup
from bot.storage import Repository
from bot.storage.relationships import RelationshipRepository

log = logging.getLogger(__name__)

_RECOMPUTED_KEY = "relationships:tiers_recomputed_at"
_DIRECT_CHANNELS = ("discord", "slack", "x")  # platforms whose connector (named like the platform) can DM


@dataclass(frozen=True, slots=True)
class Target:
    """Where a follow-up goes, in the outbox's terms."""

    connector: str
    channel: str
    recipient_id: str
    conversation_id: str
    in_reply_to: str
    direct: bool
    message_id: int | None
    name: str = ""

    @classmethod
    def answering(cls, stored: StoredMessage) -> Target:
        m = stored.message
        return cls(m.via, m.channel, m.author_id, m.conversation_id, m.external_id, m.direct, stored.id, m.author_name)


def birthday_this_year(born: date, year: int) -> date:
    """The day to celebrate in `year`; 29 February falls on the 28th in other years."""
    if born.month == 2 and born.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return born.replace(year=year)


class FollowUpScheduler:
    """Plans follow-ups from the database and sends the due ones. `run(stop)` wakes every `poll_seconds`."""

    def __init__(
        self,
        repo: Repository,
        rel: RelationshipRepository,
        settings: RelationshipSettings,
        wake: Callable[[], None],
        *,
        refresh_all: Callable[[], Awaitable[int]] | None = None,
        weekly: Callable[[datetime], Awaitable[None]] | None = None,
    ) -> None:
        self.repo = repo
        self.rel = rel
        self.settings = settings
        self.wake = wake
        self.refresh_all = refresh_all
        self.weekly = weekly

    async def schedule_csat(self, escalation_id: int, customer_id: int, resolved_at: datetime) -> FollowUp | None:
        due = resolved_at + timedelta(minutes=self.settings.csat_delay_minutes)
        return await self.rel.schedule(f"csat:{escalation_id}", FollowUpKind.CSAT, customer_id, due, escalation_id)

    async def run(self, stop: asyncio.Event, leading: Callable[[], Awaitable[bool]] | None = None) -> None:
        """Tick until `stop` is set; one failing tick is logged and the next one tries again. With `leading`,
        only the ticks where this process holds the schedulers' lease run (one process among several)."""
        while not stop.is_set():
            try:
                if leading is None or await leading():
                    await self.tick()
            except Exception:
                log.exception("follow-up scheduler tick failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.poll_seconds)
            except TimeoutError:
                pass

    async def tick(self, now: datetime | None = None) -> int:
        """Plan what is due by now and send it; returns how many follow-ups were queued for delivery."""
        now = now or utcnow()
        await self.plan(now)
        if self.refresh_all is not None and await self._due(
            _RECOMPUTED_KEY, now, timedelta(minutes=self.settings.recompute_minutes)
        ):
            await self.refresh_all()
        if self.weekly is not None:
            await self.weekly(now)
        sent = 0
        for followup in await self.rel.due_followups(now):
            sent += await self.deliver(followup, now)
        return sent

    async def _due(self, key: str, now: datetime, every: timedelta) -> bool:
        last = await self.repo.state.get(key)
        if last is not None and datetime.fromisoformat(last) + every > now:
            return False
        await self.repo.state.set(key, now.isoformat())
        return True

    async def plan(self, now: datetime) -> None:
        """Turn the database's state into follow-up rows: missed surveys, keep-in-touch, birthdays."""
        s = self.settings
        window = now - timedelta(hours=s.csat_expire_hours)
        for escalation_id, customer_id, resolved_at in await self.rel.resolved_without_csat(window):
            await self.schedule_csat(escalation_id, customer_id, resolved_at)
        expired = await self.rel.expire_surveys(window)
        if expired:
            log.info("%d CSAT surveys went unanswered", expired)
        for customer_id, last in await self.rel.quiet_customers(
            s.keep_in_touch_tiers, now - timedelta(days=s.keep_in_touch_days)
        ):
            # Keyed by the last contact: one nudge per silence, never a reminder every day.
            await self.rel.schedule(
                f"keep:{customer_id}:{last:%Y%m%dT%H%M%S}", FollowUpKind.KEEP_IN_TOUCH, customer_id, now
            )
        tz = ZoneInfo(s.timezone)
        today = now.astimezone(tz).date()
        for customer_id, born in await self.rel.birthdays():
            if birthday_this_year(born, today.year) == today:
                due = datetime.combine(today, time(s.birthday_hour), tzinfo=tz)
                await self.rel.schedule(f"birthday:{customer_id}:{today.year}", FollowUpKind.BIRTHDAY, customer_id, due)

    async def _target(self, f: FollowUp) -> Target | None:
        """Where to send: under the escalation's opening message for a survey, else where the customer last
        wrote; a customer who never wrote (imported) gets a direct message on a linked account."""
        if f.kind is FollowUpKind.CSAT and f.escalation_id is not None:
            esc = await self.repo.escalations.get(f.escalation_id)
            opening = await self.repo.messages.get(esc.opening_message_id) if esc else None
            return Target.answering(opening) if opening else None
        latest = await self.repo.messages.query(customer_id=f.customer_id, limit=1, newest_first=True)
        if latest:
            return Target.answering(latest[0])
        customer = await self.repo.customers.get(f.customer_id)
        for identity in customer.identities if customer else ():
            if identity.channel in _DIRECT_CHANNELS:
                return Target(
                    identity.channel,
                    identity.channel,
                    identity.platform_user_id,
                    "",
                    "",
                    True,
                    None,
                    identity.display_name,
                )
        return None

    async def deliver(self, f: FollowUp, now: datetime) -> int:
        """Queue one due follow-up in the outbox, or postpone, skip or cancel it with a note saying why."""
        s = self.settings
        if f.kind is FollowUpKind.CSAT and f.escalation_id is not None:
            esc = await self.repo.escalations.get(f.escalation_id)
            if esc is None or esc.status is not EscalationStatus.RESOLVED:
                await self.rel.set_followup(f.id, FollowUpStatus.CANCELLED, note="escalation no longer resolved")
                return 0
        target = await self._target(f)
        if target is None:
            await self.rel.set_followup(f.id, FollowUpStatus.SKIPPED, note="no channel to reach the customer on")
            return 0
        m = target
        if await self.rel.is_opted_out(f.customer_id, m.channel):
            await self.rel.set_followup(f.id, FollowUpStatus.SKIPPED, note=f"opted out on {m.channel}")
            await self.repo.audit.record(
                "followup.skipped", {"kind": f.kind.value, "why": "opted out"}, customer_id=f.customer_id
            )
            return 0
        allowed = next_allowed(now, s.quiet_start, s.quiet_end, s.timezone)
        if allowed > now:
            await self.rel.set_followup(f.id, FollowUpStatus.PENDING, due_at=allowed, note="postponed: quiet hours")
            return 0
        customer = await self.repo.customers.get(f.customer_id)
        name = (m.name or (customer.display_name if customer else "")).split()
        text = render_followup(
            s.templates,
            f.kind.value,
            m.channel,
            name=name[0] if name else "there",
            ticket=str(f.escalation_id or ""),
            channel=m.channel,
        )
        if f.kind is FollowUpKind.CSAT and f.escalation_id is not None:
            await self.rel.open_survey(f.escalation_id, f.customer_id, m.channel)
        queued = await self.repo.replies.enqueue(
            dedupe_key=f.dedupe_key,
            connector=m.connector,
            channel=m.channel,
            recipient_id=m.recipient_id,
            conversation_id=m.conversation_id,
            text=text,
            in_reply_to=m.in_reply_to,
            direct=m.direct,
            kind="followup",
            escalation_id=f.escalation_id,
            message_id=m.message_id,
        )
        await self.rel.set_followup(f.id, FollowUpStatus.SENT, reply_id=queued.id if queued else None)
        await self.repo.audit.record(
            "followup.queued",
            {"kind": f.kind.value, "reply_id": queued.id if queued else None},
            customer_id=f.customer_id,
            escalation_id=f.escalation_id,
        )
        self.wake()
        return 1
