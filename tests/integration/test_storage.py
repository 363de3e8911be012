"""The repository on a real database: SQLite always, PostgreSQL when RAPPORT_TEST_POSTGRES_URL is set."""

from collections.abc import AsyncIterator

import pytest

from bot.domain import InboundMessage, Priority, ReplyStatus, utcnow
from bot.storage import Database, Repository, upgrade
from bot.storage.repository import RepositoryState


@pytest.fixture
async def repo(database_url: str) -> AsyncIterator[Repository]:
    await upgrade(database_url)
    db = Database(database_url)
    yield Repository(db)
    await db.close()


def msg(external_id: str = "1", author: str = "u1", text: str = "hello", **kw: object) -> InboundMessage:
    return InboundMessage(channel="discord", external_id=external_id, author_id=author, text=text, **kw)  # type: ignore[arg-type]


async def test_storing_the_same_message_twice_keeps_one_row(repo: Repository) -> None:
    first, created = await repo.messages.store(msg())
    again, created_again = await repo.messages.store(msg(text="changed on redelivery"))
    assert created and not created_again and again.id == first.id and again.message.text == "hello"
    assert len(await repo.messages.query()) == 1


async def test_same_id_on_another_channel_is_another_message(repo: Repository) -> None:
    await repo.messages.store(msg())
    _, created = await repo.messages.store(InboundMessage(channel="x", external_id="1", author_id="u1", text="hi"))
    assert created


async def test_hostile_text_round_trips(repo: Repository) -> None:
    text = "emoji 😀, RTL \u202e, zero width \u200b, 中文, " + "x" * 1_000_000
    stored, _ = await repo.messages.store(msg(text=text))
    loaded = await repo.messages.get(stored.id)
    assert loaded is not None and loaded.message.text == text


async def test_customer_is_created_once_and_handle_kept_current(repo: Repository) -> None:
    a = await repo.customers.resolve("x", "42", "old_handle", "Old Name")
    b = await repo.customers.resolve("x", "42", "new_handle", "New Name")
    assert a.id == b.id
    assert b.identities[0].handle == "new_handle" and b.identities[0].display_name == "New Name"
    assert [c.id for c in await repo.customers.find("new_handle")] == [a.id]


async def test_linking_an_identity_moves_it_to_the_customer(repo: Repository) -> None:
    a = await repo.customers.resolve("x", "42", "ann", "Ann")
    await repo.customers.link_identity("discord", "d-9", a.id)
    b = await repo.customers.resolve("discord", "d-9", "ann#1", "Ann")
    assert b.id == a.id and {i.channel for i in b.identities} == {"x", "discord"}


async def test_escalation_lifecycle_and_attached_messages(repo: Repository) -> None:
    stored, _ = await repo.messages.store(msg(conversation_id="c1"))
    customer = await repo.customers.resolve("discord", "u1", "", "")
    esc, _ = await repo.escalations.open(
        customer_id=customer.id, message=stored, priority=Priority.HIGH, reason="complaint", intent="complaint"
    )
    later, _ = await repo.messages.store(msg("2", conversation_id="c1"))
    await repo.escalations.attach_message(esc.id, later.id)
    found = await repo.escalations.active(customer.id, "discord", "c1")
    assert found is not None and found.message_ids == (stored.id, later.id)
    await repo.escalations.add_note(esc.id, "staff", "called them")
    resolved = await repo.escalations.update(esc.id, status="resolved", resolved_at=utcnow())
    assert resolved.notes[0].text == "called them" and not resolved.status.active
    assert await repo.escalations.active(customer.id, "discord", "c1") is None


async def test_outbox_dedupe_and_exclusive_claims(repo: Repository) -> None:
    kw = dict(connector="test", channel="discord", recipient_id="u1", conversation_id="c", text="hi")
    first = await repo.replies.enqueue(dedupe_key="auto:1", **kw)  # type: ignore[arg-type]
    assert first is not None
    assert await repo.replies.enqueue(dedupe_key="auto:1", **kw) is None  # type: ignore[arg-type]
    claimed = await repo.replies.claim_due(["test"], utcnow())
    assert [r.id for r in claimed] == [first.id] and claimed[0].status is ReplyStatus.SENDING
    assert await repo.replies.claim_due(["test"], utcnow()) == []  # a second worker gets nothing
    assert await repo.replies.requeue_stale_sending(utcnow()) == 1
    assert [r.id for r in await repo.replies.claim_due(["other"], utcnow())] == []


async def test_connector_state_is_durable_and_namespaced(repo: Repository) -> None:
    x, discord = RepositoryState(repo, "x"), RepositoryState(repo, "discord")
    await x.set("since_id", "100")
    await x.set("since_id", "105")
    assert await x.get("since_id") == "105" and await discord.get("since_id") is None


async def test_audit_events_keep_detail(repo: Repository) -> None:
    await repo.audit.record("routed", {"rule": "complaint", "confidence": 0.91}, message_id=3)
    events = await repo.audit.events(message_id=3)
    assert events[0].kind == "routed" and events[0].detail["rule"] == "complaint"
