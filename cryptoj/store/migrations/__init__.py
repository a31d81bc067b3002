"""Alembic migrations of the CryptoJ schema, run from code (see `cryptoj.store.migrate`)."""
