"""Engine set-up and migrations. One URL in config; async drivers for the app, sync ones for Alembic."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, pool
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError
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
        where = f" {_sqlite_file(url)}" if _sqlite_file(url) else ""
        raise StorageError(f"database migration failed{where}: {type(exc).__name__}: {_safe(exc)}") from None


def current_revision(url: str) -> str | None:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _sqlite_file(url: str) -> str | None:
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def _check_sqlite_folder(url: str) -> None:
    path = _sqlite_file(url)
    if path is not None and not Path(path).expanduser().resolve().parent.is_dir():
        raise StorageError(f"cannot open SQLite database {path}: the folder {Path(path).parent} does not exist")


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic is synchronous, so it runs in a thread)."""
    await asyncio.to_thread(upgrade_sync, url, revision)


async def commit_unique(session: AsyncSession) -> bool:
    """Commit; False (and rolled back) when a concurrent writer took a unique key first."""
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


def _safe(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:300]


class Database:
    """Owns the async engine and hands out sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        target = async_url(url)
        kwargs: dict[str, object] = {}
        if target.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": 30}
        self.engine: AsyncEngine = create_async_engine(target, **kwargs)
        if target.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    # WAL lets `rapport escalations list` read while `rapport run` writes; foreign keys are off by
    # default in SQLite. synchronous=NORMAL is the WAL setting SQLite recommends: a commit survives a
    # crash of the process (the guarantee "stored before acknowledged" needs) and only a power cut can
    # lose the last commits; FULL costs an fsync per commit, several per message.
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
