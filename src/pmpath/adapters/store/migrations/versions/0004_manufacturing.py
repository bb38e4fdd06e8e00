"""Manufacturing: platform specifications, deviations, custody records; batch record fields.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from pmpath.adapters.store.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "platform_specifications",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Text(), nullable=False),
        sa.Column("specification_id", sa.Text(), nullable=False),
        sa.Column("content", _JSON, nullable=False),
        sa.Column("source_sha256", sa.Text(), nullable=False),
        sa.Column("loaded_by", sa.Text(), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_platform_specifications_platform_id_platforms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_specifications")),
    )
    with op.batch_alter_table("platform_specifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_platform_specifications_platform_id"), ["platform_id"], unique=False
        )

    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("specification_id", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("materials", _JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("steps", _JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("disposition_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("disposition_signature_id", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_batches_specification_id"), ["specification_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_batches_specification_id_platform_specifications"),
            "platform_specifications",
            ["specification_id"],
            ["id"],
        )

    op.create_table(
        "deviations",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("test_ids", _JSON, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("investigation", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("raised_by", sa.Text(), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("signature_id", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_deviations_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deviations")),
    )
    with op.batch_alter_table("deviations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deviations_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "custody_records",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("chain_of_identity_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("shipment_id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("scanned", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_custody_records_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_custody_records_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_records")),
    )
    with op.batch_alter_table("custody_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custody_records_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_custody_records_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("custody_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_records_case_id"))
        batch_op.drop_index(batch_op.f("ix_custody_records_batch_id"))
    op.drop_table("custody_records")
    with op.batch_alter_table("deviations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deviations_batch_id"))
    op.drop_table("deviations")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_batches_specification_id_platform_specifications"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_batches_specification_id"))
        batch_op.drop_column("disposition_signature_id")
        batch_op.drop_column("disposition_reason")
        batch_op.drop_column("steps")
        batch_op.drop_column("materials")
        batch_op.drop_column("expires_on")
        batch_op.drop_column("specification_id")
    with op.batch_alter_table("platform_specifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_platform_specifications_platform_id"))
    op.drop_table("platform_specifications")
