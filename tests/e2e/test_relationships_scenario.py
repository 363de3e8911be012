"""One customer, walked through the relationship: first questions, purchase interest, a purchase, a
complaint, its resolution and the CSAT answer, checking tier, stage and every message sent."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import Rapport
from bot.domain import Priority, utcnow
from bot.events import SalesAlert
from bot.relationships.events import ChurnRisk
from bot.relationships.models import CsatStatus
from tests.conftest import Driver, RecordingConnector, make_settings

SETTINGS = {
    "quiet_start": None,  # the scenario must not depend on the hour it runs at
    "tiers": {"gold_value": 1000, "gold_orders": 1, "platinum_value": 10000, "platinum_orders": 10},
}


@pytest.fixture
async def driver(tmp_path: Path) -> AsyncIterator[Driver]:
    settings = make_settings(f"sqlite:///{tmp_path / 'bot.db'}", relationships=SETTINGS)
    async with Rapport(settings) as bot:
        connector = RecordingConnector()
        await bot.attach(connector)
        yield Driver(bot, connector)


async def test_a_customer_from_first_question_to_csat_answer(driver: Driver) -> None:
    bot = driver.bot
    events: list[object] = []

    async def on_event(event: object) -> None:
        events.append(event)

    bot.events.subscribe(on_event)  # type: ignore[arg-type]

    async def standing() -> tuple[str, str, str, str]:
        st = await bot.relationships.rel.standing(cid)
        assert st is not None
        return st.tier, st.stage, st.tier_reason, st.stage_reason

    # 1. A first question, answered from the knowledge base: a first contact.
    first = await driver.say("Do you ship internationally?")
    cid = first.customer_id or 0
    tier, stage, _, stage_reason = await standing()
    assert (tier, stage) == ("iron", "exploration") and stage_reason == "first contact: 1 message so far"

    # 2. Another question about what we offer: awareness.
    await driver.say("What payment methods do you accept?")
    tier, stage, _, stage_reason = await standing()
    assert (tier, stage) == ("iron", "awareness") and "2 questions about what we offer" in stage_reason

    # 3. Purchase interest: sales hears about it, the stage is expansion.
    interest = await driver.say("How much is the pro plan? I'd like to buy it for my team")
    assert SalesAlert(cid, interest.message_id) in events
    _, stage, _, stage_reason = await standing()
    assert stage == "expansion" and stage_reason.startswith("purchase interest")

    # 4. The purchase is posted: gold by the thresholds, and a thank-you goes out after the delay.
    await bot.relationships.record_purchase(cid, 1500.0, "order-1001")
    tier, stage, tier_reason, _ = await standing()
    assert tier == "gold" and "lifetime value 1,500.00, 1 orders" in tier_reason and stage == "expansion"
    assert await bot.relationships.scheduler.tick(utcnow()) == 0  # not yet due
    assert await bot.relationships.scheduler.tick(utcnow() + timedelta(hours=2)) == 1
    await bot.outbox.deliver_due()

    # 5. A complaint: escalated with the priority a gold customer gets, and acknowledged.
    complaint = await driver.say("My order #1001 arrived broken, this is really disappointing")
    esc = await bot.repo.escalations.get(complaint.escalation_id or 0)
    assert esc is not None and esc.priority is Priority.HIGH  # normal, raised one step for gold
    tier, stage, tier_reason, _ = await standing()
    assert tier == "gold" and "1 complaints, 1 escalations" in tier_reason and stage == "expansion"

    # 6. Staff resolve it; the CSAT survey goes out on the customer's own channel after the delay.
    await bot.desk.resolve(esc.id, "staff:kim")
    assert await bot.relationships.scheduler.tick(utcnow() + timedelta(minutes=30)) == 0
    assert await bot.relationships.scheduler.tick(utcnow() + timedelta(hours=2)) == 1
    await bot.outbox.deliver_due()
    survey = driver.connector.sent[-1]
    assert survey.channel == "discord" and survey.recipient_id == "cust-1" and survey.kind == "followup"

    # 7. The customer answers: not a number, so one polite re-ask; then a 5.
    unclear = await driver.say("great")
    assert unclear.decision is not None and unclear.decision.action == "csat"
    answer = await driver.say("5")
    assert answer.decision is not None and answer.decision.action == "csat"
    [csat] = await bot.relationships.rel.surveys(cid)
    assert csat.status is CsatStatus.ANSWERED and csat.score == 5 and csat.escalation_id == esc.id

    assert driver.replies == [
        "We ship to over 40 countries; the full list and prices are on the Shipping page at checkout.",
        "We accept all major cards, PayPal, Apple Pay and Google Pay.",
        "Thanks for your interest, Casey! Someone from our team will reach out with the details.",
        "Thank you for your purchase, Casey! Reply here any time if you need anything.",
        f"Sorry to hear that, Casey. We've passed this to our team (ref #{esc.id}) and will get back to you shortly.",
        f"Hi Casey, your request #{esc.id} was resolved. How did we do, from 1 (poor) to 5 (great)? Reply with a "
        'number, or "stop" for no more messages like this.',
        "Sorry, Casey, we didn't catch that: please reply with a single number from 1 to 5.",
        "Thank you for your feedback, Casey!",
    ]
    assert not [e for e in events if isinstance(e, ChurnRisk)]

    profile = await bot.relationships.profile_json(cid)
    assert profile["tier"] == "gold" and profile["stage"] == "expansion" and profile["open_escalations"] == []
    assert [(c["score"], c["status"]) for c in profile["csat"]] == [(5, "answered")]
    assert profile["identities"][0]["channel"] == "discord" and profile["opt_outs"] == []


async def test_a_second_unclear_csat_answer_is_recorded_as_unanswered_and_routed(driver: Driver) -> None:
    bot = driver.bot
    complaint = await driver.say("The app crashes on login, this is awful")
    await bot.desk.resolve(complaint.escalation_id or 0, "staff:kim")
    await bot.relationships.scheduler.tick(utcnow() + timedelta(hours=2))
    await driver.say("meh")
    second = await driver.say("The export button is broken too and I need it for a report")
    [csat] = await bot.relationships.rel.surveys(complaint.customer_id)
    assert csat.status is CsatStatus.UNANSWERED and csat.score is None
    assert second.decision is not None and second.decision.action == "escalate"  # a new complaint is not swallowed
    assert sum("1 to 5" in r for r in driver.replies) == 1  # re-asked once only


async def test_turning_to_cancellation_posts_a_churn_alert_once(driver: Driver) -> None:
    events: list[object] = []

    async def on_event(event: object) -> None:
        events.append(event)

    driver.bot.events.subscribe(on_event)  # type: ignore[arg-type]
    await driver.say("thanks, love the product", conversation="a")
    leaving = await driver.say("I want to cancel my subscription", conversation="b")
    await driver.say("please just cancel my account", conversation="b")
    churn = [e for e in events if isinstance(e, ChurnRisk)]
    assert churn == [ChurnRisk(leaving.customer_id or 0, "exploration", churn[0].reason, leaving.message_id)]
    assert "cancellation intent" in churn[0].reason


async def test_keep_in_touch_and_birthday_messages(driver: Driver) -> None:
    bot = driver.bot
    outcome = await driver.say("thanks!")
    cid = outcome.customer_id or 0
    today = utcnow().date()
    csv = (
        f"external_id,name,discord_id,lifetime_value,orders,birthday\n"
        f"V-1,Casey Doe,cust-1,2500,3,{today.replace(year=1992).isoformat()}\n"
    ).encode()
    report = await bot.relationships.import_customers(csv)
    assert report.customer_ids == [cid] and report.tiers == {"gold": 1}
    assert await bot.relationships.scheduler.tick(utcnow().replace(hour=23)) == 1  # the birthday
    assert await bot.relationships.scheduler.tick(utcnow() + timedelta(days=31)) == 1  # not heard from in 30 days
    assert await bot.relationships.scheduler.tick(utcnow() + timedelta(days=62)) == 0  # one nudge per silence
    await bot.outbox.deliver_due()
    assert driver.replies[-2:] == [
        "Happy birthday, Casey! Everyone here wishes you a great day.",
        'Hi Casey, it\'s been a while! Anything we can help you with? (Reply "stop" to opt out.)',
    ]


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def test_the_running_bot_sends_due_follow_ups_on_its_own(tmp_path: Path) -> None:
    """`Rapport.run` starts the follow-up scheduler next to the outbox."""
    relationships = {"quiet_start": None, "thanks_delay_minutes": 0, "poll_seconds": 0.05}
    settings = make_settings(f"sqlite:///{tmp_path / 'bot.db'}", relationships=relationships)
    async with Rapport(settings) as bot:
        connector = RecordingConnector()
        driver = Driver(bot, connector)
        stop = asyncio.Event()
        running = asyncio.create_task(bot.run([connector], stop))
        try:
            assert await eventually(lambda: connector.name in bot.connected)
            hello = await driver.say("hi there")
            await bot.relationships.record_purchase(hello.customer_id or 0, 25.0, "order-run")
            assert await eventually(
                lambda: any(r.text.startswith("Thank you for your purchase") for r in connector.sent)
            )
        finally:
            stop.set()
            await running
