"""Post-market surveillance: monitoring runs, safety signals, label change proposals.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from pmpath.adapters.store.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "monitoring_runs",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan_name", sa.Text(), nullable=False),
        sa.Column("plan_sha256", sa.Text(), nullable=False),
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("data_source", sa.Text(), nullable=False),
        sa.Column("engine", sa.Text(), nullable=False),
        sa.Column("cdm_version", sa.Text(), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("run_by", sa.Text(), nullable=False),
        sa.Column("n_looks", sa.Integer(), nullable=False),
        sa.Column("last_look_date", sa.Date(), nullable=True),
        sa.Column("n_signals", sa.Integer(), nullable=False),
        sa.Column("summary", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_runs")),
    )
    op.create_table(
        "safety_signals",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("plan_name", sa.Text(), nullable=False),
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("look", sa.Integer(), nullable=False),
        sa.Column("look_date", sa.Date(), nullable=False),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("statistic", sa.Float(), nullable=False),
        sa.Column("critical_value", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["monitoring_runs.id"],
            name=op.f("fk_safety_signals_run_id_monitoring_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_signals")),
    )
    with op.batch_alter_table("safety_signals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_signals_run_id"), ["run_id"], unique=False)
    op.create_table(
        "label_change_proposals",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("signal_id", sa.Text(), nullable=False),
        sa.Column("section", sa.Text(), nullable=False),
        sa.Column("proposed_text", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.Text(), nullable=False),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["safety_signals.id"],
            name=op.f("fk_label_change_proposals_signal_id_safety_signals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_change_proposals")),
    )
    with op.batch_alter_table("label_change_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_label_change_proposals_signal_id"), ["signal_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("label_change_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_change_proposals_signal_id"))
    op.drop_table("label_change_proposals")
    with op.batch_alter_table("safety_signals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_signals_run_id"))
    op.drop_table("safety_signals")
    op.drop_table("monitoring_runs")
