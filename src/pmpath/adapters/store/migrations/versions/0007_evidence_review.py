"""Evidence review: an evidence item's status (recorded, accepted, rejected, superseded).

Existing evidence becomes ``recorded``: it counts toward an element only once a reviewer
accepts it (``pmpath evidence accept``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pmpath.adapters.store.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=40), nullable=False, server_default="recorded")
        )
        batch_op.add_column(
            sa.Column("status_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("status_by", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("status_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("review_signature_id", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("superseded_by", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        for name in (
            "superseded_by",
            "review_signature_id",
            "status_at",
            "status_by",
            "status_reason",
            "status",
        ):
            batch_op.drop_column(name)
