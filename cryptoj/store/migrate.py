"""Apply Alembic migrations from code: on start (`open_store`) and through `cryptoj db upgrade`."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from cryptoj.config import Settings
from cryptoj.store.engine import READ_ONLY_OPTION, create_database_folder, create_store_engine, sqlite_file
from cryptoj.store.errors import MigrationError

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "database_exists",
    "head_revision",
    "is_known_revision",
    "open_store",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The PostgreSQL advisory lock migrations hold (any fixed 64-bit number; this one spells "cryptoj").
_MIGRATION_LOCK_KEY = 0x637279_70746F6A


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision the code knows (read once per process: the packaged scripts do not change)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise MigrationError("no migrations are packaged")
    return head


def is_known_revision(revision: str) -> bool:
    """Whether this code's migrations know `revision` (one it does not was stamped by a newer CryptoJ)."""
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        return False
    return True


def database_exists(engine: Engine) -> bool:
    """False for a SQLite file that is not there yet (checked without creating it); PostgreSQL: True."""
    path = sqlite_file(engine)
    return path is None or path.exists()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty one, or a SQLite file not made yet: nothing is created)."""
    if not database_exists(engine):
        return None  # opening it would create an empty file
    try:
        with engine.connect() as connection:
            # A read: on SQLite it must not queue behind a running writer for the write lock.
            connection.execution_options(**{READ_ONLY_OPTION: True})
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise MigrationError(f"cannot read the schema revision: {_describe(exc)}") from exc


def upgrade(engine: Engine, *, revision: str = "head") -> str:
    """Bring the schema to `revision` in one transaction; returns the revision reached.

    On SQLite the database's folder and file are made here, the one place that writes a new database.
    """
    create_database_folder(engine)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Workers starting together take turns: the second finds the schema migrated and does nothing.
                # (SQLite needs no lock: the engine's BEGIN IMMEDIATE already serializes writers.)
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except CommandError as exc:
        # A revision stamp the code does not know: a newer CryptoJ migrated this database.
        raise MigrationError(f"migration to {revision} failed: {exc}") from exc
    except SQLAlchemyError as exc:
        raise MigrationError(f"migration to {revision} failed: {_describe(exc)}") from exc
    reached = current_revision(engine)
    if reached is None:  # pragma: no cover - command.upgrade always stamps
        raise MigrationError("migration left no revision stamp")
    return reached


def _describe(exc: SQLAlchemyError) -> str:
    # The driver's own error says what failed (refused, no such database, bad password: never the password
    # itself, no SQL, no parameters); SQLAlchemy's wraps it. Its first line is enough for an operator.
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, BaseException) else exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__


def open_store(settings: Settings) -> Engine:
    """The engine the settings name, with the schema brought up to date: what every service calls on start."""
    engine = create_store_engine(settings)
    try:
        # A store already at the head is the common case (every flow run opens one): reading the revision
        # costs a query, running Alembic's upgrade to find nothing to do cost a tenth of a second.
        if not database_exists(engine) or current_revision(engine) != head_revision():
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
