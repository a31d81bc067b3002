"""Small SQL helpers shared by the repositories: dialect upserts and constraint-error translation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError

from cryptoj.store.errors import DuplicateRecord, InvalidRecord, StoreError, UnknownReference

__all__ = ["atomic_write", "insert_for", "translate_integrity"]


def insert_for(connection: Connection, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on this connection's dialect (SQLite or PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@contextmanager
def translate_integrity(what: str) -> Iterator[None]:
    """Turn a database error into the store error it means, naming `what` was being written.

    A constraint violation becomes the bad-input error it means; any other failure of the database (a
    trigger, a lost connection, a cancelled statement) a plain `StoreError`, the same on the statement
    path (SQLAlchemy's errors) and the PostgreSQL COPY path (psycopg's own).
    """
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
    except (DBAPIError, psycopg.Error) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        # The driver's class names the failure; its text may quote the SQL and the rows, so it stays in the chain.
        raise StoreError(f"{what} failed in the database: {type(cause).__name__}") from exc


@contextmanager
def atomic_write(connection: Connection, what: str) -> Iterator[None]:
    """One repository write, whole or not at all, inside the unit of work's transaction (a savepoint).

    Without it a failure part-way through a batch kept the rows before it on SQLite (a failed statement
    undoes only itself) and poisoned the whole transaction on PostgreSQL (the caller's earlier writes were
    then lost at commit): with it both databases keep everything before the failed write and nothing of it.
    Errors are translated as `translate_integrity` does.
    """
    savepoint = connection.begin_nested()
    try:
        with translate_integrity(what):
            yield
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()
