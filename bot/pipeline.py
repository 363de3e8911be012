"""The message pipeline: ingest, identify, classify, route, act — each step a plain async function.

Steps pass domain objects and ids, never connections or platform payloads, so a queue can later be
put between any two of them without a rewrite. `Pipeline` chains them in-process and is the sink
connectors call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.config import Rule
from bot.domain import CHANNELS, Customer, InboundMessage, StoredMessage
from bot.errors import InputError, RapportError
from bot.events import EscalationChanged, EventBus, SalesAlert
from bot.faq import Faq
from bot.routing import Decision, route
from bot.storage import Repository
from bot.templates import render
from bot.text import clean
from nlp.types import Analysis, Classifier

log = logging.getLogger(__name__)

MAX_ID = 200  # longest external id / author id we accept (the columns' width)


# Extension points for features that sit around routing (follow-ups, CSAT answers, opt-outs, stages):
# an interceptor sees a message after the customer is known and may claim it (returning the action
# it took) so routing never sees it; an observer sees every outcome afterwards.
Interceptor = Callable[[StoredMessage, Customer], Awaitable[str | None]]
Observer = Callable[[StoredMessage, Customer, "Outcome"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Services:
    """What the steps need; built once by the runner."""

    repo: Repository
    classifier: Classifier
    fallback: Classifier
    rules: tuple[Rule, ...]
    templates: dict[str, str]
    faq: Faq
    faq_min_score: float
    events: EventBus
    interceptors: tuple[Interceptor, ...] = field(default=())
    observers: tuple[Observer, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one inbound message."""

    message_id: int
    duplicate: bool = False
    customer_id: int | None = None
    analysis: Analysis | None = None
    decision: Decision | None = None
    escalation_id: int | None = None
    reply_ids: tuple[int, ...] = ()
    error: str = ""


# -- steps ----------------------------------------------------------------------------------------


def validate(msg: InboundMessage) -> InboundMessage:
    """Reject what cannot be stored (InputError naming the field); clean what can."""
    if msg.channel not in CHANNELS:
        raise InputError(f"unknown channel {msg.channel[:40]!r} (known: {', '.join(sorted(CHANNELS))})")
    for name in ("external_id", "author_id"):
        value = getattr(msg, name)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{name} is missing")
        if len(value) > MAX_ID:
            raise InputError(f"{name} is longer than {MAX_ID} characters")
    if not isinstance(msg.text, str):
        raise InputError("text must be a string")
    return replace(
        msg,
        text=clean(msg.text)[0],
        author_handle=clean(msg.author_handle)[0][:200],
        author_name=clean(msg.author_name)[0][:200],
        conversation_id=clean(msg.conversation_id)[0],
    )


async def ingest(svc: Services, msg: InboundMessage) -> tuple[StoredMessage, bool]:
    """Persist first: (stored message, created). A duplicate delivery is recorded and goes no further."""
    stored, created = await svc.repo.store_inbound(msg)
    if created:
        await svc.repo.audit(
            "message.stored", {"channel": msg.channel, "external_id": msg.external_id}, message_id=stored.id
        )
    else:
        await svc.repo.audit(
            "message.duplicate", {"channel": msg.channel, "external_id": msg.external_id}, message_id=stored.id
        )
    return stored, created


async def identify(svc: Services, stored: StoredMessage) -> Customer:
    m = stored.message
    customer = await svc.repo.resolve_customer(m.channel, m.author_id, m.author_handle, m.author_name)
    await svc.repo.update_message(stored.id, customer_id=customer.id)
    return customer


async def classify(svc: Services, stored: StoredMessage) -> Analysis:
    """The configured classifier, or the rule fallback if it fails on this message."""
    text = stored.message.text
    try:
        analysis = (await asyncio.to_thread(svc.classifier.classify, [text]))[0]
    except Exception as exc:
        log.warning(
            "classifier %s failed on message %s: %s; using fallback",
            svc.classifier.version,
            stored.id,
            type(exc).__name__,
        )
        await svc.repo.audit("classify.fallback", {"error": type(exc).__name__}, message_id=stored.id)
        analysis = (await asyncio.to_thread(svc.fallback.classify, [text]))[0]
    await svc.repo.update_message(stored.id, analysis=analysis)
    return analysis


async def decide(svc: Services, stored: StoredMessage, customer: Customer, analysis: Analysis) -> Decision:
    m = stored.message
    open_escalation = await svc.repo.active_escalation(customer.id, m.channel, m.conversation_id)
    decision = route(svc.rules, analysis, m, customer, open_escalation)
    await svc.repo.audit(
        "routed",
        {
            "action": decision.action,
            "rule": decision.rule,
            "reason": decision.reason,
            "intent": analysis.intent.value,
            "sentiment": analysis.sentiment.value,
            "confidence": round(analysis.confidence, 3),
            "urgent": analysis.urgent,
            "abusive": analysis.abusive,
            "language": analysis.language,
            "tier": customer.tier,
            "priority": decision.priority.value,
        },
        message_id=stored.id,
        customer_id=customer.id,
    )
    return decision


