"""Trust: user keys and sign-in state, Ed25519 signatures, login sessions, audit checkpoints,
the workspace key check.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:10:00

Signatures made before this revision get empty Ed25519 fields: ``pmpath audit verify`` reports
them as unverifiable from a public key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from pmpath.adapters.store.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_key_ed25519", sa.Text(), nullable=True))
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("private_key_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("failed_logins_at", _JSON, nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("locked_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public_key_ed25519", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("signature_ed25519", sa.Text(), nullable=False, server_default="")
        )
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("token_sha256", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_login_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_sha256", sa.Text(), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("signer", sa.Text(), nullable=False),
        sa.Column("public_key_ed25519", sa.Text(), nullable=False),
        sa.Column("signature_ed25519", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "workspace_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key_check", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_keys")),
    )


def downgrade() -> None:
    op.drop_table("workspace_keys")
    op.drop_table("audit_checkpoints")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_user_id"))
    op.drop_table("login_sessions")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("signature_ed25519")
        batch_op.drop_column("public_key_ed25519")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_column("locked_at")
        batch_op.drop_column("failed_logins_at")
        batch_op.drop_column("private_key_encrypted")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("public_key_ed25519")
