"""Engine set-up and migrations. One URL in config; async drivers for the app, sync ones for Alembic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, insert, pool
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.errors import ConfigError, StorageError

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic reports every step at INFO, on every command that opens the database; `rapport db upgrade`
# says itself what it migrated.
logging.getLogger("alembic").setLevel(logging.WARNING)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("database.url: not a database URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"database.url: unsupported database {parsed.get_backend_name()!r} (sqlite or postgresql)")
    return parsed


def async_url(url: str) -> URL:
    parsed = _parse(url)
    driver = "aiosqlite" if parsed.get_backend_name() == "sqlite" else "psycopg"
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}")


def sync_url(url: str) -> URL:
    parsed = _parse(url)
    driver = "pysqlite" if parsed.get_backend_name() == "sqlite" else "psycopg"
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}")


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is ConfigParser-based: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", sync_url(url).render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision`; the revisions before and after (None: an empty database)."""
    _check_sqlite_folder(url)
    try:
        before = current_revision(url)
        command.upgrade(alembic_config(url), revision)
        return before, current_revision(url)
    except Exception as exc:  # driver errors carry the URL; say what failed without it
        where = f" {sqlite_file(url)}" if sqlite_file(url) else ""
        raise StorageError(f"database migration failed{where}: {type(exc).__name__}: {_safe(exc)}") from None


def current_revision(url: str) -> str | None:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (any driver, query string ignored); None for other databases or memory."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def _check_sqlite_folder(url: str) -> None:
    path = sqlite_file(url)
    if path is not None and not Path(path).expanduser().resolve().parent.is_dir():
        raise StorageError(f"cannot open SQLite database {path}: the folder {Path(path).parent} does not exist")


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic is synchronous, so it runs in a thread)."""
    await asyncio.to_thread(upgrade_sync, url, revision)


async def commit_unique(s: AsyncSession, *rows: object) -> bool:
    """Insert `rows` and commit; False when a concurrent writer took a unique key first.

    The rows go in under a savepoint, so a lost race undoes only them: inside a unit of work the rest
    of the unit stands (there "commit" is a flush; the unit commits once at its end).
    """
    try:
        async with s.begin_nested():
            s.add_all(rows)
    except IntegrityError:
        return False
    await s.commit()
    return True


async def insert_new(s: AsyncSession, entity: Any, values: dict[str, Any]) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING` the new row: an ORM instance of `entity`, or None
    when a concurrent writer took a unique key first.

    One statement where a savepoint round (SAVEPOINT, INSERT, RELEASE, and the ORM's flush) cost four;
    a lost race leaves the rest of the transaction as it was, as the savepoint did. The statement is
    built once per table and dialect, the values sent as its parameters.
    """
    return await s.scalar(_returning_insert(s.get_bind().dialect.name, entity), values)


@cache  # built once per dialect and table: `insert_new` runs for most messages
def _returning_insert(dialect_name: str, entity: Any) -> Any:
    return _conflict_free(dialect_name, entity).returning(entity)


