"""The operational store: SQLAlchemy 2 over SQLite (default) or PostgreSQL, Alembic migrations,
readers and the audited unit of work."""

from pmpath.adapters.store.database import Store
from pmpath.adapters.store.unit_of_work import Reader, UnitOfWork

__all__ = ["Reader", "Store", "UnitOfWork"]
