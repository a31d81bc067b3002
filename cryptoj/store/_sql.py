"""Small SQL helpers shared by the repositories: dialect upserts and constraint-error translation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from cryptoj.store.errors import DuplicateRecord, InvalidRecord, UnknownReference

__all__ = ["insert_for", "translate_integrity"]


def insert_for(connection: Connection, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on this connection's dialect (SQLite or PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@contextmanager
def translate_integrity(what: str) -> Iterator[None]:
    """Turn a constraint violation into the store error it means, naming `what` was being written."""
    try:
        yield
    except (IntegrityError, psycopg.IntegrityError) as exc:
        # SQLAlchemy wraps the driver's error; the PostgreSQL COPY path raises psycopg's own.
        cause = exc.orig if isinstance(exc, IntegrityError) else exc
        text = str(cause).lower()
        if "foreign key" in text:
            raise UnknownReference(f"{what} refers to a product, order or cycle that is not stored") from exc
        if "unique" in text or "duplicate" in text:
            raise DuplicateRecord(f"{what} duplicates a stored record") from exc
        raise InvalidRecord(f"{what} breaks a database constraint: {type(cause).__name__}") from exc
