"""The Redis Streams work queue against the real Redis (RAPPORT_TEST_REDIS_URL), each test on its own
key prefix: taken entries are acknowledged once done, a dead consumer's entries are claimed by another,
and a flushed Redis loses nothing the database does not still know."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.app import Rapport
from bot.config import Settings
from bot.domain import InboundMessage
from bot.errors import StorageError
from bot.storage.stream import RedisQueue
from nlp.rules import RuleClassifier

REDIS_URL = os.environ.get("RAPPORT_TEST_REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="set RAPPORT_TEST_REDIS_URL")


@pytest.fixture
def prefix() -> str:
    return f"rapport-test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def queues(prefix: str) -> AsyncIterator[tuple[RedisQueue, RedisQueue]]:
    one = RedisQueue(REDIS_URL, prefix=prefix, consumer="one", claim_idle=0.2)
    two = RedisQueue(REDIS_URL, prefix=prefix, consumer="two", claim_idle=0.2)
    yield one, two
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.delete(f"{prefix}work")
    await client.aclose()
    await one.close()
    await two.close()


async def test_taken_ids_are_pending_until_done(queues: tuple[RedisQueue, RedisQueue]) -> None:
    one, _ = queues
    for message_id in (1, 2, 3):
        await one.put(message_id)
    assert await one.take(10, wait_seconds=1) == [1, 2, 3]
    assert await one.stats() == {"length": 3, "pending": 3}
    await one.done([1, 2, 3])
    assert await one.stats() == {"length": 0, "pending": 0}  # done entries leave the stream
    assert await one.take(10, wait_seconds=0.05) == []


async def test_requeue_adds_back_only_what_the_stream_lost(queues: tuple[RedisQueue, RedisQueue]) -> None:
    one, two = queues
    for message_id in (1, 2):
        await one.put(message_id)
    assert await one.take(1, wait_seconds=1) == [1]  # 1 is taken (pending), 2 waits in the stream
    assert await two.requeue([1, 2, 3, 4]) == 2  # 3 and 4: stored, but the stream never had them
    assert await two.requeue([1, 2, 3, 4]) == 0
    assert await two.take(10, wait_seconds=1) == [2, 3, 4]


async def test_a_dead_consumers_entries_are_claimed_by_another_after_the_idle_time(
    queues: tuple[RedisQueue, RedisQueue],
) -> None:
    one, two = queues
    await one.put(7)
    assert await one.take(10, wait_seconds=1) == [7]  # and then `one` dies without acknowledging
    assert await two.take(10, wait_seconds=0.05) == []  # not idle long enough yet
    await asyncio.sleep(0.3)
    assert await two.take(10, wait_seconds=0.05) == [7]
    await two.done([7])
    assert (await two.stats())["pending"] == 0


async def test_an_unreachable_redis_is_a_storage_error() -> None:
    queue = RedisQueue("redis://127.0.0.1:1/0", prefix="nowhere:")
    with pytest.raises(StorageError, match="redis unavailable"):
        await queue.put(1)
    await queue.close()


async def test_a_flushed_redis_loses_nothing_the_database_knows(tmp_path: object, prefix: str) -> None:
    """FLUSHDB (on the test's own database index) after messages were stored and queued: the worker
    recreates its group and its sweep processes every stored message from the database."""
    flushed_url = REDIS_URL.rsplit("/", 1)[0] + "/9"
    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path}/rapport.db"},
            "queue": {"url": flushed_url, "prefix": prefix, "sweep_seconds": 0.2, "claim_idle_seconds": 0.2},
        }
    )
    async with Rapport(settings, classifier=RuleClassifier()) as bot:
        for i in range(5):
            await bot.sink(
                InboundMessage(channel="discord", external_id=str(i), author_id=f"u{i}", text="my order is late")
            )
        client = aioredis.Redis.from_url(flushed_url)
        await client.flushdb()
        await client.aclose()
        stop = asyncio.Event()
        worker = asyncio.create_task(bot.worker.run(stop))
        for _ in range(100):
            if all(m.action for m in await bot.repo.messages.query()):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await worker
        messages = await bot.repo.messages.query()
        assert len(messages) == 5 and all(m.action for m in messages)
        assert len(await bot.repo.escalations.query()) == 5
