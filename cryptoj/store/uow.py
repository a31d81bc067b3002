"""The unit of work: one transaction, with every repository on it; rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from cryptoj.store.engine import DURABLE_OPTION, READ_ONLY_OPTION
from cryptoj.store.errors import StoreError, StoreUnavailable
from cryptoj.store.fills import FillRepository
from cryptoj.store.market import CandleRepository, ProductRepository
from cryptoj.store.orders import CycleRepository, OrderRepository
from cryptoj.store.paper import PaperOrderRepository
from cryptoj.store.portfolio import PositionRepository, RiskRepository, SnapshotRepository

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """A transaction and the repositories that write in it.

    Use it as a context manager and call `commit()` at the end of the block; leaving the block any other
    way (an exception, a forgotten commit) rolls everything back, so a crash mid-write leaves nothing
    half-written.

    On SQLite every writing unit of work starts with BEGIN IMMEDIATE: it holds the database's single write
    lock until it ends, and waits for it (up to the engine's busy timeout, then `StoreUnavailable`) while
    another holds it, so keep each one short and never wait on the network inside one. A reader that
    needs no write, `read_only=True`, takes no lock and never waits for a writer: it sees the last
    committed state (WAL), and any write it tries fails with `StoreError`. On PostgreSQL it runs at READ
    COMMITTED (read-only transactions when asked), and an order save locks that order's row.

    A commit always survives the process dying. Surviving power loss or an OS crash too is what
    `durable=True` adds, for the write that must never be lost: the order intent stored before it is sent
    ("the intent is stored before it is sent"). On SQLite that commit syncs the WAL to disk before it
    returns (synchronous=FULL for this transaction; the others run at NORMAL, synced at checkpoints); on
    PostgreSQL it runs with synchronous_commit on even where the server turns it off. It costs a disk
    flush per commit (docs/performance.md), so the other writes (candles, snapshots) go without.

    Parameters:
        engine: from `cryptoj.store.open_store` (schema already migrated).
        read_only: for reads only (dashboards, reports, a strategy's inputs); `commit()` is refused.
        durable: `commit()` returns only once the writes would survive power loss.
    """

    def __init__(self, engine: Engine, *, read_only: bool = False, durable: bool = False) -> None:
        if read_only and durable:
            raise StoreError("a read-only unit of work writes nothing to make durable")
        self._engine = engine
        self._read_only = read_only
        self._durable = durable
        self._connection: Connection | None = None
        self._committed = False

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise StoreError("this unit of work is already open; use a new one per transaction")
        try:
            connection = self._engine.connect()
        except DBAPIError as exc:
            raise _unavailable(exc) from exc
        if self._read_only:
            connection.execution_options(**{READ_ONLY_OPTION: True, "postgresql_readonly": True})
        if self._durable:
            connection.execution_options(**{DURABLE_OPTION: True})
        try:
            connection.begin()
        except BaseException as exc:
            connection.close()  # back to the pool: a refused start holds nothing
            if isinstance(exc, DBAPIError):
                raise _unavailable(exc) from exc
            raise
        self._connection = connection
        self._committed = False
        self.products = ProductRepository(connection)
        self.candles = CandleRepository(connection)
        self.cycles = CycleRepository(connection)
        self.orders = OrderRepository(connection)
        self.fills = FillRepository(connection)
        self.positions = PositionRepository(connection)
        self.snapshots = SnapshotRepository(connection)
        self.risk = RiskRepository(connection)
        self.paper = PaperOrderRepository(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:  # pragma: no cover - __enter__ always sets it
            return
        try:
            if not self._committed:
                connection.rollback()
        finally:
            connection.close()

    @property
    def connection(self) -> Connection:
        """The open connection (for reads the repositories do not offer)."""
        if self._connection is None:
            raise StoreError("the unit of work is not open: use it in a `with` block")
        return self._connection

    @property
    def committed(self) -> bool:
        """Whether `commit()` ran in this block."""
        return self._committed

    def commit(self) -> None:
        """Make every write of this block permanent; the block may not write after this."""
        if self._read_only:
            raise StoreError("a read-only unit of work has nothing to commit; open one without read_only to write")
        try:
            self.connection.commit()
        except DBAPIError as exc:
            cause = exc.orig if exc.orig is not None else exc
            # A deferred check failing at COMMIT keeps nothing; a connection lost during COMMIT leaves it open
            # whether the server kept the writes.
            raise StoreError(
                f"commit failed: {type(cause).__name__} (on a lost connection, read back before writing again)"
            ) from exc
        self._committed = True

    def rollback(self) -> None:
        """Discard every write of this block so far (leaving the block does this unless committed)."""
        self.connection.rollback()
        self.connection.begin()


def _unavailable(exc: DBAPIError) -> StoreUnavailable:
    # The driver's class and first line say what failed (locked, refused, unknown database); no SQL, no password.
    cause = exc.orig if exc.orig is not None else exc
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return StoreUnavailable(f"cannot open a transaction: {type(cause).__name__}: {first_line}")
