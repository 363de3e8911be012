"""The whole bot, message in -> reply and escalation out (rule classifier, real SQLite)."""

from collections.abc import Sequence

from bot.domain import EscalationStatus, InboundMessage, Priority
from bot.errors import InputError
from bot.events import EscalationChanged, SalesAlert
from bot.pipeline import Services
from nlp.types import Analysis
from tests.conftest import Driver


async def test_complaint_opens_an_escalation_and_acknowledges(testbot: Driver) -> None:
    outcome = await testbot.say("My order #55120 arrived broken and nobody answers my emails")
    assert outcome.decision is not None and outcome.decision.action == "escalate"
    esc = await testbot.bot.repo.escalations.get(outcome.escalation_id or 0)
    assert esc is not None and esc.status is EscalationStatus.OPEN and esc.customer_id == outcome.customer_id
    assert esc.details == {"order_number": "55120"}  # given already: not asked for
    assert testbot.replies == [
        f"Sorry to hear that, Casey. We've passed this to our team (ref #{esc.id}) and will get back to you shortly."
    ]
    reply = testbot.connector.sent[0]
    assert reply.in_reply_to == "m-1" and reply.recipient_id == "cust-1" and reply.escalation_id == esc.id


async def test_praise_gets_thanks_and_no_escalation(testbot: Driver) -> None:
    outcome = await testbot.say("thank you, great service!")
    assert outcome.escalation_id is None and testbot.replies == ["Thank you, Casey! That means a lot to the team."]


async def test_question_with_a_close_article_is_answered(testbot: Driver) -> None:
    outcome = await testbot.say("how do I reset my password?")
    assert outcome.decision is not None and outcome.decision.action == "faq"
    assert testbot.replies[0].startswith("You can reset your password")


async def test_question_without_an_answer_is_escalated_as_a_question(testbot: Driver) -> None:
    outcome = await testbot.say("Which warehouse ships orders to Iceland?")
    esc = await testbot.bot.repo.escalations.get(outcome.escalation_id or 0)
    assert esc is not None and esc.intent == "question" and "knowledge base" in esc.reason
    assert testbot.replies[0].startswith("Good question, Casey.")


async def test_purchase_interest_raises_a_sales_alert(testbot: Driver) -> None:
    seen: list[object] = []

    async def on_event(event: object) -> None:
        seen.append(event)

    testbot.bot.events.subscribe(on_event)  # type: ignore[arg-type]
    outcome = await testbot.say("How much is the pro plan? I'd like to buy it for my team")
    assert seen == [SalesAlert(outcome.customer_id or 0, outcome.message_id)]
    assert testbot.replies[0].startswith("Thanks for your interest")


async def test_abusive_message_is_escalated_flagged_with_no_reply(testbot: Driver) -> None:
    outcome = await testbot.say("you idiots broke it again")
    esc = await testbot.bot.repo.escalations.get(outcome.escalation_id or 0)
    assert esc is not None and esc.flagged and testbot.replies == []


async def test_a_spanish_message_is_acknowledged_in_spanish(testbot: Driver) -> None:
    outcome = await testbot.say("Mi pedido llegó roto y nadie responde a mis correos, estoy muy enfadado")
    assert outcome.analysis is not None and outcome.analysis.language == "es"
    assert outcome.escalation_id is not None  # the rule classifier reads English only: a person decides
    assert testbot.replies == [
        f"Gracias, Casey. Hemos pasado tu solicitud a nuestro equipo (ref. #{outcome.escalation_id})."
    ]


async def test_a_message_in_a_language_without_templates_goes_to_a_human(testbot: Driver) -> None:
    outcome = await testbot.say("Il mio ordine è arrivato rotto e nessuno risponde alle mie email da giorni")
    assert outcome.analysis is not None and outcome.analysis.language == "it"
    assert outcome.decision is not None and outcome.decision.rule == "no-templates"
    assert outcome.escalation_id is not None and testbot.replies == []


async def test_urgent_complaint_is_urgent_priority(testbot: Driver) -> None:
    outcome = await testbot.say("You charged me twice and my account was hacked, this is terrible")
    esc = await testbot.bot.repo.escalations.get(outcome.escalation_id or 0)
    assert esc is not None and esc.priority is Priority.URGENT


