"""`rapport db upgrade` killed with SIGKILL while it migrates: the database is left at the old revision or
the new one, never between, and the next upgrade finishes the job (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from bot.storage.database import alembic_config, current_revision, sync_url, upgrade_sync
from bot.storage.tables import Base

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
# Kill this long after the migration is seen to start: spread over its run (tens of milliseconds).
DELAYS = (0.0, 0.02, 0.06, 0.15)


def started(url: str) -> bool:
    """Whether the upgrade is migrating: SQLite's rollback journal exists only inside a write transaction;
    on PostgreSQL, the upgrade's connection shows up in pg_stat_activity."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(f"{parsed.database}-journal").exists()
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            count = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).scalar()
            return bool(count)
    finally:
        engine.dispose()


def tables_and_columns(url: str) -> dict[str, set[str]]:
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}
    finally:
        engine.dispose()


def upgrade_killed_after(url: str, tmp_path: Path, delay: float) -> None:
    config = tmp_path / "rapport.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DISCORD_", "SLACK_", "X_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "db", "upgrade", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and not started(url) and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_a_killed_upgrade_leaves_the_old_or_the_new_revision_never_between(database_url: str, tmp_path: Path) -> None:
    full = {t.name: {c.name for c in t.columns} for t in Base.metadata.sorted_tables}
    outcomes = []
    for start in (None, "0002"):  # from an empty database, and from an older revision
        for delay in DELAYS:
            engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
            with engine.begin() as conn:  # back to `start`: drop everything, then migrate to it
                meta = sa.MetaData()
                meta.reflect(conn)
                meta.drop_all(conn)
            engine.dispose()
            before: dict[str, set[str]] = {}
            if start is not None:
                upgrade_sync(database_url, start)
                before = tables_and_columns(database_url)
            upgrade_killed_after(database_url, tmp_path, delay)
            revision = current_revision(database_url)
            schema = {t: cols for t, cols in tables_and_columns(database_url).items() if t != "alembic_version"}
            assert revision in (start, HEAD), f"killed {delay}s in: left at {revision}"
            if revision == HEAD:
                assert schema == full
            elif start is None:
                assert schema == {}, f"killed {delay}s in: revision empty but tables {sorted(schema)}"
            else:
                assert schema == {t: c for t, c in before.items() if t != "alembic_version"}
            outcomes.append(revision)
            assert upgrade_sync(database_url)[1] == HEAD  # and the next upgrade finishes the job
    print("revisions after each kill:", outcomes)
