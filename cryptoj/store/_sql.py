"""Small SQL helpers shared by the repositories: dialect upserts, chunking, error translation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from cryptoj.store.errors import DuplicateRecord, InvalidRecord, UnknownReference

__all__ = ["chunks", "insert_for", "translate_integrity"]

T = TypeVar("T")


def insert_for(connection: Connection, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on this connection's dialect (SQLite or PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunks(rows: Sequence[T], *, columns: int, connection: Connection) -> Iterator[Sequence[T]]:
    """Slices of `rows` small enough that one multi-row INSERT stays under the driver's parameter limit."""
    # SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535; stay well under both.
    limit = 30_000 if connection.dialect.name == "sqlite" else 60_000
    size = max(1, limit // max(1, columns))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


@contextmanager
def translate_integrity(what: str) -> Iterator[None]:
    """Turn a constraint violation into the store error it means, naming `what` was being written."""
    try:
        yield
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        if "foreign key" in text:
            raise UnknownReference(f"{what} refers to a product, order or cycle that is not stored") from exc
        if "unique" in text or "duplicate" in text:
            raise DuplicateRecord(f"{what} duplicates a stored record") from exc
        raise InvalidRecord(f"{what} breaks a database constraint: {type(exc.orig).__name__}") from exc
