"""Shared fixtures: the network guard, databases (SQLite always, PostgreSQL when configured) and a
bot you can drive in three lines."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app import Rapport
from bot.config import Settings
from bot.domain import InboundMessage, OutboundReply
from bot.pipeline import Outcome

# -- network guard: nothing leaves 127.0.0.1 -------------------------------------------------------

_blocked: list[str] = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(RuntimeError):
    """A test tried to reach beyond this machine."""


def _local(host: Any) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _blocked.append(str(address[0]))
        raise NetworkBlocked(f"test tried to connect to {address[0]}: tests may only use 127.0.0.1")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if not _local(name):
        _blocked.append(str(name))
        raise NetworkBlocked(f"test tried to resolve {name}: tests may only use 127.0.0.1")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Fail the test if it tried to leave the machine, even if the code under test swallowed the error."""
    _blocked.clear()
    yield
    if _blocked:
        targets = ", ".join(sorted(set(_blocked)))
        _blocked.clear()
        pytest.fail(f"test tried to reach the network: {targets}")


# -- databases ------------------------------------------------------------------------------------

POSTGRES_URL = os.environ.get("RAPPORT_TEST_POSTGRES_URL")


def _postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(POSTGRES_URL or "")
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not POSTGRES_URL, reason="set RAPPORT_TEST_POSTGRES_URL to run on PostgreSQL"),
            ],
        ),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in tmp_path, and PostgreSQL when configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rapport.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for tests of what only matters between processes on a shared database."""
    if not POSTGRES_URL:
        pytest.skip("set RAPPORT_TEST_POSTGRES_URL to run on PostgreSQL")
    yield from _postgres_database()


# -- a bot you can drive --------------------------------------------------------------------------


@dataclass
class RecordingConnector:
    """A connector double at the platform edge: records what the outbox sends; can be told to fail."""

    name: str = "test"
    sent: list[OutboundReply] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)  # raised in order, one per send

    async def start(self, sink: Any) -> None:
        self.sink = sink

    async def stop(self) -> None:
        pass

    async def send(self, reply: OutboundReply) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(reply)
        return f"sent-{reply.id}"


@dataclass
class Driver:
    """Push customer messages in, read replies and escalations out."""

    bot: Rapport
    connector: RecordingConnector
    _n: int = 0

    async def say(
        self,
        text: str,
        *,
        author: str = "cust-1",
        channel: str = "discord",
        name: str = "Casey Doe",
        conversation: str = "",
        external_id: str | None = None,
        direct: bool = False,
    ) -> Outcome:
        self._n += 1
        message = InboundMessage(
            channel=channel,
            external_id=external_id or f"m-{self._n}",
            author_id=author,
            text=text,
            conversation_id=conversation or f"conv-{author}",
            author_name=name,
            author_handle=name.lower(),
            direct=direct,
            connector=self.connector.name,
        )
        outcome = await self.bot.process(message)
        await self.bot.outbox.deliver_due()
        return outcome

    @property
    def replies(self) -> list[str]:
        return [r.text for r in self.connector.sent]


def make_settings(database_url: str, **sections: Any) -> Settings:
    # Port 0: a bot that runs its HTTP server takes a free port, never one another test holds.
    data: dict[str, Any] = {
        "database": {"url": database_url},
        "nlp": {"backend": "rules"},
        "server": {"host": "127.0.0.1", "port": 0},
    }
    data.update(sections)
    return Settings.model_validate(data)


@pytest.fixture
async def testbot(tmp_path: Path) -> AsyncIterator[Driver]:
    """The whole bot on SQLite with the rule classifier (fast, deterministic), and a recording connector."""
    async with Rapport(make_settings(f"sqlite:///{tmp_path / 'bot.db'}")) as bot:
        connector = RecordingConnector()
        await bot.attach(connector)
        yield Driver(bot, connector)