async def act(
    svc: Services, stored: StoredMessage, customer: Customer, analysis: Analysis | None, decision: Decision
) -> Outcome:
    """Carry out a decision: escalations, outbox replies, alerts; each one audited."""
    m = stored.message
    repo = svc.repo
    escalation_id: int | None = None
    replies: list[int] = []
    name = (m.author_name or m.author_handle or "there").split()[0] if (m.author_name or m.author_handle) else "there"

    async def reply(template: str | None = None, text: str | None = None, **fields: Any) -> None:
        body = text if text is not None else render(svc.templates, template or "", name=name, **fields)
        queued = await repo.enqueue_reply(
            dedupe_key=f"auto:{stored.id}",
            connector=m.via,
            channel=m.channel,
            recipient_id=m.author_id,
            conversation_id=m.conversation_id,
            text=body,
            in_reply_to=m.external_id,
            direct=m.direct,
            escalation_id=escalation_id,
            message_id=stored.id,
        )
        if queued is not None:
            replies.append(queued.id)
            await repo.audit(
                "reply.queued",
                {"reply_id": queued.id, "template": template or "faq"},
                message_id=stored.id,
                customer_id=customer.id,
                escalation_id=escalation_id,
            )

    async def escalate(reason: str) -> None:
        nonlocal escalation_id
        intent = analysis.intent.value if analysis else "unknown"
        esc = await repo.open_escalation(
            customer_id=customer.id,
            message=stored,
            priority=decision.priority,
            reason=reason,
            intent=intent,
            flagged=decision.flag,
        )
        escalation_id = esc.id
        await repo.audit(
            "escalation.opened",
            {"priority": esc.priority.value, "reason": reason, "flagged": esc.flagged},
            message_id=stored.id,
            customer_id=customer.id,
            escalation_id=esc.id,
        )
        await svc.events.publish(EscalationChanged(esc.id, "opened"))

    action = decision.action
    if action == "attach" and decision.escalation_id is not None:
        escalation_id = decision.escalation_id
        await repo.attach_message(escalation_id, stored.id)
        await repo.audit(
            "escalation.attached", {}, message_id=stored.id, customer_id=customer.id, escalation_id=escalation_id
        )
        await svc.events.publish(EscalationChanged(escalation_id, "attached"))
    elif action == "escalate":
        await escalate(decision.reason)
        if decision.reply:
            await reply(decision.reply, ticket=str(escalation_id))
    elif action == "answer":
        match = svc.faq.best(m.text)
        if match is not None and match.score >= svc.faq_min_score:
            await repo.audit(
                "faq.answered",
                {"faq": match.entry.id, "score": round(match.score, 3)},
                message_id=stored.id,
                customer_id=customer.id,
            )
            await reply(text=match.entry.answer)
            action = "faq"
        else:
            best = f" (best match {match.entry.id} at {match.score:.2f})" if match else ""
            await escalate("question without a close FAQ answer" + best)
            action = "escalate"
            if decision.reply:
                await reply(decision.reply, ticket=str(escalation_id))
    elif action == "sales_alert":
        await repo.audit("sales.alert", {"reason": decision.reason}, message_id=stored.id, customer_id=customer.id)
        await svc.events.publish(SalesAlert(customer.id, stored.id))
        if decision.reply:
            await reply(decision.reply)
    elif action == "reply":
        if decision.reply:
            await reply(decision.reply)
    # "record": stored, classified and audited; nothing more to do.
    await repo.update_message(stored.id, action=action, escalation_id=escalation_id)
    return Outcome(
        stored.id, False, customer.id, analysis, replace(decision, action=action), escalation_id, tuple(replies)
    )


# -- the chain ------------------------------------------------------------------------------------


class Pipeline:
    """Runs the steps for one message. Call it with an InboundMessage; it is the connectors' sink."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, msg: InboundMessage) -> None:
        await self.process(msg)

    async def process(self, msg: InboundMessage) -> Outcome:
        """Store, then understand and act. Raises only when the message could not be stored."""
        svc = self.services
        msg = validate(msg)
        stored, created = await ingest(svc, msg)
        if not created:
            return Outcome(stored.id, duplicate=True, customer_id=stored.customer_id)
        return await self.finish(stored)

    async def resume(self) -> int:
        """Finish messages stored by a process that stopped before acting on them; returns how many."""
        pending = await self.services.repo.unfinished_messages()
        for stored in pending:
            await self.finish(stored)
        return len(pending)

    async def finish(self, stored: StoredMessage) -> Outcome:
        """Everything after storage. Never raises: failures are recorded on the message."""
        svc = self.services
        customer: Customer | None = None
        try:
            customer = await identify(svc, stored)
            for intercept in svc.interceptors:
                handled = await intercept(stored, customer)
                if handled:
                    await svc.repo.update_message(stored.id, action=handled)
                    return Outcome(
                        stored.id, customer_id=customer.id, decision=Decision(handled, "interceptor", handled)
                    )
            analysis = await classify(svc, stored)
            decision = await decide(svc, stored, customer, analysis)
            outcome = await act(svc, stored, customer, analysis, decision)
        except Exception as exc:
            # The message is stored; whatever failed after that is recorded, not raised, so one bad
            # message never stops a connector.
            detail = str(exc) if isinstance(exc, RapportError) else type(exc).__name__
            log.exception("pipeline failed on message %s", stored.id)
            await svc.repo.update_message(stored.id, action="error", error=detail)
            await svc.repo.audit(
                "pipeline.error", {"error": detail}, message_id=stored.id, customer_id=customer.id if customer else None
            )
            return Outcome(stored.id, customer_id=customer.id if customer else None, error=detail)
        for observe in svc.observers:
            try:
                await observe(stored, customer, outcome)
            except Exception as exc:
                log.exception("observer failed on message %s", stored.id)
                await svc.repo.audit("observer.error", {"error": type(exc).__name__}, message_id=stored.id)
        return outcome
