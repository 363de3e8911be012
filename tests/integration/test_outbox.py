"""The outbox against a real database: retries with backoff, rate limits, never twice, restart-safe."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.app import Rapport
from bot.domain import OutboundReply, ReplyStatus, utcnow
from bot.errors import AuthFailed, DeliveryFailed, RateLimited, StorageError
from tests.conftest import RecordingConnector, make_settings
from tests.fakes.tcp_proxy import TcpProxy


async def queue_complaint(bot: Rapport, external_id: str = "m1") -> int:
    from bot.domain import InboundMessage

    outcome = await bot.process(
        InboundMessage(
            channel="discord",
            external_id=external_id,
            author_id=f"u-{external_id}",
            text="My order arrived broken, terrible",
            connector="test",
        )
    )
    assert len(outcome.reply_ids) == 1
    return outcome.reply_ids[0]


async def make_due(bot: Rapport) -> None:
    """Skip the backoff wait: move every queued reply's next attempt to now."""
    for reply in await bot.repo.replies.query(statuses=[ReplyStatus.QUEUED]):
        await bot.repo.replies.mark(reply.id, ReplyStatus.QUEUED, next_attempt_at=utcnow() - timedelta(seconds=1))


async def test_failed_delivery_is_retried_with_backoff_then_sent_once(database_url: str) -> None:
    async with Rapport(make_settings(database_url)) as bot:
        connector = RecordingConnector(failures=[DeliveryFailed("timeout"), DeliveryFailed("502")])
        await bot.attach(connector)
        reply_id = await queue_complaint(bot)
        assert await bot.outbox.deliver_due() == 0
        queued = (await bot.repo.replies.query())[0]
        assert queued.status is ReplyStatus.QUEUED and queued.attempts == 1 and queued.last_error == "timeout"
        assert queued.next_attempt_at is not None and queued.next_attempt_at > utcnow()
        assert await bot.outbox.deliver_due() == 0  # not due yet: backoff holds it
        await make_due(bot)
        await bot.outbox.deliver_due()
        await make_due(bot)
        assert await bot.outbox.deliver_due() == 1
        assert await bot.outbox.deliver_due() == 0
        assert [r.id for r in connector.sent] == [reply_id]
        sent = (await bot.repo.replies.query())[0]
        assert sent.status is ReplyStatus.SENT and sent.attempts == 3 and sent.external_id == f"sent-{reply_id}"


async def test_rate_limit_waits_the_time_it_was_told_without_using_an_attempt(database_url: str) -> None:
    async with Rapport(make_settings(database_url)) as bot:
        await bot.attach(RecordingConnector(failures=[RateLimited("slow down", retry_after=120)]))
        await queue_complaint(bot)
        await bot.outbox.deliver_due()
        reply = (await bot.repo.replies.query())[0]
        assert reply.attempts == 0 and reply.next_attempt_at is not None
        wait = (reply.next_attempt_at - utcnow()).total_seconds()
        assert 100 < wait <= 120


async def test_permanent_failures_stop_retrying(database_url: str) -> None:
    async with Rapport(make_settings(database_url, outbox={"max_attempts": 2})) as bot:
        await bot.attach(RecordingConnector(failures=[AuthFailed("revoked")]))
        await queue_complaint(bot, "a")
        await bot.outbox.deliver_due()
        assert (await bot.repo.replies.query())[0].status is ReplyStatus.FAILED
        await bot.detach(bot.connected["test"])
        await bot.attach(RecordingConnector(failures=[DeliveryFailed("x"), DeliveryFailed("y")]))
        await queue_complaint(bot, "b")
        await bot.outbox.deliver_due()
        await make_due(bot)
        await bot.outbox.deliver_due()
        last = (await bot.repo.replies.query())[-1]
        assert last.status is ReplyStatus.FAILED and "gave up after 2 attempts" in last.last_error


async def test_a_restart_delivers_what_was_queued_exactly_once(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url)
    # First process: the platform is unreachable; replies stay queued; then it dies mid-send on one.
    async with Rapport(settings) as bot:
        await bot.attach(RecordingConnector(failures=[DeliveryFailed("down")] * 3))
        ids = [await queue_complaint(bot, f"m{i}") for i in range(3)]
        await bot.outbox.deliver_due()
        await make_due(bot)
        claimed = await bot.repo.replies.claim_due(["test"], utcnow(), limit=1)  # "sending" when killed
        assert len(claimed) == 1
    # Second process: recovers and delivers each reply exactly once.
    async with Rapport(settings) as bot:
        connector = RecordingConnector()
        await bot.attach(connector)
        assert await bot.outbox.recover() == 1
        await make_due(bot)
        await bot.outbox.deliver_due()
        await bot.outbox.deliver_due()
        assert sorted(r.id for r in connector.sent) == ids
    async with Rapport(settings) as bot:
        again = RecordingConnector()
        await bot.attach(again)
        await bot.outbox.recover()
        await bot.outbox.deliver_due()
        assert again.sent == []


async def test_replies_wait_for_their_connector(database_url: str) -> None:
    async with Rapport(make_settings(database_url)) as bot:
        await queue_complaint(bot)
        assert await bot.outbox.deliver_due() == 0  # no "test" connector running yet
        connector = RecordingConnector()
        await bot.attach(connector)
        assert await bot.outbox.deliver_due() == 1


@dataclass
class CuttingConnector(RecordingConnector):
    """Sends, and the database goes away while the send is on its way (`cut` fires after the first)."""

    cut: Callable[[], None] = lambda: None

    async def send(self, reply: OutboundReply) -> str:
        external_id = await super().send(reply)
        if len(self.sent) == 1:
            self.cut()
        return external_id


async def test_a_database_outage_mid_pass_neither_resends_what_went_out_nor_strands_what_did_not(
    postgres_url: str,
) -> None:
    """The first reply reached the platform but its record did not reach the database; the second was
    claimed and never tried. Once the database is back, the running outbox records the first as sent
    (not sending it again) and sends the second, without a restart."""
    url = make_url(postgres_url)
    with TcpProxy(url.port or 5432) as proxy:
        async with Rapport(make_settings(url.set(port=proxy.port).render_as_string(hide_password=False))) as bot:
            connector = CuttingConnector(cut=proxy.cut)
            await bot.attach(connector)
            first, second = [await queue_complaint(bot, f"m{i}") for i in range(2)]
            with pytest.raises(StorageError):
                await bot.outbox.deliver_due()
            assert [r.id for r in connector.sent] == [first]
            proxy.restore()
            assert await bot.outbox.deliver_due() == 1
            assert [r.id for r in connector.sent] == [first, second]
            replies = {r.id: r for r in await bot.repo.replies.query()}
            assert {r.status for r in replies.values()} == {ReplyStatus.SENT}
            assert replies[first].external_id == f"sent-{first}"
            assert await bot.outbox.deliver_due() == 0
            assert [r.id for r in connector.sent] == [first, second]
