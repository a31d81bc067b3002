"""Store errors: what went wrong with a write, and that nothing was written.

CryptojError
└── StoreError                  the store refused or could not do something
    ├── InvalidRecord           bad input (a negative size, a float, too many digits); fix the input
    ├── UnknownReference        a product, order or cycle the record points at is not stored
    ├── DuplicateRecord         a record with that key exists with different content
    ├── ConcurrentUpdate        another writer changed the record first; reload and decide again
    ├── StoreUnavailable        no transaction could be opened (server down, SQLite locked past the timeout)
    └── MigrationError          the schema could not be brought up to date; an operator has to look
"""

from __future__ import annotations

from cryptoj.errors import CryptojError

__all__ = [
    "ConcurrentUpdate",
    "DuplicateRecord",
    "InvalidRecord",
    "MigrationError",
    "StoreError",
    "StoreUnavailable",
    "UnknownReference",
]


class StoreError(CryptojError):
    """Base of every store error; the transaction that raised it was rolled back."""


class InvalidRecord(StoreError):
    """A value the store cannot keep exactly or that means nothing (negative size, float money)."""


class UnknownReference(StoreError):
    """The record names a product, order or cycle that is not stored: store that first."""


class DuplicateRecord(StoreError):
    """A record with the same key is stored already with different content."""


class ConcurrentUpdate(StoreError):
    """Another writer changed the record since it was read: reload it and decide again."""


class StoreUnavailable(StoreError):
    """No transaction could be opened: the server is unreachable, or SQLite stayed locked past the busy timeout.

    Nothing was read or written; trying again later is safe.
    """


class MigrationError(StoreError):
    """Alembic could not bring the schema to the current revision."""
