"""Relationships on a real database (SQLite, and PostgreSQL when configured): CSV import with its
report, purchases, follow-ups that survive a restart, opt-outs, merge and undo, unlink."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.app import Rapport
from bot.domain import InboundMessage, utcnow
from bot.errors import InputError
from bot.relationships.events import LeadAttention, TopicSummary
from bot.relationships.models import FollowUpKind, FollowUpStatus
from bot.storage.tables import CustomerRow
from tests.conftest import RecordingConnector, make_settings

DATA = Path(__file__).parent.parent / "data"
DAYTIME = {"quiet_start": None}  # tests must not depend on the hour they run at


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Rapport]:
    async with Rapport(make_settings(database_url, relationships=DAYTIME)) as rapport:
        await rapport.attach(RecordingConnector())
        yield rapport


async def say(
    bot: Rapport, text: str, *, author: str = "d-1", channel: str = "discord", n: str = "1", name: str = "Casey Doe"
) -> int:
    handle = name.lower().replace(" ", "_")
    outcome = await bot.process(
        InboundMessage(
            channel=channel,
            external_id=f"{channel}-{n}",
            author_id=author,
            text=text,
            author_name=name,
            author_handle=handle,
            conversation_id=f"conv-{author}",
            connector="test",
        )
    )
    assert outcome.customer_id is not None
    return outcome.customer_id


async def test_importing_customers_gives_the_tiers_the_thresholds_say(bot: Rapport) -> None:
    report = await bot.relationships.import_customers((DATA / "customers_good.csv").read_bytes())
    assert report.problems == [] and (report.created, report.updated, report.skipped) == (5, 0, 0)
    assert report.tiers == {"platinum": 1, "gold": 2, "iron": 2}
    by_name = {st.display_name: st for st in await bot.relationships.rel.standings()}
    assert by_name["Ada Platinum"].tier == "platinum" and "8,200.50" in by_name["Ada Platinum"].tier_reason
    assert by_name["Ben Gold"].tier == "gold"
    assert by_name["Eve Almost"].tier == "gold"  # 4,999.99 is under platinum's 5,000 whatever the orders
    assert by_name["Dee Prospect"].tier == "iron"
    ada = await bot.repo.customers.find("Ada Platinum")
    assert [(i.channel, i.platform_user_id) for i in ada[0].identities] == [("discord", "100000000000000001")]
    account = await bot.relationships.rel.account(ada[0].id)
    assert account.external_id == "C-001" and account.orders == 14 and account.birthday is not None


async def test_reimport_updates_and_never_duplicates(bot: Rapport, tmp_path: Path) -> None:
    await bot.relationships.import_customers((DATA / "customers_good.csv").read_bytes())
    changed = b"external_id,name,lifetime_value,orders\nC-003,Cy Iron,2500,6\n"
    report = await bot.relationships.import_customers(changed)
    assert (report.created, report.updated) == (0, 1) and report.tiers == {"gold": 1}
    assert len(await bot.repo.customers.find()) == 5
    cy = (await bot.repo.customers.find("Cy Iron"))[0]
    assert cy.tier == "gold" and cy.email == "cy@example.test"  # columns not in the file are kept


async def test_a_bad_csv_reports_each_problem_and_imports_the_good_rows(bot: Rapport) -> None:
    report = await bot.relationships.import_customers((DATA / "customers_bad.csv").read_bytes())
    text = "\n".join(report.problems)
    assert "unknown column 'favourite_colour' ignored" in text
    assert "line 3: lifetime_value '-50' is negative" in text
    assert "line 4: external_id 'B-001' already on line 2" in text
    assert "line 5: birthday '1999-02-30' is not a real date" in text
    assert "line 6: birthday 2999-01-01 is impossible" in text
    assert "line 7: external_id is empty" in text
    assert "line 8: orders 'many' is not a whole number" in text
    assert "line 9: email 'not-an-email' is not an email address" in text
    assert "line 10: not UTF-8 text" in text
    assert len(report.problems) == 9
    assert (report.created, report.skipped) == (2, 8)
    names = sorted(c.display_name for c in await bot.repo.customers.find())
    assert names == ["Good One", "Second Good"]


async def test_a_csv_without_the_id_column_imports_nothing(bot: Rapport) -> None:
    report = await bot.relationships.import_customers(b"name,email\nAda,ada@example.test\n")
    assert report.problems == [
        "line 1: missing required column external_id (columns: external_id, name, email, "
        "discord_id, slack_id, x_id, lifetime_value, orders, birthday, account_manager); "
        "nothing imported"
    ]
    assert await bot.repo.customers.find() == []


async def test_an_import_row_claiming_someone_elses_account_is_skipped_whole(bot: Rapport) -> None:
    await bot.relationships.import_customers(b"external_id,name,discord_id\nA-1,Ann,555\n")
    report = await bot.relationships.import_customers(b"external_id,name,discord_id,x_id\nA-2,Bob,555,777\n")
    assert report.problems == [
        "line 2: discord_id 555 already belongs to customer #1; link or merge them first (row skipped)"
    ]
    assert [c.display_name for c in await bot.repo.customers.find()] == ["Ann"]  # no half-written Bob, no x 777


async def test_import_adopts_a_customer_who_wrote_in_before(bot: Rapport) -> None:
    writer = await say(bot, "hello there", author="424242")
    report = await bot.relationships.import_customers(
        b"external_id,name,discord_id,lifetime_value,orders\nK-9,Casey Doe,424242,1200,3\n"
    )
    assert report.updated == 1 and report.customer_ids == [writer]
    assert (await bot.repo.customers.get(writer)).tier == "gold"  # type: ignore[union-attr]


async def test_a_purchase_counts_once_and_schedules_one_thank_you(bot: Rapport) -> None:
    cid = await say(bot, "hi")
    first = await bot.relationships.record_purchase(cid, 1200.0, "order-1")
    again = await bot.relationships.record_purchase(cid, 1200.0, "order-1")
    assert first is not None and again is None
    account = await bot.relationships.rel.account(cid)
    assert (account.lifetime_value, account.orders) == (1200.0, 1)
    [thanks] = await bot.relationships.rel.followups(cid)
    assert thanks.kind is FollowUpKind.PURCHASE_THANKS and thanks.status is FollowUpStatus.PENDING
    with pytest.raises(InputError):
        await bot.relationships.record_purchase(cid, -5, "order-2")


async def test_follow_ups_survive_a_restart_and_are_sent_once(database_url: str) -> None:
    settings = make_settings(database_url, relationships=DAYTIME)
    async with Rapport(settings) as first:
        cid = await say(first, "hi")
        await first.relationships.record_purchase(cid, 10.0, "order-9")
    async with Rapport(settings) as second:
        connector = RecordingConnector()
        await second.attach(connector)
        later = utcnow() + timedelta(hours=2)
        assert await second.relationships.scheduler.tick(later) == 1
        assert await second.relationships.scheduler.tick(later) == 0
        await second.outbox.deliver_due()
        assert [r.text for r in connector.sent if r.kind == "followup"] == [
            "Thank you for your purchase, Casey! Reply here any time if you need anything."
        ]


async def test_quiet_hours_postpone_a_follow_up(database_url: str) -> None:
    settings = make_settings(database_url, relationships={"quiet_start": "21:00", "quiet_end": "08:00"})
    async with Rapport(settings) as bot:
        cid = await say(bot, "hi")
        await bot.relationships.record_purchase(cid, 10.0, "order-q", at=datetime(2026, 11, 22, 20, 0, tzinfo=UTC))
        assert await bot.relationships.scheduler.tick(datetime(2026, 11, 22, 22, 0, tzinfo=UTC)) == 0
        [f] = await bot.relationships.rel.followups(cid)
        assert f.status is FollowUpStatus.PENDING and f.due_at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
        assert await bot.relationships.scheduler.tick(datetime(2026, 11, 23, 8, 1, tzinfo=UTC)) == 1


async def test_stop_opts_out_on_that_channel_only_and_start_opts_back_in(bot: Rapport) -> None:
    cid = await say(bot, "hi")
    outcome = await bot.process(
        InboundMessage(
            channel="discord",
            external_id="discord-2",
            author_id="d-1",
            text="STOP",
            author_name="Casey Doe",
            connector="test",
        )
    )
    assert outcome.decision is not None and outcome.decision.action == "opt_out"
    assert await bot.relationships.rel.is_opted_out(cid, "discord")
    assert not await bot.relationships.rel.is_opted_out(cid, "x")
    await bot.relationships.record_purchase(cid, 10.0, "order-s")
    assert await bot.relationships.scheduler.tick(utcnow() + timedelta(hours=2)) == 0
    [f] = await bot.relationships.rel.followups(cid)
    assert f.status is FollowUpStatus.SKIPPED and f.note == "opted out on discord"
    back = await bot.process(
        InboundMessage(
            channel="discord",
            external_id="discord-3",
            author_id="d-1",
            text="start",
            author_name="Casey Doe",
            connector="test",
        )
    )
    assert back.decision is not None and back.decision.action == "opt_in"
    assert not await bot.relationships.rel.is_opted_out(cid, "discord")


async def test_merge_keeps_all_history_and_undo_puts_it_back(bot: Rapport) -> None:
    a = await say(bot, "My order arrived broken", author="d-1", n="1")
    b = await say(bot, "hello from x", author="x-1", channel="x", n="1", name="Casey D")
    await bot.relationships.record_purchase(b, 300.0, "order-x")
    merge = await bot.relationships.identities.merge(b, a, "staff:kim", "same person, confirmed by email")
    merged = await bot.repo.customers.get(a)
    assert merged is not None and {i.channel for i in merged.identities} == {"discord", "x"}
    assert len(await bot.repo.messages.query(customer_id=a)) == 2 and await bot.repo.messages.query(customer_id=b) == []
    assert (await bot.relationships.rel.account(a)).lifetime_value == 300.0
    # The x account writes again after the merge: it lands on the merged customer...
    await say(bot, "any news?", author="x-1", channel="x", n="2", name="Casey D")
    assert len(await bot.repo.messages.query(customer_id=a)) == 3
    # ...and undo returns it with the rest of what the merge moved.
    await bot.relationships.identities.undo(merge.id, "staff:kim")
    assert [m.message.text for m in await bot.repo.messages.query(customer_id=b)] == ["hello from x", "any news?"]
    assert [m.message.text for m in await bot.repo.messages.query(customer_id=a)] == ["My order arrived broken"]
    assert (await bot.relationships.rel.account(a)).lifetime_value == 0.0
    assert len(await bot.relationships.rel.purchases(b)) == 1
    with pytest.raises(InputError, match="already undone"):
        await bot.relationships.identities.undo(merge.id, "staff:kim")


async def test_unlink_splits_an_account_and_its_messages_off(bot: Rapport) -> None:
    a = await say(bot, "hi on discord", author="d-1")
    await bot.relationships.identities.link("x", "x-7", a, "staff:kim")
    await say(bot, "hi on x", author="x-7", channel="x", n="7")
    assert len(await bot.repo.messages.query(customer_id=a)) == 2
    old, new = await bot.relationships.identities.unlink("x", "x-7", "staff:kim")
    assert old == a and [m.message.text for m in await bot.repo.messages.query(customer_id=new)] == ["hi on x"]
    with pytest.raises(InputError, match="only identity"):
        await bot.relationships.identities.unlink("x", "x-7", "staff:kim")


async def test_suggestions_are_shown_not_merged_unless_configured(bot: Rapport) -> None:
    a = await say(bot, "hello", author="d-1", name="Casey Doe")
    b = await say(bot, "hello", author="U1", channel="slack", n="1", name="Casey Doe")
    [suggestion] = await bot.relationships.identities.suggestions()
    assert (suggestion.customer_id, suggestion.other_id) == (a, b) and suggestion.confidence == 0.92
    assert await bot.relationships.rel.merges() == []


async def test_one_customers_suggestions_are_found_without_loading_every_customer(bot: Rapport) -> None:
    """suggestions_for (run after each message when auto_merge is on) agrees with the full scan."""
    people = [("Casey Doe", "d-1", "discord"), ("Casey Doe", "U1", "slack"), ("Robin Roe", "d-2", "discord")]
    people += [("Robin", "x-2", "x"), ("Sam Poe", "U2", "slack")]
    ids = [await say(bot, "hello", author=a, channel=c, n=str(i), name=n) for i, (n, a, c) in enumerate(people)]
    async with bot.db.session() as session:  # as an import of the CRM's customers would set it
        await session.execute(update(CustomerRow).where(CustomerRow.id == ids[4]).values(email="sam@example.com"))
        await session.commit()
    await say(bot, "my email is SAM@example.com.", author="x-9", channel="x", n="9", name="Anon")
    every = await bot.relationships.identities.suggestions()
    assert len(every) == 2  # Casey on two platforms; the email Anon wrote is Sam's
    for cid in {*ids, *(s.other_id for s in every)}:
        expected = [s for s in every if cid in (s.customer_id, s.other_id)]
        assert await bot.relationships.identities.suggestions_for(cid) == expected


async def test_auto_merge_when_configured_merges_confident_suggestions(database_url: str) -> None:
    settings = make_settings(database_url, relationships={"auto_merge": True, "auto_merge_confidence": 0.9})
    async with Rapport(settings) as bot:
        a = await say(bot, "hello", author="d-1", name="Casey Doe")
        await say(bot, "hello", author="U1", channel="slack", n="1", name="Casey Doe")
        [merge] = await bot.relationships.rel.merges()
        assert merge.target_id == a and merge.actor == "bot" and "auto:" in merge.reason


async def test_a_customer_falling_to_lead_is_flagged_and_keeps_normal_priority(bot: Rapport) -> None:
    seen: list[object] = []

    async def on_event(event: object) -> None:
        seen.append(event)

    bot.events.subscribe(on_event)  # type: ignore[arg-type]

    def complaint(n: str, text: str) -> InboundMessage:
        return InboundMessage(
            channel="discord",
            external_id=f"l-{n}",
            author_id="d-9",
            text=text,
            conversation_id=f"conv-{n}",
            connector="test",
            # An hour apart: two conversations, not one (quick follow-ups would join the first case).
            sent_at=utcnow() - timedelta(hours=2 - int(n)),
        )

    first = await bot.process(complaint("1", "My order #55120 arrived broken"))
    second = await bot.process(complaint("2", "The app crashes, terrible"))
    cid = first.customer_id or 0
    [lead] = [e for e in seen if isinstance(e, LeadAttention)]
    assert lead.customer_id == cid and lead.previous_tier == "iron" and "flagged for attention" in lead.reason
    assert (await bot.repo.customers.get(cid)).tier == "lead"  # type: ignore[union-attr]
    esc = await bot.repo.escalations.get(second.escalation_id or 0)
    assert esc is not None and esc.priority.value == "normal"  # never lowered for being lead


async def test_the_weekly_topic_summary_is_published_once_a_week(bot: Rapport) -> None:
    seen: list[object] = []

    async def on_event(event: object) -> None:
        seen.append(event)

    bot.events.subscribe(on_event)  # type: ignore[arg-type]
    for n, text in enumerate(["box arrived crushed", "crushed box again", "charged twice on my card"]):
        await say(bot, f"{text}, this is terrible", author=f"w-{n}", n=f"w{n}")
    monday = utcnow() + timedelta(days=(7 - utcnow().weekday()) % 7 or 7)
    await bot.relationships.scheduler.tick(monday)
    await bot.relationships.scheduler.tick(monday + timedelta(hours=1))
    [summary] = [e for e in seen if isinstance(e, TopicSummary)]
    assert summary.week == f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"
    assert [t.count for t in summary.topics] == [2, 1] and "crushed" in summary.topics[0].label
    stored = await bot.relationships.topics.stored(monday)
    assert [t.label for t in stored] == [t.label for t in summary.topics]


async def test_linking_an_account_that_already_wrote_in_brings_its_history_and_can_be_undone(bot: Rapport) -> None:
    a = await say(bot, "hello from discord", author="d-1")
    b = await say(bot, "hello from x", author="x-1", channel="x", name="Someone Else")
    await bot.relationships.identities.link("x", "x-1", a, "staff:kim")
    assert [m.message.text for m in await bot.repo.messages.query(customer_id=a)] == [
        "hello from discord",
        "hello from x",
    ]
    [merge] = await bot.relationships.rel.merges()
    assert (merge.source_id, merge.target_id) == (b, a)
    await bot.relationships.identities.undo(merge.id, "staff:kim")
    assert [m.message.text for m in await bot.repo.messages.query(customer_id=b)] == ["hello from x"]


async def test_a_customer_who_never_wrote_is_thanked_by_direct_message_on_a_linked_account(bot: Rapport) -> None:
    await bot.relationships.import_customers(b"external_id,name,discord_id\nN-1,Nina Quiet,9001\n")
    [cid] = [c.id for c in await bot.repo.customers.find("Nina")]
    await bot.relationships.record_purchase(cid, 40.0, "order-n")
    assert await bot.relationships.scheduler.tick(utcnow() + timedelta(hours=2)) == 1
    [reply] = await bot.repo.replies.query()
    assert (reply.connector, reply.recipient_id, reply.direct, reply.conversation_id) == ("discord", "9001", True, "")
    assert reply.text.startswith("Thank you for your purchase, Nina!")


async def test_merging_two_customers_with_open_cases_in_one_conversation_keeps_one_active_case(
    bot: Rapport,
) -> None:
    """Two accounts of one person, each with an open case in the same Discord channel: the merge folds the
    source's case into the target's instead of failing on the one-active-case-per-conversation index."""

    async def complaint(author: str, n: str) -> int:
        outcome = await bot.process(
            InboundMessage(
                channel="discord",
                external_id=f"fold-{n}",
                author_id=author,
                text="My order #55120 arrived broken, terrible service",
                conversation_id="channel-support",
                author_name=f"Casey {n}",
                connector="test",
            )
        )
        assert outcome.escalation_id is not None
        return outcome.escalation_id

    kept, folded = await complaint("d-1", "1"), await complaint("d-2", "2")
    source = (await bot.repo.escalations.get(folded)).customer_id  # type: ignore[union-attr]
    target = (await bot.repo.escalations.get(kept)).customer_id  # type: ignore[union-attr]
    merge = await bot.relationships.rel.merge(source, target, "staff:kim", "same person")
    assert merge.moved["folded_escalations"] == (folded,)
    [active] = [e for e in await bot.repo.escalations.query() if e.status.active]
    assert active.id == kept and len(active.message_ids) == 2 and active.customer_id == target
    gone = await bot.repo.escalations.get(folded)
    assert gone is not None and not gone.status.active and f"merged into #{kept}" in gone.reason
