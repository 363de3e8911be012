"""Forgetting a customer on SQLite and PostgreSQL: afterwards no row anywhere holds their handle, name,
email, platform id or words; one audit entry says it happened, without them; an open case stops it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Rapport
from bot.errors import Conflict, NotFound
from bot.forget import Forget
from bot.storage.tables import AuditRow, Base
from tests.conftest import Driver, RecordingConnector, make_settings

DISCORD_ID = "100000000000000077"
NAME, EMAIL, HANDLE = "Zelda Quuxley", "zelda.quuxley@example.test", "zelda_q"
WORDS = "my parcel never came, my card 4111 1111 1111 1111 was charged twice, this is unacceptable"
CSV = (
    "external_id,name,email,discord_id,slack_id,x_id,lifetime_value,orders,birthday,account_manager\n"
    f"Z-77,{NAME},{EMAIL},{DISCORD_ID},,,120,2,1990-02-03,Morgan\n"
)
PERSONAL = (NAME, EMAIL, HANDLE, DISCORD_ID, "parcel never came", "4111 1111 1111 1111", "Z-77", "ORDER-ZQ-1")


@pytest.fixture
async def driver(database_url: str) -> AsyncIterator[Driver]:
    # A webhook that is never reached: its queued deliveries hold the event bodies, which must go too.
    hook = {"name": "crm", "url": "http://127.0.0.1:9/hook", "secret": "s" * 24, "events": ["message.received"]}
    async with Rapport(make_settings(database_url, webhooks=[hook])) as bot:
        connector = RecordingConnector(name="discord")
        await bot.attach(connector)
        yield Driver(bot, connector)


async def everything(bot: Rapport) -> str:
    """Every row of every table, as text."""
    rows: list[Any] = []
    async with bot.db.session() as s:
        for table in Base.metadata.sorted_tables:
            rows.extend(tuple(r) for r in (await s.execute(select(table))).all())
    return json.dumps(rows, default=str, ensure_ascii=False)


async def a_customer_with_a_history(d: Driver, *, resolve: bool = True) -> int:
    report = await d.bot.relationships.import_customers(CSV.encode(), actor="test")
    [customer_id] = report.customer_ids
    out = await d.say(WORDS, author=DISCORD_ID, name=HANDLE)
    assert out.escalation_id is not None
    await d.say("still waiting, zelda here", author=DISCORD_ID, name=HANDLE)
    await d.bot.desk.note(out.escalation_id, "user:lead@example.test", f"{NAME} called about this")
    await d.bot.desk.reply(out.escalation_id, "user:lead@example.test", f"Sorry {NAME}, refund on its way")
    await d.bot.outbox.deliver_due()
    await d.bot.relationships.record_purchase(customer_id, 40.0, "ORDER-ZQ-1", actor="test")
    if resolve:
        await d.bot.desk.resolve(out.escalation_id, "user:lead@example.test")  # schedules the CSAT survey
    return customer_id


async def test_forgetting_leaves_no_row_with_the_customers_name_handle_email_or_words(driver: Driver) -> None:
    bot = driver.bot
    other = await driver.say("where is my order? I am Bob", author="200000000000000088", name="bob")
    customer_id = await a_customer_with_a_history(driver)
    before = await everything(bot)
    assert all(p in before for p in PERSONAL)  # the test would prove nothing otherwise
    assert "webhook_deliveries" in {t.name for t in Base.metadata.sorted_tables}

    done = await Forget(bot.repo, bot.db).customer(customer_id, actor="user:admin@example.test")

    after = await everything(bot)
    assert [p for p in PERSONAL if p in after] == []
    assert done.counts["messages"] == 2 and done.counts["customers"] == 1 and done.counts["identities"] == 1
    assert done.counts["webhook_deliveries"] >= 2 and done.counts["purchases"] == 1
    assert await bot.repo.customers.get(customer_id) is None
    # Someone else's conversation is untouched.
    assert (await bot.repo.messages.get(other.message_id)) is not None
    async with bot.db.session() as s:
        [entry] = (await s.scalars(select(AuditRow).where(AuditRow.kind == "customer.forgotten"))).all()
    assert entry.actor == "user:admin@example.test"
    assert entry.detail["customer_id"] == customer_id and entry.detail["rows"]["messages"] == 2
    assert entry.detail["forced"] is False


async def test_an_open_case_refuses_forgetting_unless_forced(driver: Driver) -> None:
    bot = driver.bot
    customer_id = await a_customer_with_a_history(driver, resolve=False)
    forget = Forget(bot.repo, bot.db)
    with pytest.raises(Conflict, match="open escalations"):
        await forget.customer(customer_id, actor="user:admin@example.test")
    assert NAME in await everything(bot)  # refused means nothing erased

    done = await forget.customer(customer_id, actor="user:admin@example.test", force=True)
    assert done.forced
    assert [p for p in PERSONAL if p in await everything(bot)] == []
    with pytest.raises(NotFound):
        await forget.customer(customer_id, actor="user:admin@example.test")