def conflict_free_insert(s: AsyncSession, entity: Any) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING` into `entity`'s table, in the session's dialect."""
    return _conflict_free(s.get_bind().dialect.name, entity)


def _conflict_free(dialect_name: str, entity: Any) -> Any:
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    return dialect.insert(entity).on_conflict_do_nothing()


def _safe(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:300]


# The session of the unit of work open in this task, if any (see Database.unit), and the rows the unit
# writes at its end (see Database.insert_later).
_unit: ContextVar[AsyncSession | None] = ContextVar("rapport_unit_of_work", default=None)
_later: ContextVar[list[tuple[type[Any], dict[str, Any]]] | None] = ContextVar("rapport_unit_later", default=None)


class _UnitSession:
    """The unit's session as a repository method sees it: `commit()` only flushes, so that every
    method's writes land in the one transaction the unit commits at its end."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def commit(self) -> None:
        await self._session.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class Store:
    """A store of one aggregate: its methods share the caller's unit of work, or run in their own."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _session(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self._db.session()


class Database:
    """Owns the async engine and hands out sessions; maps every driver error to StorageError."""

    def __init__(self, url: str, *, busy_timeout: float = 2.0) -> None:
        self.url = url
        target = async_url(url)
        kwargs: dict[str, object] = {"hide_parameters": True}  # a failed statement's log never holds customer data
        if target.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": busy_timeout}
        else:  # the same bound on PostgreSQL: a lock held elsewhere fails the statement instead of waiting on
            kwargs["connect_args"] = {"options": f"-c lock_timeout={int(busy_timeout * 1000)}"}
            # A pooled connection may have died while it sat idle (the server restarted, the network cut
            # it): checked on checkout and replaced, the first request after an outage is not refused.
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(target, **kwargs)
        if target.get_backend_name() == "sqlite":
            own_sqlite_transactions(self.engine.sync_engine)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas(busy_timeout))
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession)
        # SQLite has one writer at a time. Inside this process, transactions take turns on this lock rather
        # than on SQLite's busy handler, which sleeps in steps of up to 100 ms between tries (other
        # processes still meet the busy timeout). PostgreSQL locks rows, so it needs none.
        self._turn: asyncio.Lock | None = asyncio.Lock() if target.get_backend_name() == "sqlite" else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The open unit of work's session, or a session of its own; driver errors become StorageError."""
        shared = _unit.get()
        if shared is not None:
            yield _UnitSession(shared)  # type: ignore[misc]
            return
        async with self._taking_turns(), _mapped(), self.sessions() as s:
            yield s

    @asynccontextmanager
    async def _taking_turns(self) -> AsyncIterator[None]:
        if self._turn is None:
            yield
            return
        async with self._turn:
            yield

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        """One transaction for everything the repositories do inside it: all of it commits, or none.

        Nested units join the outer one. Work inside must not start tasks that touch the database:
        they would share the session.
        """
        if _unit.get() is not None:
            yield
            return
        async with self._taking_turns(), _mapped(), self.sessions() as s:
            token, later = _unit.set(s), _later.set([])
            try:
                yield
                await self.write_later()
                await s.commit()
            finally:
                _unit.reset(token)
                _later.reset(later)

    async def insert_later(self, table: type[Any], values: dict[str, Any]) -> None:
        """Insert a row nobody reads back in the same transaction (an audit row): inside a unit it is
        written with the unit's other such rows in one statement at its end; outside, at once."""
        pending = _later.get()
        if pending is not None:
            pending.append((table, values))
            return
        async with self.session() as s:
            await s.execute(insert(table.__table__), [values])
            await s.commit()

    async def write_later(self) -> None:
        """Write the unit's deferred rows now (before a read that must see them); one statement per table."""
        pending, session = _later.get(), _unit.get()
        if not pending or session is None:
            return
        by_table: dict[type[Any], list[dict[str, Any]]] = {}
        for table, values in pending:
            by_table.setdefault(table, []).append(values)
        pending.clear()
        for entity, rows in by_table.items():
            # Core's executemany on the table: the ORM's bulk insert would split the rows into groups.
            await session.execute(insert(entity.__table__), rows)

    async def close(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def _mapped() -> AsyncIterator[None]:
    """Every SQLAlchemy and driver error leaves storage as StorageError, whatever the database."""
    try:
        yield
    except StorageError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"database error: {type(getattr(exc, 'orig', exc)).__name__}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    # The driver's own message ("database is locked"), never the statement or its parameters.
    orig = getattr(exc, "orig", None) or exc
    return _safe(orig)[:200] if isinstance(orig, Exception) else ""


def own_sqlite_transactions(engine: Any) -> None:
    """SQLAlchemy's recipe for pysqlite/aiosqlite on a sync engine: the driver opens no transactions of its
    own and every transaction starts with our BEGIN, so DDL, savepoints and reads share one transaction."""
    event.listen(engine, "connect", _no_driver_transactions)
    event.listen(engine, "begin", _sqlite_begin)


def _no_driver_transactions(dbapi_conn: Any, _record: object) -> None:
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    # SQLAlchemy's recipe for pysqlite/aiosqlite: the driver opens no transactions of its own (see the
    # connect hook), we BEGIN here, so savepoints and a unit's reads and writes share one transaction.
    # IMMEDIATE takes the write lock at the start: with several connections, a deferred transaction
    # that read first could not upgrade to a writer later without failing at once.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(busy_timeout: float) -> Any:
    def connect(dbapi_conn: Any, _record: object) -> None:
        # WAL lets `rapport escalations list` read while `rapport run` writes; foreign keys are off by
        # default in SQLite. synchronous=NORMAL is the WAL setting SQLite recommends: a commit survives a
        # crash of the process (the guarantee "stored before acknowledged" needs) and only a power cut can
        # lose the last commits; FULL costs an fsync per commit, several per message. The busy timeout is
        # short on purpose: a platform waiting for its acknowledgement is better told "retry" than kept
        # waiting past its own timeout.
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    return connect
