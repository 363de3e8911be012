"""Persistence: SQLAlchemy tables, Alembic migrations, and the repository that speaks domain objects."""

from bot.storage.database import Database, upgrade
from bot.storage.repository import Repository

__all__ = ["Database", "Repository", "upgrade"]
