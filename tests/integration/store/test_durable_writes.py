"""`UnitOfWork(engine, durable=True)`: the intent stored before a send survives a crash right after its commit.

SQLite runs with synchronous=NORMAL, which in WAL mode may lose the last commits on power loss; a durable unit
of work commits with synchronous=FULL (the WAL synced before COMMIT returns). PostgreSQL may run with
synchronous_commit off (the test cluster does, as a server tuned for speed would); a durable unit of work turns
it on for its own transaction. Power loss cannot be staged here: the tests check the setting each transaction
runs with, kill the writing process right after its commit, and on PostgreSQL crash the server too.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from cryptoj.config import Settings, load_settings
from cryptoj.store import StoreError, UnitOfWork, create_store_engine, upgrade
from tests.utils.fixtures.store import PgCluster, as_postgres, limit_order, own_cluster, store_products

pytestmark = pytest.mark.integration

# The writer: store an order intent durably, say so, and die at once, as a crash right after the commit would.
WRITER = """
import os, signal, sys
from cryptoj.config import load_settings
from cryptoj.store import UnitOfWork, create_store_engine
from tests.utils.fixtures.store import limit_order

engine = create_store_engine(load_settings(home=sys.argv[1], database_url=sys.argv[2]))
with UnitOfWork(engine, durable=True) as uow:
    uow.orders.save(limit_order("intent-before-send"))
    uow.commit()
print("committed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _commit_durably_then_die(settings: Settings) -> None:
    assert settings.database_url is not None
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(settings.home), settings.database_url.get_secret_value()],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],  # so the writer imports `tests`
    )
    assert done.stdout == "committed\n", done.stderr
    assert done.returncode == -signal.SIGKILL


def _stored(engine: Engine) -> bool:
    with UnitOfWork(engine, read_only=True) as uow:
        return uow.orders.get("intent-before-send") is not None


def _setting(uow: UnitOfWork) -> str:
    """What this transaction commits with: SQLite's synchronous level, PostgreSQL's synchronous_commit."""
    if uow.connection.dialect.name == "sqlite":
        level = uow.connection.exec_driver_sql("PRAGMA synchronous").scalar_one()
        return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[level]
    return str(uow.connection.exec_driver_sql("SHOW synchronous_commit").scalar_one())


def _dbapi(uow: UnitOfWork) -> object:
    return uow.connection.connection.dbapi_connection


def test_a_durable_unit_of_work_commits_synced_and_the_next_one_runs_as_configured(store_engine: Engine) -> None:
    durable, usual = ("FULL", "NORMAL") if store_engine.dialect.name == "sqlite" else ("on", "off")
    store_products(store_engine, "BTC-USD")
    with UnitOfWork(store_engine) as uow:
        assert _setting(uow) == usual  # the test cluster runs with synchronous_commit off
        connection = _dbapi(uow)
    with UnitOfWork(store_engine, durable=True) as uow:
        assert _dbapi(uow) is connection  # the same pooled connection, so the setting is per transaction
        assert _setting(uow) == durable
        uow.orders.save(limit_order("intent-before-send"))
        uow.commit()
    with UnitOfWork(store_engine) as uow:
        assert _dbapi(uow) is connection
        assert _setting(uow) == usual
    assert _stored(store_engine)


def test_a_read_only_unit_of_work_cannot_be_durable(store_engine: Engine) -> None:
    with pytest.raises(StoreError, match="read-only unit of work writes nothing to make durable"):
        UnitOfWork(store_engine, read_only=True, durable=True)


def test_sqlite_a_durable_intent_survives_its_writer_killed_right_after_the_commit(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'cryptoj.db'}")
    engine = create_store_engine(settings)
    try:
        upgrade(engine)
        store_products(engine, "BTC-USD")
        _commit_durably_then_die(settings)
        assert _stored(engine)
    finally:
        engine.dispose()


@pytest.fixture
def crashable_cluster() -> Iterator[tuple[Path, PgCluster]]:
    """A PostgreSQL cluster of its own, to crash: asynchronous commit, its WAL writer waking every 10 s.

    Stopped in immediate mode (no checkpoint, WAL buffers lost, as in a crash), an asynchronous commit from
    the last 10 s is lost (seen: with the durable setting disabled this test fails), while a synchronous one
    was written out before COMMIT returned.
    """
    with own_cluster(extra_options="-c wal_writer_delay=10000ms") as cluster:
        yield cluster


def _pg_ctl(bin_dir: Path, root: Path, *args: str) -> None:
    command = as_postgres([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-w", *args])
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@pytest.mark.postgres
def test_postgresql_a_durable_intent_survives_its_writer_killed_and_the_server_crashed(
    crashable_cluster: tuple[Path, PgCluster], tmp_path: Path
) -> None:
    bin_dir, cluster = crashable_cluster
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE cryptoj"))
    admin.dispose()
    settings = load_settings(home=tmp_path, database_url=cluster.url("cryptoj"))
    engine = create_store_engine(settings)
    upgrade(engine)
    store_products(engine, "BTC-USD")
    engine.dispose()
    _commit_durably_then_die(settings)
    # The server crashes right after: immediate stop, no checkpoint; then it recovers from its WAL.
    _pg_ctl(bin_dir, cluster.socket_dir, "stop", "-m", "immediate")
    options = f"-k {cluster.socket_dir} -p {cluster.port} -c listen_addresses=''"
    _pg_ctl(bin_dir, cluster.socket_dir, "-l", str(cluster.socket_dir / "server.log"), "-o", options, "start")
    engine = create_store_engine(settings)
    try:
        assert _stored(engine)
    finally:
        engine.dispose()
