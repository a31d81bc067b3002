"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and run from code."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from cryptoj.config import Settings, load_settings
from cryptoj.store import (
    MigrationError,
    UnitOfWork,
    create_store_engine,
    current_revision,
    database_exists,
    head_revision,
    is_known_revision,
    open_store,
    upgrade,
)
from cryptoj.store.migrate import alembic_config
from cryptoj.store.tables import metadata
from tests.utils.fixtures.store import T0, btc_rules, fill_of, limit_order

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_database")]


@pytest.fixture
def fresh_database() -> None:
    """These tests change the schema, so each gets a PostgreSQL database of its own (see store_settings)."""


def _schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migrated_schema_matches_the_models(store_engine: Engine) -> None:
    assert _schema_diff(store_engine) == []


def test_the_database_is_at_the_newest_revision_after_upgrade(store_engine: Engine) -> None:
    assert current_revision(store_engine) == head_revision()
    assert upgrade(store_engine) == head_revision()  # a second run changes nothing
    assert _schema_diff(store_engine) == []


def test_downgrade_to_base_and_upgrade_again_restores_the_schema(store_engine: Engine) -> None:
    config = alembic_config()
    with store_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert current_revision(store_engine) is None
    assert set(inspect(store_engine).get_table_names()) <= {"alembic_version"}
    upgrade(store_engine)
    assert _schema_diff(store_engine) == []


def test_open_store_creates_the_home_folder_and_migrates_sqlite_in_wal_mode(tmp_path: Path) -> None:
    home = tmp_path / "not" / "there"
    engine = open_store(load_settings(home=home))
    try:
        assert (home / "cryptoj.db").is_file()
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_an_unreachable_postgresql_is_a_migration_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://trader:hunter2@/cryptoj?host={tmp_path}&port=1"
    with pytest.raises(MigrationError) as raised:
        open_store(load_settings(home=tmp_path, database_url=url))
    assert "hunter2" not in str(raised.value)
    engine = create_engine(url)
    with pytest.raises(MigrationError, match=r"cannot read the schema revision: OperationalError: .*No such file"):
        current_revision(engine)


def test_a_database_stamped_by_an_unknown_revision_is_a_migration_error(tmp_path: Path) -> None:
    engine = open_store(load_settings(home=tmp_path))
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'from-the-future'"))
        with pytest.raises(MigrationError, match="from-the-future"):
            upgrade(engine)
        assert current_revision(engine) == "from-the-future"
    finally:
        engine.dispose()


def test_two_workers_migrating_an_empty_database_at_once_both_succeed(store_settings: Settings) -> None:
    engines = [create_store_engine(store_settings) for _ in range(2)]
    try:
        with engines[0].begin() as connection:  # start from an empty database
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        start = threading.Barrier(2)

        def migrate(engine: Engine) -> str:
            start.wait(timeout=10)
            return upgrade(engine)

        with ThreadPoolExecutor(max_workers=2) as pool:
            assert list(pool.map(migrate, engines)) == [head_revision(), head_revision()]
        assert _schema_diff(engines[0]) == []
    finally:
        for engine in engines:
            engine.dispose()


def test_reading_the_revision_does_not_wait_for_a_writer(store_settings: Settings) -> None:
    engine = create_store_engine(store_settings, sqlite_busy_timeout_ms=50)
    try:
        with engine.begin() as writer:
            writer.execute(text("DELETE FROM risk_events"))  # holds SQLite's write lock until the block ends
            assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_reading_the_revision_of_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    engine = create_store_engine(load_settings(home=tmp_path / "home"))
    try:
        assert not database_exists(engine)
        assert current_revision(engine) is None
    finally:
        engine.dispose()
    assert not (tmp_path / "home").exists()


def test_the_packaged_revisions_are_known_and_others_are_not() -> None:
    assert is_known_revision(head_revision())
    assert not is_known_revision("f00dfeed9999")


def test_fills_stored_before_the_per_product_key_are_kept_and_a_second_product_may_reuse_their_trade_id(
    store_engine: Engine,
) -> None:
    with UnitOfWork(store_engine) as uow:
        for product_id in ("BTC-USD", "ETH-USD"):
            uow.products.upsert(btc_rules(product_id), at=T0)
        btc, eth = limit_order("btc-order"), limit_order("eth-order", product_id="ETH-USD")
        uow.orders.save(btc)
        uow.orders.save(eth)
        kept = fill_of(btc, "7")
        uow.fills.add([kept])
        uow.commit()
    config = alembic_config()
    with store_engine.begin() as connection:  # back to fills keyed on the trade id alone, then up again
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    upgrade(store_engine)
    with UnitOfWork(store_engine) as uow:
        assert uow.fills.for_order("btc-order") == [kept]
        assert uow.fills.add([fill_of(eth, "7")]) != []  # ETH-USD's trade 7 is another trade
        uow.commit()
    with UnitOfWork(store_engine, read_only=True) as uow:
        assert [f.product_id for f in uow.fills.for_order("btc-order") + uow.fills.for_order("eth-order")] == [
            "BTC-USD",
            "ETH-USD",
        ]
