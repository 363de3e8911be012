"""staff tools: who is on shift for automatic assignment, and each person's round-robin turn

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_shifts",
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("on_shift", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("turns", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("actor"),
    )


def downgrade() -> None:
    op.drop_table("staff_shifts")
