"""one active escalation per conversation, enforced by a partial unique index

Concurrent messages of one conversation could each open an escalation. Before the index is created,
any such duplicates are folded into the oldest active one: their messages move to it and they are
marked resolved, with the reason saying so.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('open', 'claimed')"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(f"SELECT id, customer_id, channel, conversation_id FROM escalations WHERE {ACTIVE} ORDER BY id")
    ).all()
    keep: dict[tuple[int, str, str], int] = {}
    for esc_id, customer_id, channel, conversation_id in rows:
        key = (customer_id, channel, conversation_id)
        if key not in keep:
            keep[key] = esc_id
            continue
        kept = keep[key]
        bind.execute(
            sa.text("UPDATE messages SET escalation_id = :kept WHERE escalation_id = :dup"),
            {"kept": kept, "dup": esc_id},
        )
        bind.execute(
            sa.text("UPDATE escalations SET status = 'resolved', reason = reason || :note WHERE id = :dup"),
            {"note": f" (merged into #{kept}: one active escalation per conversation)", "dup": esc_id},
        )
    op.create_index(
        "uq_escalations_active_conversation",
        "escalations",
        ["customer_id", "channel", "conversation_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_escalations_active_conversation", table_name="escalations")
