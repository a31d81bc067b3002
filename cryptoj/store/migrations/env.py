"""Alembic environment: runs on the connection `cryptoj.store.migrations` hands over, never reads alembic.ini."""

from __future__ import annotations

from alembic import context

from cryptoj.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
