"""The message pipeline: ingest, identify, classify, route, act — each step a plain async function.

Steps pass domain objects and ids, never connections or platform payloads, so a queue can later be
put between any two of them without a rewrite. `Pipeline` chains them in-process and is the sink
connectors call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.config import Rule
from bot.conversation import Conversations
from bot.domain import CHANNELS, ConversationState, Customer, Escalation, InboundMessage, StoredMessage, utcnow
from bot.errors import ClassificationError, InputError, RapportError, StorageError
from bot.events import EscalationChanged, EventBus, MessageReceived, SalesAlert
from bot.ports import Answer, Deferred, Knowledge
from bot.routing import Decision, handoff, route
from bot.staff.business_hours import BusinessHours, opening_text
from bot.storage import Repository
from bot.storage.turns import ConversationTurns
from bot.templates import Templates
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
    templates: Templates
    knowledge: Knowledge
    events: EventBus
    conversations: Conversations
    turns: ConversationTurns
    interceptors: tuple[Interceptor, ...] = field(default=())
    observers: tuple[Observer, ...] = field(default=())
    deferred: tuple[Deferred, ...] = field(default=())  # bookkeeping the worker settles between batches
    # Sees each classifier call: (messages, seconds). The app feeds its metrics with it.
    timed: Callable[[int, float], None] = lambda _n, _seconds: None
    announce_messages: bool = False  # publish MessageReceived for each processed message (a webhook wants it)
    hours: BusinessHours | None = None  # outside them, an acknowledgement says when a person will answer


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
    behind: tuple[int, ...] = ()  # not processed: these earlier messages of the customer wait, oldest first


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
    """Persist first, in one transaction with its audit row: (stored message, created). A duplicate
    delivery is recorded and goes no further. Raises StorageError when nothing could be stored."""
    async with svc.repo.unit():
        stored, created = await svc.repo.messages.store(msg)
        kind = "message.stored" if created else "message.duplicate"
        await svc.repo.audit.record(
            kind, {"channel": msg.channel, "external_id": msg.external_id}, message_id=stored.id
        )
    return stored, created


async def identify(svc: Services, stored: StoredMessage) -> Customer:
    m = stored.message
    # The message row learns its customer with the final update of the unit (one write, not three).
    return await svc.repo.customers.resolve(m.channel, m.author_id, m.author_handle, m.author_name)


async def classify(svc: Services, texts: list[str]) -> tuple[list[Analysis | None], str | None]:
    """One batched call to the configured classifier; the rule fallback (and the error's name) if it fails,
    and no analyses at all if the fallback fails too (each message then records the failure)."""
    if not texts:
        return [], None
    try:
        started = time.perf_counter()
        analyses: list[Analysis | None] = list(await asyncio.to_thread(svc.classifier.classify, texts))
        svc.timed(len(texts), time.perf_counter() - started)
        return analyses, None
    except Exception as exc:
        failure = type(exc).__name__
        log.warning(
            "classifier %s failed on a batch of %d: %s; using fallback", svc.classifier.version, len(texts), failure
        )
    try:
        return list(await asyncio.to_thread(svc.fallback.classify, texts)), failure
    except Exception as exc:
        log.warning("fallback classifier failed too: %s", type(exc).__name__)
        return [None] * len(texts), type(exc).__name__


async def _answered_elsewhere(svc: Services, text: str, analysis: Analysis) -> Answer | None:
    """For a question ("?") in a language other than English that has templates, the article in that
    language that answers it confidently; never for an urgent or abusive message."""
    if analysis.english or analysis.urgent or analysis.abusive or "?" not in text:
        return None
    if not svc.templates.has(analysis.language):
        return None
    found = await asyncio.to_thread(svc.knowledge.answer, text, analysis.language)
    return found if found is not None and found.answered else None


async def decide(
    svc: Services, stored: StoredMessage, customer: Customer, analysis: Analysis
) -> tuple[Decision, Escalation | None]:
    """The routing decision, and the conversation's active escalation it was made against (if any)."""
    m = stored.message
    open_escalation = None  # a customer created by this very message has no case to continue
    if not customer.first_contact:
        open_escalation = await svc.repo.escalations.active(customer.id, m.channel, m.conversation_id, brief=True)
        if open_escalation is None and (case := await svc.conversations.case_for(customer.id, m.channel, m.sent_at)):
            open_escalation = await svc.repo.escalations.get(case, brief=True)  # a quick follow-up in a new thread
    if svc.conversations.asks_for_person(m.text):
        decision = handoff(customer, open_escalation)
    elif open_escalation is None and (found := await _answered_elsewhere(svc, m.text, analysis)):
        # The classifier learnt its intents from English: in another language it often takes a question
        # for a complaint. A question the knowledge base answers confidently in that language is answered.
        why = f"a question in {analysis.language} the articles answer"
        decision = Decision("answer", "knowledge-first", why, answer=found)
    else:
        decision = route(
            svc.rules, analysis, m, customer, open_escalation, templated=svc.templates.has(analysis.language)
        )
    await svc.repo.audit.record(
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
    return decision, open_escalation


async def act(
    svc: Services,
    stored: StoredMessage,
    customer: Customer,
    analysis: Analysis | None,
    decision: Decision,
    known: Escalation | None = None,
) -> Outcome:
    """Carry out a decision: escalations, outbox replies, alerts; each one audited."""
    m = stored.message
    repo = svc.repo
    escalation_id: int | None = None
    replies: list[int] = []
    name = (m.author_name or m.author_handle or "there").split()[0] if (m.author_name or m.author_handle) else "there"
    language = svc.templates.language_for(analysis.language if analysis else "en")
    conversations = svc.conversations

    async def reply(template: str | None = None, text: str | None = None, then: str = "", **fields: Any) -> None:
        body = text if text is not None else svc.templates.render(template or "", language, name=name, **fields)
        body = f"{body} {then}" if then else body
        queued = await repo.replies.enqueue(
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
            await repo.audit.record(
                "reply.queued",
                {"reply_id": queued.id, "template": template or "faq"},
                message_id=stored.id,
                customer_id=customer.id,
                escalation_id=escalation_id,
            )

    async def attached(esc_id: int) -> None:
        await repo.audit.record(
            "escalation.attached", {}, message_id=stored.id, customer_id=customer.id, escalation_id=esc_id
        )
        await svc.events.publish(EscalationChanged(esc_id, "attached"))

    async def noted(kind: str, detail: dict[str, Any], esc_id: int) -> None:
        await repo.audit.record(kind, detail, message_id=stored.id, customer_id=customer.id, escalation_id=esc_id)

    async def state(esc_id: int, to: ConversationState, why: str) -> None:
        before = await conversations.store.set_state(esc_id, to)
        if before is not None:
            await noted("conversation.state", {"from": before.value, "to": to.value, "why": why}, esc_id)

    async def details(esc_id: int, given: dict[str, str]) -> None:
        await conversations.store.add_details(esc_id, given)
        await noted("conversation.details", dict(given), esc_id)

    def when_a_person_answers() -> str:
        """Outside business hours, the sentence saying when a person will answer; else nothing."""
        now = utcnow()
        if svc.hours is None or svc.hours.is_open(now):
            return ""
        days = svc.templates.render("weekdays", language).split()
        if len(days) != 7:  # a translation that does not split into seven names
            days = svc.templates.render("weekdays").split()
        opens = opening_text(svc.hours, svc.hours.next_open(now), now, days)
        return svc.templates.render("after_hours", language, opens=opens)

    async def acknowledge_opened(template: str | None) -> None:
        """The opening acknowledgement, asking for what the case needs and the message lacks."""
        assert escalation_id is not None
        needed, given = conversations.missing(m.text, analysis)
        if given:
            await details(escalation_id, given)
        if needed and template:
            await state(
                escalation_id, ConversationState.WAITING_FOR_DETAILS, "asked for " + ", ".join(r.name for r in needed)
            )
        if template:
            asked = conversations.question(needed, language) if needed else ""
            then = " ".join(t for t in (when_a_person_answers(), asked) if t)
            await reply(template, ticket=str(escalation_id), then=then)

    async def follow_up(esc_id: int) -> None:
        # Routing read it in this unit already, unless a concurrent message's case is the one joined.
        esc = known if known is not None and known.id == esc_id else await repo.escalations.get(esc_id, brief=True)
        if esc is None:
            return
        follow = await conversations.follow_up(esc, m.text, utcnow())  # stores the details and the state
        if follow.details:
            await noted("conversation.details", dict(follow.details), esc_id)
        if follow.state is not esc.state:
            await noted(
                "conversation.state", {"from": esc.state.value, "to": follow.state.value, "why": follow.reason}, esc_id
            )
        if follow.reply:
            await reply(follow.reply, ticket=str(esc_id))
        else:
            await noted("reply.withheld", {"why": follow.reason}, esc_id)

    async def escalate(reason: str) -> bool:
        """Open an escalation; False when a concurrent message of the conversation opened one first and
        this message joined it (then it gets no second acknowledgement)."""
        nonlocal escalation_id
        intent = analysis.intent.value if analysis else "unknown"
        esc, opened = await repo.escalations.open(
            customer_id=customer.id,
            message=stored,
            priority=decision.priority,
            reason=reason,
            intent=intent,
            flagged=decision.flag,
            linked_later=True,  # the message's last update, at the end of `act`, records its escalation
        )
        escalation_id = esc.id
        if not opened:
            await attached(esc.id)
            return False
        await repo.audit.record(
            "escalation.opened",
            {"priority": esc.priority.value, "reason": reason, "flagged": esc.flagged},
            message_id=stored.id,
            customer_id=customer.id,
            escalation_id=esc.id,
        )
        await svc.events.publish(EscalationChanged(esc.id, "opened"))
        return True

    action = decision.action
    if action == "attach" and decision.escalation_id is not None:
        escalation_id = decision.escalation_id
        await repo.escalations.attach_message(escalation_id, stored.id, linked_later=True)
        await attached(escalation_id)
        await follow_up(escalation_id)
    elif action == "handoff":
        if decision.escalation_id is not None:
            escalation_id = decision.escalation_id
            await repo.escalations.attach_message(escalation_id, stored.id, linked_later=True)
            await repo.escalations.update(escalation_id, priority=decision.priority)
            await attached(escalation_id)
        elif not await escalate(decision.reason):
            assert escalation_id is not None
            await repo.escalations.update(escalation_id, priority=decision.priority)
        assert escalation_id is not None
        await state(escalation_id, ConversationState.WITH_PERSON, "customer asked for a person")
        await repo.audit.record(
            "conversation.handoff",
            {"priority": decision.priority.value},
            message_id=stored.id,
            customer_id=customer.id,
            escalation_id=escalation_id,
        )
        await svc.events.publish(EscalationChanged(escalation_id, "handoff"))
        await reply("handoff", ticket=str(escalation_id), then=when_a_person_answers())
    elif action == "escalate":
        if not await escalate(decision.reason):
            action = "attach"
            assert escalation_id is not None
            await follow_up(escalation_id)
        else:
            await acknowledge_opened(decision.reply)
    elif action == "answer":
        # The knowledge-first rule has looked the answer up already: the encoder runs once per message.
        match = decision.answer or await asyncio.to_thread(
            svc.knowledge.answer, m.text, analysis.language if analysis else None
        )
        if match is not None and match.answered:
            await repo.audit.record(
                "knowledge.answered",
                {"article": match.article, "score": round(match.score, 3)},
                message_id=stored.id,
                customer_id=customer.id,
            )
            await reply(text=match.reply)
            action = "faq"
        else:
            best = f" (closest article {match.article} at {match.score:.2f})" if match else ""
            reason = "question the knowledge base has no confident answer for" + best
            action = "escalate" if await escalate(reason) else "attach"
            if action == "escalate":
                await acknowledge_opened(decision.reply)
            else:
                assert escalation_id is not None
                await follow_up(escalation_id)
    elif action == "sales_alert":
        await repo.audit.record(
            "sales.alert", {"reason": decision.reason}, message_id=stored.id, customer_id=customer.id
        )
        await svc.events.publish(SalesAlert(customer.id, stored.id))
        if decision.reply:
            await reply(decision.reply)
    elif action == "reply":
        if decision.reply:
            await reply(decision.reply)
    # "record": stored, classified and audited; nothing more to do.
    await repo.messages.update(
        stored.id, customer_id=customer.id, analysis=analysis, action=action, escalation_id=escalation_id
    )
    return Outcome(
        stored.id, False, customer.id, analysis, replace(decision, action=action), escalation_id, tuple(replies)
    )


# -- the chain ------------------------------------------------------------------------------------


class Pipeline:
    """Stores messages and processes stored ones. `process` does both for one message (replays, chat,
    tests); connectors only store (`ingest`), and a worker calls `process_stored` on batches."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, msg: InboundMessage) -> None:
        await self.process(msg)

    async def store(self, msg: InboundMessage) -> tuple[StoredMessage, bool]:
        """Validate and store: the step a platform's acknowledgement waits for."""
        return await ingest(self.services, validate(msg))

    async def process(self, msg: InboundMessage) -> Outcome:
        """Store, then understand and act. Raises only when the message could not be stored."""
        stored, created = await self.store(msg)
        if not created:
            return Outcome(stored.id, duplicate=True, customer_id=stored.customer_id)
        # The customer's earlier waiting messages, if any, are processed first and reported too: pick ours.
        outcome = next(o for o in await self.process_stored([stored]) if o.message_id == stored.id)
        # One at a time (a replay, a chat), nothing waits behind this message: settle its bookkeeping now.
        while self.deferred() and await self.settle(idle=True):
            pass
        return outcome

    def deferred(self) -> int:
        """How much deferred bookkeeping (tiers and stages to refresh) is waiting."""
        return sum(d.pending() for d in self.services.deferred)

    async def settle(self, *, idle: bool, limit: int = 32) -> int:
        """Settle deferred bookkeeping: everything when `idle`, else only what waited past its bound."""
        return sum([await d.settle(idle=idle, limit=limit) for d in self.services.deferred])

    async def resume(self, batch_size: int = 32, *, once: bool = False) -> list[Outcome]:
        """Process every stored message still waiting (left by a stopped process, or queued); `once`: the
        oldest batch of them only. A worker takes one batch at a time: messages keep arriving, so
        "every one" could last as long as the traffic, with nothing reported meanwhile."""
        done: list[Outcome] = []
        while pending := await self.services.repo.messages.unfinished(limit=batch_size):
            outcomes = await self.process_stored(pending)
            done += outcomes
            if once or any(o.error.startswith("storage:") for o in outcomes):
                break  # (or) the database refuses writes: leave the rest for the next pass
        return done

    async def process_stored(self, batch: list[StoredMessage]) -> list[Outcome]:
        """Classify a batch in one call, then process each message in a unit of work of its own."""
        return await self.finish_batch(batch, await self.classify_batch(batch))

    async def classify_batch(self, batch: list[StoredMessage]) -> tuple[list[Analysis | None], str | None]:
        return await classify(self.services, [m.message.text for m in batch])

    async def finish_batch(
        self, batch: list[StoredMessage], classified: tuple[list[Analysis | None], str | None]
    ) -> list[Outcome]:
        analyses, failure = classified
        if self.services.repo.one_writer and len(batch) > 1:
            together = await self._finish_together(batch, analyses, failure)
            if together is not None:
                return together
        outcomes: list[Outcome] = []
        deferred: list[tuple[StoredMessage, Analysis | None]] = []
        for stored, analysis in zip(batch, analyses, strict=True):
            outcome = await self.finish(stored, analysis, failure)
            if outcome.behind:  # an earlier message of the customer waits: after the rest of the batch
                deferred.append((stored, analysis))
            else:
                outcomes.append(outcome)
        return outcomes + await self._finish_deferred(deferred, failure)

    async def _finish_together(
        self, batch: list[StoredMessage], analyses: list[Analysis | None], failure: str | None
    ) -> list[Outcome] | None:
        """The whole batch in one unit of work, where the database takes one writer at a time (SQLite):
        separate units there buy no concurrency, only a transaction each. None when a message failed
        (nothing of the batch stands): the caller then gives each message a unit of its own, which
        records the failure on the one that failed."""
        svc = self.services
        done: list[tuple[StoredMessage, Analysis | None, Outcome, Customer | None]] = []
        try:
            async with svc.events.held(), svc.repo.unit():
                # In arrival order, as the claims assume: a customer's messages are processed oldest first.
                ordered = sorted(zip(batch, analyses, strict=True), key=lambda pair: pair[0].id)
                claimed, behind = await self._claim_batch([stored for stored, _ in ordered])
                for stored, analysis in ordered:
                    if stored.id in behind:
                        outcome: Outcome = Outcome(stored.id, behind=behind[stored.id])
                        done.append((stored, analysis, outcome, None))
                    elif stored.id not in claimed:
                        duplicate = Outcome(stored.id, duplicate=True, customer_id=stored.customer_id)
                        done.append((stored, analysis, duplicate, None))
                    else:
                        done.append((stored, analysis, *await self._claimed_body(stored, analysis, failure)))
        except StorageError as exc:
            log.warning("a batch of %d messages stays queued: %s", len(batch), exc)
            return [Outcome(stored.id, error=f"storage: {exc}") for stored in batch]
        except Exception as exc:
            log.warning("a batch of %d failed (%s): one unit per message instead", len(batch), type(exc).__name__)
            return None
        outcomes: list[Outcome] = []
        deferred: list[tuple[StoredMessage, Analysis | None]] = []
        for stored, analysis, outcome, customer in done:
            if outcome.behind:
                deferred.append((stored, analysis))
                continue
            if customer is not None:
                await self._observe(stored, customer, outcome)
            outcomes.append(outcome)
        return outcomes + await self._finish_deferred(deferred, failure)

    async def _finish_deferred(
        self, deferred: list[tuple[StoredMessage, Analysis | None]], failure: str | None
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for stored, analysis in deferred:
            # By now the worker holding the earlier messages has usually processed them. If not (it is slow,
            # or died holding them, or they were announced late after a Redis flush), whoever holds the
            # customer's turn handles them first, oldest first: a conversation is processed in arrival
            # order whichever worker got which message.
            outcome = await self.finish(stored, analysis, failure)
            if outcome.behind:
                outcomes += await self.process_stored(await self.services.repo.messages.waiting(outcome.behind))
                outcome = await self.finish(stored, analysis, failure)
                if outcome.behind:  # an earlier one is refused by the database: this one waits with it
                    outcome = Outcome(stored.id, error=f"storage: waits for earlier message {outcome.behind[0]}")
            outcomes.append(outcome)
        return outcomes

    async def finish(self, stored: StoredMessage, analysis: Analysis | None, fallback: str | None = None) -> Outcome:
        """Everything after storage and classification, in one transaction. Never raises: a storage
        failure leaves the message waiting for another try; any other failure is recorded on it."""
        svc = self.services
        try:
            async with svc.events.held(), svc.repo.unit():
                outcome, customer = await self._unit_body(stored, analysis, fallback)
        except StorageError as exc:
            log.warning("message %s stays queued: %s", stored.id, exc)
            return Outcome(stored.id, error=f"storage: {exc}")
        except Exception as exc:
            # Whatever failed rolled back; the failure is recorded, not raised, so one bad message never
            # stops a connector or the worker.
            detail = str(exc) if isinstance(exc, RapportError) else type(exc).__name__
            log.exception("pipeline failed on message %s", stored.id)
            try:
                async with svc.repo.unit():
                    await svc.repo.messages.update(stored.id, action="error", error=detail)
                    await svc.repo.audit.record("pipeline.error", {"error": detail}, message_id=stored.id)
            except StorageError:
                log.warning("could not record the failure of message %s", stored.id)
            return Outcome(stored.id, error=detail)
        if customer is not None:
            await self._observe(stored, customer, outcome)
        return outcome

    async def _claim_batch(self, ordered: list[StoredMessage]) -> tuple[set[int], dict[int, tuple[int, ...]]]:
        """`_unit_body`'s turn checks and processing claims for a whole batch (oldest first) in one unit, two
        statements in all: (the ids claimed, {id: the earlier messages it waits behind}). A message waits
        behind its account's earlier unprocessed messages outside the batch, and behind those of the batch
        that wait."""
        svc = self.services
        outside = await svc.turns.waiting_outside(ordered)
        behind: dict[int, tuple[int, ...]] = {}
        waits: dict[tuple[str, str], list[int]] = {}  # per account: earlier ids the next message waits behind
        for stored in ordered:
            account = (stored.message.channel, stored.message.author_id)
            earlier = [i for i in outside.get(account, ()) if i < stored.id] + waits.get(account, [])
            if earlier:
                behind[stored.id] = tuple(sorted(earlier))
                waits.setdefault(account, []).append(stored.id)
        claimed = await svc.repo.messages.start_processing_many([s.id for s in ordered if s.id not in behind])
        return claimed, behind

    async def _unit_body(
        self, stored: StoredMessage, analysis: Analysis | None, fallback: str | None
    ) -> tuple[Outcome, Customer | None]:
        """One message's part of a unit of work: its turn, the processing claim, the steps."""
        svc = self.services
        await svc.turns.take(stored)  # no other worker handles this customer until the unit ends
        if behind := await svc.turns.earlier_waiting(stored):
            return Outcome(stored.id, behind=tuple(behind)), None
        if not await svc.repo.messages.start_processing(stored.id):
            return Outcome(stored.id, duplicate=True, customer_id=stored.customer_id), None
        return await self._claimed_body(stored, analysis, fallback)

    async def _claimed_body(
        self, stored: StoredMessage, analysis: Analysis | None, fallback: str | None
    ) -> tuple[Outcome, Customer | None]:
        """The steps of a message this unit has claimed."""
        svc = self.services
        outcome, customer = await self._steps(stored, analysis, fallback)
        if svc.announce_messages:
            await svc.events.publish(MessageReceived(stored.id, customer.id))
        return outcome, customer

    async def _observe(self, stored: StoredMessage, customer: Customer, outcome: Outcome) -> None:
        svc = self.services
        if outcome.decision is None or outcome.decision.rule == "interceptor":
            return
        for observe in svc.observers:
            try:
                # One transaction per observer (tier, stage, merge suggestions), not one per write.
                async with svc.events.held(), svc.repo.unit():
                    await observe(stored, customer, outcome)
            except StorageError as exc:  # the database is unavailable: nothing to record the failure in
                log.warning("observer skipped on message %s: %s", stored.id, exc)
            except Exception as exc:
                log.exception("observer failed on message %s", stored.id)
                try:
                    await svc.repo.audit.record("observer.error", {"error": type(exc).__name__}, message_id=stored.id)
                except StorageError:
                    log.warning("could not record the observer's failure on message %s", stored.id)

    async def _steps(
        self, stored: StoredMessage, analysis: Analysis | None, fallback: str | None
    ) -> tuple[Outcome, Customer]:
        svc = self.services
        customer = await identify(svc, stored)
        for intercept in svc.interceptors:
            handled = await intercept(stored, customer)
            if handled:
                await svc.repo.messages.update(stored.id, customer_id=customer.id, analysis=analysis, action=handled)
                decision = Decision(handled, "interceptor", handled)
                return Outcome(stored.id, customer_id=customer.id, decision=decision), customer
        if analysis is None:
            raise ClassificationError(fallback or "classification failed")  # recorded as the message's error
        if fallback:
            await svc.repo.audit.record("classify.fallback", {"error": fallback}, message_id=stored.id)
        decision, known = await decide(svc, stored, customer, analysis)
        return await act(svc, stored, customer, analysis, decision, known), customer
