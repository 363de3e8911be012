"""conversation state on escalations: who holds the conversation, details captured, last acknowledgement

`conversation_state` is waiting_for_details or with_person while the case is active (resolved cases
read as resolved); `details` is a JSON object of what the customer was asked for and gave (an order
number); `acked_at` is when the bot last acknowledged a follow-up, so a burst of messages gets one.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("conversation_state", sa.String(30), nullable=False, server_default="with_person"))
        batch.add_column(sa.Column("details", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("acked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("acked_at")
        batch.drop_column("details")
        batch.drop_column("conversation_state")
