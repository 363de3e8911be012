"""an index of the messages still waiting to be processed, by account

Workers look up a customer's earlier waiting messages before processing one (so a conversation is handled
in arrival order), and sweeps and `rapport status` read the waiting ones; the partial index holds only
those, so it stays small however many messages were processed.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "action = ''"


def upgrade() -> None:
    op.create_index(
        "ix_messages_waiting",
        "messages",
        ["channel", "author_id", "id"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_waiting", table_name="messages")
