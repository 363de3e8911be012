"""Alembic environment: runs migrations on the URL Rapport passes in (never one from a file)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, func, pool, select

from bot.storage.database import own_sqlite_transactions
from bot.storage.tables import Base
from bot.storage.turns import LOCK_SPACE

MIGRATING = 2  # advisory lock key in LOCK_SPACE: one migrating process at a time on PostgreSQL

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    if connectable.dialect.name == "sqlite":
        # pysqlite opens no transaction before DDL, so a kill between two CREATE TABLEs left a half-built
        # schema ("table already exists" ever after); with our own BEGIN all migrations commit together.
        own_sqlite_transactions(connectable)

    with connectable.connect() as connection:
        # Batch mode lets later migrations alter SQLite tables (which has no ALTER COLUMN). Alembic takes
        # SQLite for a database without transactional DDL and commits after each migration, so a kill
        # between two left an intermediate revision; with our own BEGIN SQLite's DDL is transactional,
        # and saying so makes one transaction of the whole upgrade, as on PostgreSQL.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, transactional_ddl=True
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # N workers and a gateway started at once on a fresh database would each run the migrations
                # and all but one fail ("duplicate key"). The others wait here, then find the schema current.
                connection.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, MIGRATING)))
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
