"""Alembic environment: always run with a connection handed in by ``Database.upgrade``."""

from __future__ import annotations

from alembic import context

from digests.store.models import Base, is_mapped_table

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline SQL generation is not used
    raise RuntimeError("run migrations through `newsdigest db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=lambda name, kind, _parent: kind != "table" or is_mapped_table(name),
)
with context.begin_transaction():
    context.run_migrations()
