"""Adverse events of treated patients (pooled safety across a platform's patients).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:11:10.177390
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "adverse_events",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("onset_date_shifted", sa.Date(), nullable=False),
        sa.Column("causality", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_adverse_events_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adverse_events_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_events_case_id"))

    op.drop_table("adverse_events")
