"""Ties relationships into the bot: keeps tiers and stages current, records purchases, imports customers,
and builds the profile that `customers show`, sales and churn cards display."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config import RelationshipSettings
from bot.domain import Customer, EscalationStatus, Intent, StoredMessage, Tier, utcnow
from bot.errors import InputError, NotFound, StorageError
from bot.events import EscalationChanged, EventBus
from bot.pipeline import Interceptor, Observer, Outcome
from bot.relationships.csat import CsatInterceptor
from bot.relationships.events import ChurnRisk, LeadAttention, TierChanged, publish
from bot.relationships.followups import FollowUpScheduler
from bot.relationships.identities import Identities
from bot.relationships.importer import ImportReport, parse_customers, parse_purchases
from bot.relationships.models import FollowUpKind, Profile, Purchase, Stage, StageResult, TierResult
from bot.relationships.stages import infer_stage, moved_towards_dissolution
from bot.relationships.tiers import compute_tier
from bot.relationships.topics import Embed, RootCauses
from bot.storage import Database, Repository
from bot.storage.relationships import RelationshipRepository

log = logging.getLogger(__name__)

_TIER_INTENTS = (Intent.COMPLAINT, Intent.CANCELLATION)  # counted as complaints in the cost to serve


@dataclass(slots=True)
class _Due:
    """A customer whose stage (and maybe tier) a message has made stale."""

    tier: bool  # the message changed what the tier is computed from
    message_id: int  # the latest such message (a churn alert points at it)
    since: float  # monotonic time of the first message since the last refresh


class RelationshipService:
    """One per bot. Subscribes to escalation events; its interceptor and observer go into the pipeline."""

    def __init__(
        self,
        repo: Repository,
        db: Database,
        settings: RelationshipSettings,
        events: EventBus,
        wake: Callable[[], None] = lambda: None,
        embed: Embed | None = None,
    ) -> None:
        self.repo = repo
        self.rel = RelationshipRepository(db)
        self.settings = settings
        self.events = events
        self.identities = Identities(repo, self.rel, events)
        self.csat = CsatInterceptor(repo, self.rel, settings, wake, events)
        self.topics = RootCauses(repo, self.rel, settings, events, embed)
        self.scheduler = FollowUpScheduler(
            repo, self.rel, settings, wake, refresh_all=self.refresh_all, weekly=self.topics.weekly
        )
        events.subscribe(self.on_event)
        # Customers to refresh, coalesced: a burst of one customer's messages costs one refresh.
        self._due: dict[int, _Due] = {}

    @property
    def interceptors(self) -> tuple[Interceptor, ...]:
        return (self.csat,)

    @property
    def observers(self) -> tuple[Observer, ...]:
        return (self.observe,)

    # -- keeping tiers and stages current -------------------------------------------------------

    async def observe(self, stored: StoredMessage, customer: Customer, outcome: Outcome) -> None:
        """After each message: note that the customer's stage (and, when the message changed what it is
        computed from, tier) needs recomputing; `settle` does it, off the reply's path."""
        # The tier is value minus cost to serve: purchases (recorded elsewhere, which refresh), complaints
        # and escalations. A question or a thank-you changes none of them.
        tier = (outcome.analysis is not None and outcome.analysis.intent in _TIER_INTENTS) or (
            outcome.decision is not None and outcome.decision.action in ("escalate", "handoff")
        )
        due = self._due.get(customer.id)
        if due is None:
            self._due[customer.id] = _Due(tier, stored.id, time.monotonic())
        else:
            due.tier, due.message_id = due.tier or tier, stored.id

    def pending(self) -> int:
        return len(self._due)

    async def settle(self, *, idle: bool, limit: int) -> int:
        """Refresh up to `limit` noted customers, oldest first: all of them when `idle`, else those noted
        more than `refresh_within_seconds` ago. One unit of work each; a storage failure keeps the rest."""
        bound = time.monotonic() - (0.0 if idle else self.settings.refresh_within_seconds)
        chosen = [cid for cid, due in self._due.items() if due.since <= bound][:limit]
        for done, customer_id in enumerate(chosen):
            due = self._due.pop(customer_id)
            try:
                async with self.events.held(), self.repo.unit():
                    await self._settle_one(customer_id, due)
            except StorageError as exc:
                self._due.setdefault(customer_id, due)  # tried again at the next settle
                log.warning("tier and stage of customer %s wait: %s", customer_id, exc)
                return done
            except Exception:
                log.exception("refreshing customer %s failed", customer_id)
        return len(chosen)

    async def _settle_one(self, customer_id: int, due: _Due) -> None:
        # A customer never computed (first contact) gets a tier once; the schedule catches up the rest.
        standing = None if due.tier else await self.rel.standing(customer_id)
        tier = due.tier or (standing is not None and not standing.tier_reason)
        await self.refresh(customer_id, message_id=due.message_id, tier=tier)
        if self.settings.auto_merge:
            await self.identities.auto_merge(customer_id, self.settings.auto_merge_confidence)

    async def on_event(self, event: object) -> None:
        if isinstance(event, EscalationChanged) and event.change == "resolved":
            esc = await self.repo.escalations.get(event.escalation_id)
            if esc is not None and esc.status is EscalationStatus.RESOLVED:
                await self.scheduler.schedule_csat(esc.id, esc.customer_id, esc.resolved_at or utcnow())
                await self.refresh(esc.customer_id)

    async def tier(self, customer_id: int) -> TierResult:
        account = await self.rel.account(customer_id)
        return compute_tier(account, await self.rel.stats(customer_id), self.settings.tiers)

    async def stage(self, customer_id: int, now: datetime | None = None) -> StageResult:
        signals = await self.rel.signals(customer_id, limit=self.settings.stage_window)
        return infer_stage(signals, await self.rel.last_purchase_at(customer_id), now or utcnow(), self.settings)

    async def refresh(
        self, customer_id: int, *, message_id: int | None = None, tier: bool = True
    ) -> tuple[TierResult | None, StageResult]:
        """Recompute and store stage and (with `tier`) tier; a fall to lead or a move to dissolution is announced."""
        result = await self._refresh_tier(customer_id) if tier else None
        return result, await self._refresh_stage(customer_id, message_id)

    async def _refresh_tier(self, customer_id: int) -> TierResult:
        tier = await self.tier(customer_id)
        before_tier = await self.rel.set_tier(customer_id, tier.tier, tier.reason)
        if before_tier != tier.tier.value:
            await self.repo.audit.record(
                "customer.tier",
                {"from": before_tier, "to": tier.tier.value, "reason": tier.reason},
                customer_id=customer_id,
            )
            await publish(self.events, TierChanged(customer_id, before_tier, tier.tier.value, tier.reason))
            if tier.tier is Tier.LEAD:
                await publish(self.events, LeadAttention(customer_id, before_tier, tier.reason))
        return tier

    async def _refresh_stage(self, customer_id: int, message_id: int | None) -> StageResult:
        stage = await self.stage(customer_id)
        before_stage = await self.rel.set_stage(customer_id, stage.stage.value, stage.reason)
        if before_stage != stage.stage.value:
            await self.repo.audit.record(
                "customer.stage",
                {"from": before_stage, "to": stage.stage.value, "reason": stage.reason},
                customer_id=customer_id,
            )
            if moved_towards_dissolution(before_stage, stage.stage):
                await publish(self.events, ChurnRisk(customer_id, before_stage, stage.reason, message_id))
        return stage

    async def refresh_all(self) -> int:
        """Recompute every customer's tier and stage (the schedule); returns how many."""
        standings = await self.rel.standings()
        for st in standings:
            await self.refresh(st.customer_id)
        return len(standings)

    # -- purchases and import -------------------------------------------------------------------

    async def record_purchase(
        self,
        customer_id: int,
        amount: float,
        reference: str,
        at: datetime | None = None,
        source: str = "api",
        *,
        actor: str = "bot",
    ) -> Purchase | None:
        """Record a purchase (None if its reference is known), schedule the thank-you, update tier and stage."""
        if not reference.strip():
            raise InputError("a purchase needs a reference (the order id), so it is never counted twice")
        if not amount >= 0:
            raise InputError(f"purchase amount {amount} is negative")
        at = at or utcnow()
        purchase = await self.rel.add_purchase(customer_id, reference.strip()[:200], float(amount), at, source)
        if purchase is None:
            return None
        await self.repo.audit.record(
            "purchase.recorded",
            {"reference": purchase.reference, "amount": purchase.amount},
            actor=actor,
            customer_id=customer_id,
        )
        await self.rel.schedule(
            f"thanks:{purchase.reference}",
            FollowUpKind.PURCHASE_THANKS,
            customer_id,
            at + timedelta(minutes=self.settings.thanks_delay_minutes),
        )
        await self.refresh(customer_id)
        return purchase

    async def import_customers(self, data: bytes, *, actor: str = "cli") -> ImportReport:
        """Import a customers CSV (see `importer`); tiers of imported customers are recomputed."""
        rows, report = parse_customers(data, utcnow().date())
        done, problems = await self.rel.import_rows(rows)
        report.problems.extend(problems)
        report.skipped += len(problems)
        report.problems.sort(key=_line_order)
        for _line, customer_id, created in done:
            report.created += created
            report.updated += not created
            report.customer_ids.append(customer_id)
            tier = await self._refresh_tier(customer_id)
            await self._refresh_stage(customer_id, None)
            report.tiers[tier.tier.value] = report.tiers.get(tier.tier.value, 0) + 1
        await self.repo.audit.record(
            "customers.imported",
            {"created": report.created, "updated": report.updated, "skipped": report.skipped},
            actor=actor,
        )
        return report

    async def import_purchases(self, data: bytes, *, actor: str = "cli") -> ImportReport:
        """Import a purchases CSV (external_id, reference, amount, at): a reference already known is skipped
        silently (re-import is safe); each purchase schedules its thank-you."""
        lines, report = parse_purchases(data, utcnow())
        for p in lines:
            customer_id = await self.rel.customer_for_external_id(p.external_id)
            if customer_id is None:
                report.problems.append(f"line {p.line}: no customer with external_id {p.external_id[:60]!r}")
                report.skipped += 1
                continue
            if await self.record_purchase(customer_id, p.amount, p.reference, p.at, source="import") is None:
                report.updated += 1  # known already: nothing new
            else:
                report.created += 1
                report.customer_ids.append(customer_id)
        report.problems.sort(key=_line_order)
        await self.repo.audit.record(
            "purchases.imported", {"created": report.created, "skipped": report.skipped}, actor=actor
        )
        return report

    # -- the profile ----------------------------------------------------------------------------

    async def profile(self, customer_id: int) -> Profile:
        st = await self.rel.standing(customer_id)
        if st is None:
            raise NotFound(f"no customer {customer_id}")
        escalations = await self.repo.escalations.query(customer_id=customer_id)
        recent = await self.repo.messages.query(customer_id=customer_id, limit=5, newest_first=True)
        lines = tuple(
            f"{m.message.channel} {m.analysis.intent.value if m.analysis else m.action or '-'}: {m.message.text[:200]}"
            for m in recent
        )
        return Profile(
            customer_id=customer_id,
            display_name=st.display_name,
            tier=st.tier,
            tier_reason=st.tier_reason,
            stage=st.stage,
            stage_reason=st.stage_reason,
            account=await self.rel.account(customer_id),
            open_escalations=tuple(e for e in escalations if e.status.active),
            csat=tuple(await self.rel.surveys(customer_id)),
            opt_outs=tuple(await self.rel.opt_outs(customer_id)),
            recent=lines,
        )

    async def profile_json(self, customer_id: int) -> dict[str, Any]:
        """Everything `customers show --json` adds: identities, tier and stage with reasons, open
        escalations, CSAT answers, opt-outs, purchases, merges."""
        p = await self.profile(customer_id)
        customer = await self.repo.customers.get(customer_id)
        data = _plain(asdict(p))
        data["identities"] = [_plain(asdict(i)) for i in (customer.identities if customer else ())]
        data["email"] = customer.email if customer else ""
        data["open_escalations"] = [
            {
                "id": e.id,
                "status": e.status.value,
                "priority": e.priority.value,
                "reason": e.reason,
                "channel": e.channel,
                "created_at": e.created_at.isoformat(),
            }
            for e in p.open_escalations
        ]
        data["purchases"] = [_plain(asdict(x)) for x in await self.rel.purchases(customer_id)]
        data["merges"] = [_plain(asdict(m)) for m in await self.rel.merges(customer_id)]
        data["stage_is_churn_risk"] = p.stage == Stage.DISSOLUTION.value
        return data


def _line_order(problem: str) -> tuple[int, str]:
    head = problem.split(":", 1)[0]
    number = head.removeprefix("line ").strip()
    return (int(number) if number.isdigit() else 0, problem)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
