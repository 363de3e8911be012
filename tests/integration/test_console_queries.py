"""What the console reads and keeps, on a real database (SQLite, and PostgreSQL when configured): the
report's per-day series, backlog ages and tier values, the inbox's filters and order, console sessions
and the sign-in limit."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.access import Role
from bot.access.sessions import MAX_FAILURES_PER_ACCOUNT, ConsoleSessions, csrf_ok, csrf_token
from bot.app import Rapport
from bot.domain import InboundMessage, utcnow
from bot.errors import TooManyAttempts, Unauthenticated
from bot.inbox import inbox
from bot.reports import backlog_by_age, summary
from bot.storage.inbox import UNASSIGNED, InboxFilter, InboxQueries
from tests.conftest import RecordingConnector, make_settings

COMPLAINT = "My order never arrived and nobody answers, this is unacceptable"
PASSWORD = "a long enough password"


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Rapport]:
    async with Rapport(make_settings(database_url, relationships={"quiet_start": None})) as rapport:
        await rapport.attach(RecordingConnector())
        yield rapport


async def say(bot: Rapport, text: str, author: str, channel: str = "discord", n: str = "1") -> None:
    await bot.process(
        InboundMessage(
            channel=channel,
            external_id=f"{channel}-{author}-{n}",
            author_id=author,
            text=text,
            conversation_id=f"conv-{author}",
            author_name=author.title(),
            connector="test",
        )
    )


async def test_the_summary_has_per_day_series_backlog_ages_tier_values_and_topics(bot: Rapport) -> None:
    await say(bot, COMPLAINT, "ann")
    await say(bot, "My parcel never arrived, still waiting for it", "ben", channel="x")
    await say(bot, "thanks, you are great", "cat")
    [first, *_] = await bot.repo.escalations.query()
    await bot.relationships.record_purchase(first.customer_id, 120.0, "order-1", None, source="test", actor="test")
    await bot.relationships.topics.refresh(utcnow())

    data = await summary(bot.db, bot.settings.sla, 7)
    per_day = data["messages"]["per_day"]
    assert len(per_day["dates"]) in (7, 8) and per_day["dates"][-1] == utcnow().date().isoformat()
    assert {k: sum(v) for k, v in per_day["by_channel"].items()} == {"discord": 2, "x": 1}
    assert all(len(v) == len(per_day["dates"]) for v in per_day["by_channel"].values())
    assert sum(sum(v) for v in per_day["by_sentiment"].values()) == 3
    assert sum(per_day["by_sentiment"]["negative"]) == 2
    assert (
        data["escalations"]["backlog_by_age"]["< 1 h"] == 2 and sum(data["escalations"]["backlog_by_age"].values()) == 2
    )
    assert sum(data["customers"]["value_by_tier"].values()) == 120.0
    # The two complaints, clustered; all of them this week, none the week before.
    assert sum(t["count"] for t in data["topics"]) == 2
    assert all(t["recent"] == t["count"] and t["previous"] == 0 and t["trend"] == "rising" for t in data["topics"])


def test_the_backlog_buckets_cover_every_age() -> None:
    now = utcnow()
    ages = [timedelta(minutes=5), timedelta(hours=2), timedelta(hours=30), timedelta(days=5), timedelta(days=40)]
    assert backlog_by_age([now - a for a in ages], now) == {
        "< 1 h": 1,
        "1-4 h": 1,
        "4-24 h": 0,
        "1-3 d": 1,
        "3-7 d": 1,
        "> 7 d": 1,
    }


async def test_the_inbox_filters_and_puts_the_soonest_sla_due_first(bot: Rapport) -> None:
    await say(bot, COMPLAINT, "ann")
    await say(bot, "URGENT my card was charged twice, refund now!!", "ben", channel="x")
    cases = {e.channel: e for e in await bot.repo.escalations.query()}
    assert set(cases) == {"discord", "x"}
    now = utcnow()
    everything = await inbox(bot.db, bot.settings.sla, InboxFilter(), now)
    dues = [i.due for i in everything]
    assert dues == sorted(dues) and len(everything) == 2
    assert [i.row.channel for i in await inbox(bot.db, bot.settings.sla, InboxFilter(channels=("x",)), now)] == ["x"]
    assert await inbox(bot.db, bot.settings.sla, InboxFilter(tiers=("platinum",)), now) == []

    await bot.desk.assign(cases["x"].id, "user:lead@example.com", "user:ann@example.com")
    mine = await inbox(bot.db, bot.settings.sla, InboxFilter(assignee="user:ann@example.com"), now)
    assert [i.row.id for i in mine] == [cases["x"].id] and mine[0].row.status == "claimed"
    nobody = await inbox(bot.db, bot.settings.sla, InboxFilter(assignee=UNASSIGNED), now)
    assert [i.row.id for i in nobody] == [cases["discord"].id]
    assert await InboxQueries(bot.db).assignees() == ["user:ann@example.com"]
    assigned = [e for e in await bot.repo.audit.events(escalation_id=cases["x"].id) if e.kind == "escalation.assigned"]
    assert assigned[0].actor == "user:lead@example.com" and assigned[0].detail == {"assignee": "user:ann@example.com"}

    await bot.desk.reply(cases["discord"].id, "user:ann@example.com", "We are on it")
    replies = await InboxQueries(bot.db).replies_to(cases["discord"].customer_id)
    assert "We are on it" in [r.text for r in replies]


async def test_sessions_sign_in_and_out_and_refuse_after_five_failures(bot: Rapport) -> None:
    await bot.access.add_user("ann@example.com", Role.AGENT, PASSWORD, actor="test")
    sessions = ConsoleSessions(bot.repo, bot.db, bot.access, timedelta(hours=1))
    signed = await sessions.sign_in("Ann@Example.com", PASSWORD, "127.0.0.9")
    assert (await sessions.principal(signed.cookie)).actor == "user:ann@example.com"
    assert csrf_ok(signed.cookie, csrf_token(signed.cookie)) and not csrf_ok(signed.cookie, csrf_token("another"))
    await sessions.sign_out(signed.cookie, "user:ann@example.com")
    with pytest.raises(Unauthenticated):
        await sessions.principal(signed.cookie)

    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(Unauthenticated):
            await sessions.sign_in("ann@example.com", "not the password", "127.0.0.9")
    with pytest.raises(TooManyAttempts) as refused:
        await sessions.sign_in("ann@example.com", PASSWORD, "127.0.0.10")  # even right, even from elsewhere
    assert 1 <= refused.value.retry_after <= 60
    # A minute later the failures have left the window.
    await sessions.prune(utcnow() + timedelta(minutes=2))
    again = await sessions.sign_in("ann@example.com", PASSWORD, "127.0.0.9")
    assert (await sessions.principal(again.cookie)).role is Role.AGENT
