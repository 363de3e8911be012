"""A real lock held by another connection, past the busy timeout, on SQLite and PostgreSQL: the store
fails with StorageError (so the connector makes the platform retry) and succeeds once the lock is gone."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from bot.app import Rapport
from bot.config import Settings
from bot.domain import InboundMessage
from bot.errors import StorageError
from nlp.rules import RuleClassifier


@contextmanager
def write_lock(url: str) -> Iterator[None]:
    """Another client holding the lock Rapport's writes need."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    with psycopg.connect(url) as pg:
        pg.execute("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            pg.rollback()


async def test_a_held_lock_fails_the_store_and_the_retry_stores_it_once(database_url: str) -> None:
    settings = Settings.model_validate({"database": {"url": database_url, "busy_timeout": 0.5}})
    message = InboundMessage(channel="discord", external_id="1", author_id="u1", text="My order arrived broken")
    async with Rapport(settings, classifier=RuleClassifier()) as bot:
        with write_lock(database_url), pytest.raises(StorageError, match="database error"):
            await bot.sink(message)
        await bot.sink(message)  # the platform's retry
        await bot.sink(message)  # and a late duplicate of it
        processed = await bot.worker.process(await bot.queue.take(10, wait_seconds=1))
        assert len(await bot.repo.messages.query()) == 1 and len(processed) == 1
        assert len(await bot.repo.escalations.query()) == 1