async def test_messages_in_an_escalated_conversation_attach_instead_of_new_replies(testbot: Driver) -> None:
    events: list[object] = []

    async def on_event(event: object) -> None:
        events.append(event)

    testbot.bot.events.subscribe(on_event)  # type: ignore[arg-type]
    first = await testbot.say("The app crashes on login, this is awful")
    second = await testbot.say("thanks for nothing, still broken")
    third = await testbot.say("great, it works now, thank you!")
    assert second.escalation_id == first.escalation_id == third.escalation_id
    # The opening acknowledgement, one for the follow-ups, then quiet: never a reply per message.
    assert testbot.replies[1:] == [
        f"Thanks, Casey. I've added that to your case #{first.escalation_id}; a person will reply here."
    ]
    esc = await testbot.bot.repo.escalations.get(first.escalation_id or 0)
    assert esc is not None and esc.message_ids == (first.message_id, second.message_id, third.message_id)
    assert [e.change for e in events if isinstance(e, EscalationChanged)] == ["opened", "attached", "attached"]


async def test_a_duplicate_delivery_changes_nothing(testbot: Driver) -> None:
    first = await testbot.say("My order arrived broken", external_id="dup-1")
    again = await testbot.say("My order arrived broken", external_id="dup-1")
    assert again.duplicate and again.message_id == first.message_id
    assert len(testbot.replies) == 1 and len(await testbot.bot.repo.escalations.query()) == 1


async def test_every_decision_is_audited_with_its_reason(testbot: Driver) -> None:
    outcome = await testbot.say("My order arrived broken")
    kinds = [e.kind for e in await testbot.bot.repo.audit.events(message_id=outcome.message_id)]
    assert kinds[:2] == ["message.stored", "routed"]
    assert {"escalation.opened", "reply.queued", "reply.sent"} <= set(kinds)
    routed = (await testbot.bot.repo.audit.events(kind="routed"))[0]
    assert routed.detail["rule"] == "complaint" and routed.detail["reason"] == "complaint"


async def test_hostile_inputs_are_stored_and_processed(testbot: Driver) -> None:
    texts = ["", "x" * 1_000_000, "broken\ud800 order", "null\x00byte \x1b[31mred", "😀😀😀", "https://example.com/a"]
    for i, text in enumerate(texts):
        outcome = await testbot.say(text, author=f"a{i}", external_id=f"h{i}")
        stored = await testbot.bot.repo.messages.get(outcome.message_id)
        assert stored is not None and stored.analysis is not None and outcome.error == ""
    stored = await testbot.bot.repo.messages.get(3)
    assert stored is not None and stored.message.text == "broken\ufffd order"


async def test_unusable_messages_are_refused_with_a_clear_error(testbot: Driver) -> None:
    import pytest

    with pytest.raises(InputError, match="unknown channel 'myspace'"):
        await testbot.say("hi", channel="myspace")
    with pytest.raises(InputError, match="author_id is missing"):
        await testbot.say("hi", author=" ")


class Exploding:
    version = "exploding"

    def classify(self, texts: Sequence[str]) -> list[Analysis]:
        raise RuntimeError("model on fire")


async def test_a_failing_classifier_falls_back_to_rules(testbot: Driver) -> None:
    testbot.bot.pipeline.services = _swap(testbot.bot.pipeline.services, classifier=Exploding())  # type: ignore[union-attr]
    outcome = await testbot.say("thank you, great service")
    assert outcome.analysis is not None and outcome.analysis.model_version == "rules-1"
    assert "classify.fallback" in [e.kind for e in await testbot.bot.repo.audit.events(message_id=outcome.message_id)]


async def test_when_everything_fails_the_message_is_still_stored_and_the_bot_goes_on(testbot: Driver) -> None:
    testbot.bot.pipeline.services = _swap(testbot.bot.pipeline.services, classifier=Exploding(), fallback=Exploding())  # type: ignore[union-attr]
    outcome = await testbot.say("hello?")
    assert outcome.error == "RuntimeError"
    stored = await testbot.bot.repo.messages.get(outcome.message_id)
    assert stored is not None and stored.message.text == "hello?"
    assert (await testbot.bot.repo.audit.events(kind="pipeline.error"))[0].message_id == outcome.message_id


def _swap(services: Services, **changes: object) -> Services:
    from dataclasses import replace

    return replace(services, **changes)  # type: ignore[arg-type]


async def test_the_worker_sweep_takes_one_batch_at_a_time(testbot: Driver) -> None:
    # Messages stored but never announced (a restart, a lost queue entry) are swept by the worker a batch
    # at a time: a sweep that went on while messages kept arriving reported nothing until traffic stopped.
    bot = testbot.bot
    for i in range(7):
        await bot.pipeline.store(
            InboundMessage(channel="discord", external_id=f"swept-{i}", author_id=f"a{i}", text="my order is late")
        )
    first = await bot.pipeline.resume(3, once=True)
    assert len(first) == 3 and all(not o.error for o in first)
    rest = await bot.pipeline.resume(3)  # what `rapport run` does on start: everything left
    assert sorted(o.message_id for o in first + rest) == sorted({o.message_id for o in first + rest})
    assert len(rest) == 4
