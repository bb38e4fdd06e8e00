"""Alembic environment: runs on the connection pmpath passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from pmpath.adapters.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - pmpath always passes its connection
    raise RuntimeError("run migrations through pmpath (Store.upgrade), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
