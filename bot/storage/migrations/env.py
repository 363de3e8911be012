"""Alembic environment: runs migrations on the URL Rapport passes in (never one from a file)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, event, pool

from bot.storage.tables import Base

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
        # schema ("table already exists" ever after). SQLAlchemy's recipe: the driver stays out of it and
        # every transaction begins with our own BEGIN, so all migrations commit together or not at all.
        @event.listens_for(connectable, "connect")
        def _no_driver_transactions(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None

        @event.listens_for(connectable, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    with connectable.connect() as connection:
        # Batch mode lets later migrations alter SQLite tables (which has no ALTER COLUMN).
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
