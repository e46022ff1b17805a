"""Alembic environment: always run with a connection handed in by ``Database.upgrade``."""

from __future__ import annotations

from alembic import context

from digests.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline SQL generation is not used
    raise RuntimeError("run migrations through `newsdigest db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
