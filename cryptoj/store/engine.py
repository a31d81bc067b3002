"""The engine from `Settings`: SQLite in WAL mode under the CryptoJ home folder, or PostgreSQL through psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from cryptoj.config import Settings
from cryptoj.errors import ConfigurationError

__all__ = [
    "DURABLE_OPTION",
    "READ_ONLY_OPTION",
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_database_folder",
    "create_store_engine",
    "database_url",
    "describe_url",
    "sqlite_file",
]

# How long a SQLite writer waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# The execution option that makes a connection's transactions read-only (see `UnitOfWork(read_only=True)`).
READ_ONLY_OPTION = "cryptoj_read_only"
# Where a pooled SQLite connection remembers the pragmas its transactions last set.
_PRAGMAS_APPLIED = "cryptoj_pragmas"
# The execution option that makes a connection's commits durable (see `UnitOfWork(durable=True)`).
DURABLE_OPTION = "cryptoj_durable"


def database_url(settings: Settings) -> URL:
    """The SQLAlchemy URL the settings name: `CRYPTOJ_DATABASE_URL`, else SQLite at `settings.sqlite_path`.

    `postgresql://` and `postgres://` mean psycopg 3; any other backend is a `ConfigurationError`.
    """
    if settings.database_url is None:
        return URL.create("sqlite+pysqlite", database=str(settings.sqlite_path))
    raw = settings.database_url.get_secret_value().strip()
    try:
        url = make_url(raw)
    except ArgumentError:
        # The URL may hold a password: say what is wrong, never echo it.
        raise ConfigurationError(
            "database_url is not a database URL (expected postgresql+psycopg://user:password@host/db)"
        ) from None
    except ValueError:  # SQLAlchemy parses the port with int()
        raise ConfigurationError(
            "database_url: its port is not a number between 1 and 65535 (postgresql+psycopg://user:password@host:5432/db)"
        ) from None
    if url.port is not None and not 1 <= url.port <= 65535:
        raise ConfigurationError(f"database_url: port {url.port} is not between 1 and 65535: {describe_url(url)}")
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        url = url.set(drivername="postgresql+psycopg")
        if not url.database:
            raise ConfigurationError(f"database_url names no database: {describe_url(url)}")
        return url
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if url.host or url.username or url.password or url.port:
            # SQLAlchemy would refuse it at the first connection, with a traceback (seen: `sqlite://u:pw@/x.db`).
            raise ConfigurationError(
                "database_url: a SQLite URL names a file, not a user, host or port "
                f"(sqlite:///relative/path.db or sqlite:////absolute/path.db); got {describe_url(url)}"
            )
        if not url.database or url.database == ":memory:":
            raise ConfigurationError("database_url: an in-memory SQLite database would lose everything; give a file")
        return url.set(drivername="sqlite+pysqlite")
    raise ConfigurationError(
        f"database_url uses {url.drivername!r}: CryptoJ supports postgresql+psycopg and sqlite; got {describe_url(url)}"
    )


def describe_url(url: URL) -> str:
    """The URL with its password masked, safe to print or log."""
    return url.render_as_string(hide_password=True)


def create_store_engine(
    settings: Settings, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **engine_options: Any
) -> Engine:
    """Build the engine the settings name: nothing is opened, created or changed yet.

    SQLite: every connection runs in WAL mode with foreign keys on, and every
    transaction but a read-only one starts with BEGIN IMMEDIATE, so two writers queue on the lock instead
    of failing when a read turns into a write; one waits up to `sqlite_busy_timeout_ms` for the other,
    then the unit of work raises `StoreUnavailable`. The file and its folder are made by `upgrade`
    (`open_store`), so a reader never creates an empty database. PostgreSQL: psycopg 3 with pre-ping, so a
    restarted server costs no error.
    """
    url = database_url(settings)
    if url.drivername.startswith("sqlite"):
        return _sqlite_engine(url, busy_timeout_ms=sqlite_busy_timeout_ms, **engine_options)
    engine = create_engine(url, pool_pre_ping=True, **engine_options)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A durable transaction's COMMIT returns once its WAL is flushed, even where the server runs with
        # synchronous_commit off (then a crash loses the last commits). Only "off" is raised: "local" flushes
        # too, and the remote levels ask for more. is_local: for this transaction only.
        if connection.get_execution_options().get(DURABLE_OPTION):
            connection.exec_driver_sql(
                "SELECT set_config('synchronous_commit', 'on', true)"
                " WHERE current_setting('synchronous_commit') = 'off'"
            )

    return engine


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite engine's database (None on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return None
    return Path(engine.url.database or "")


def create_database_folder(engine: Engine) -> None:
    """Make the folder a SQLite database goes in (nothing on PostgreSQL); what a writer does before it writes."""
    path = sqlite_file(engine)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot create the database folder {path.parent}: {exc.strerror}") from None


def _sqlite_engine(url: URL, *, busy_timeout_ms: int, **engine_options: Any) -> Engine:
    path = Path(url.database or "").expanduser()
    engine = create_engine(url.set(database=str(path)), **engine_options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A reader (`UnitOfWork(read_only=True)`) takes no lock: in WAL mode it reads the last committed state
        # while a writer works, and query_only makes any write it tries fail. Set on every begin, since pooled
        # connections serve readers and writers in turn; so is the sync level. NORMAL syncs the WAL only at
        # checkpoints: a commit survives the process dying, but power loss may take the last ones. FULL syncs
        # the WAL before COMMIT returns (`UnitOfWork(durable=True)`, the write that precedes a send).
        # The pragmas last as long as the connection: each is sent only when this transaction needs it changed
        # (they cost two statements a transaction otherwise, a fifth of a trading cycle's).
        options = connection.get_execution_options()
        read_only = bool(options.get(READ_ONLY_OPTION))
        wanted = {
            "synchronous": "FULL" if options.get(DURABLE_OPTION) else "NORMAL",
            "query_only": "ON" if read_only else "OFF",
        }
        applied: dict[str, str] = connection.connection.info.setdefault(_PRAGMAS_APPLIED, {})
        for name, value in wanted.items():
            if applied.get(name) != value:
                applied.pop(name, None)  # unknown until the pragma has run
                connection.exec_driver_sql(f"PRAGMA {name}={value}")
                applied[name] = value
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
