"""Holding a conversation: details asked for and captured, one acknowledgement then quiet, hand-offs,
silence while staff handle a case, and the bot answering again once it is resolved."""

from __future__ import annotations

from bot.domain import ConversationState, Priority
from tests.conftest import Driver


async def case_of(testbot: Driver, escalation_id: int | None):  # type: ignore[no-untyped-def]
    esc = await testbot.bot.repo.escalations.get(escalation_id or 0)
    assert esc is not None
    return esc


async def test_an_order_complaint_is_escalated_and_asked_for_the_number_which_is_captured_once(testbot: Driver) -> None:
    opened = await testbot.say("My last order still hasn't arrived and it's been 3 weeks. This is really frustrating.")
    esc = await case_of(testbot, opened.escalation_id)
    assert esc.conversation is ConversationState.WAITING_FOR_DETAILS
    assert testbot.replies[-1].endswith("Could you share your order number?")

    answer = await testbot.say("The order number is #55120, placed on 2 November")
    assert answer.escalation_id == esc.id
    esc = await case_of(testbot, esc.id)
    assert esc.details == {"order_number": "55120"} and esc.conversation is ConversationState.WITH_PERSON
    assert testbot.replies[-1] == f"Thanks, Casey. I've added that to your case #{esc.id}; a person will reply here."

    await testbot.say("So when will it arrive? Can you check the tracking? Order 55999 by the way")
    await testbot.say("Ok, thanks for your help.")
    assert len(testbot.replies) == 2  # quiet now: one acknowledgement per quiet period
    esc = await case_of(testbot, esc.id)
    assert esc.details == {"order_number": "55120"}  # the first answer stands; never asked again
    kinds = [e.kind for e in await testbot.bot.repo.audit.events(escalation_id=esc.id)]
    assert kinds.count("conversation.state") == 2 and kinds.count("reply.withheld") == 2


async def test_asking_for_a_person_hands_over_raises_priority_and_tells_the_customer(testbot: Driver) -> None:
    opened = await testbot.say("My order #55120 arrived broken and nobody answers my emails")
    esc = await case_of(testbot, opened.escalation_id)
    assert esc.priority is Priority.NORMAL
    asked = await testbot.say("Actually, can I talk to a real person please?")
    assert asked.decision is not None and asked.decision.action == "handoff" and asked.escalation_id == esc.id
    esc = await case_of(testbot, esc.id)
    assert esc.priority is Priority.HIGH and esc.conversation is ConversationState.WITH_PERSON
    assert (
        testbot.replies[-1]
        == f"Of course, Casey. I've asked a person to take over your case #{esc.id}; they'll reply here."
    )


async def test_asking_for_a_human_with_no_case_open_opens_one_at_high_priority(testbot: Driver) -> None:
    for text in ("human please", "Quiero hablar con una persona", "Je veux parler à un conseiller"):
        outcome = await testbot.say(text, author=f"c-{len(text)}")
        assert outcome.decision is not None and outcome.decision.rule == "handoff", text
        esc = await case_of(testbot, outcome.escalation_id)
        assert esc.priority is Priority.HIGH
    assert testbot.replies[1].startswith("Por supuesto") and testbot.replies[2].startswith("Bien sûr")


async def test_after_a_staff_reply_the_bot_is_silent_until_resolved_then_answers_again(testbot: Driver) -> None:
    opened = await testbot.say("My order #55120 arrived broken and nobody answers my emails")
    esc_id = opened.escalation_id or 0
    await testbot.bot.desk.reply(esc_id, "staff:kim", "So sorry, Casey, a replacement is on its way.")
    quiet = await testbot.say("thank you, when will it ship?")
    assert quiet.escalation_id == esc_id and quiet.reply_ids == ()
    before = len(testbot.replies)
    await testbot.bot.desk.resolve(esc_id, "staff:kim")
    assert (await case_of(testbot, esc_id)).conversation is ConversationState.RESOLVED
    praise = await testbot.say("It arrived, you are great, thank you so much!")
    assert praise.escalation_id is None and praise.decision is not None and praise.decision.action == "reply"
    assert len(testbot.replies) == before + 1 and testbot.replies[-1].startswith("Thank you, Casey!")


async def test_quick_top_level_messages_make_one_case_with_one_follow_up_acknowledgement(testbot: Driver) -> None:
    outcomes = [
        await testbot.say(text, conversation=f"thread-{i}")
        for i, text in enumerate(
            [
                "My order #55120 arrived broken, this is unacceptable",
                "and the box was soaked",
                "nobody answers the phone either, terrible",
                "this is the worst service",
                "hello??",
            ]
        )
    ]
    assert {o.escalation_id for o in outcomes} == {outcomes[0].escalation_id}
    assert len(testbot.replies) == 2  # the case's acknowledgement and one for the follow-ups
