"""The unit of work commits only when told to; anything else rolls every write back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, QueuePool, event, text

from cryptoj.config import Settings, load_settings
from cryptoj.store import StoreError, StoreUnavailable, UnitOfWork, UnknownReference, create_store_engine
from cryptoj.store.engine import SQLITE_BUSY_TIMEOUT_MS
from tests.utils.fixtures.store import T0, bar, btc_rules

pytestmark = pytest.mark.integration


def _stored_products(engine: Engine) -> list[str]:
    with UnitOfWork(engine) as uow:
        return [rules.product_id for rules in uow.products.all()]


def test_writes_are_kept_only_after_commit(store_engine: Engine) -> None:
    with UnitOfWork(store_engine) as uow:
        uow.products.upsert(btc_rules(), at=T0)
        assert not uow.committed
    assert _stored_products(store_engine) == []
    with UnitOfWork(store_engine) as uow:
        uow.products.upsert(btc_rules(), at=T0)
        uow.commit()
        assert uow.committed
    assert _stored_products(store_engine) == ["BTC-USD"]


def test_an_error_mid_write_leaves_nothing_half_written(store_engine: Engine) -> None:
    def write_then_fail() -> None:
        with UnitOfWork(store_engine) as uow:
            uow.products.upsert(btc_rules("ETH-USD"), at=T0)
            uow.candles.upsert("ETH-USD", "ONE_MINUTE", [bar(0)])
            uow.candles.upsert("DOGE-USD", "ONE_MINUTE", [bar(0)])  # raises: DOGE-USD is not stored
            uow.commit()

    with pytest.raises(UnknownReference):
        write_then_fail()
    assert _stored_products(store_engine) == []
    with UnitOfWork(store_engine) as uow:
        assert uow.candles.latest("ETH-USD", "ONE_MINUTE") is None


def test_rollback_discards_the_writes_so_far_and_the_block_goes_on(store_engine: Engine) -> None:
    with UnitOfWork(store_engine) as uow:
        uow.products.upsert(btc_rules("ETH-USD"), at=T0)
        uow.rollback()
        uow.products.upsert(btc_rules("BTC-USD"), at=T0)
        uow.commit()
    assert _stored_products(store_engine) == ["BTC-USD"]


def test_a_unit_of_work_is_used_in_one_block_at_a_time(store_engine: Engine) -> None:
    uow = UnitOfWork(store_engine)
    with pytest.raises(StoreError, match="not open"):
        _ = uow.connection
    with uow, pytest.raises(StoreError, match="already open"):
        uow.__enter__()
    with uow:  # reusable after the block closed
        assert uow.connection.execute(text("SELECT 1")).scalar_one() == 1


def test_sqlite_writers_wait_for_the_lock_up_to_the_busy_timeout(store_engine: Engine) -> None:
    if store_engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL takes row locks, not a database lock")
    with store_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS


def test_a_unit_of_work_that_cannot_start_is_store_unavailable_and_holds_no_connection(
    store_settings: Settings,
) -> None:
    engine = create_store_engine(store_settings, sqlite_busy_timeout_ms=50)
    try:
        with UnitOfWork(engine) as holder:
            if engine.dialect.name == "sqlite":
                # The holder keeps SQLite's write lock past the other's busy timeout: BEGIN IMMEDIATE fails.
                with pytest.raises(StoreUnavailable, match="database is locked"), UnitOfWork(engine):
                    pass
            else:
                # No server answers for this database: connecting fails.
                missing = engine.url.set(database="cryptoj_no_such_database")
                elsewhere = create_store_engine(
                    store_settings.model_copy(
                        update={"database_url": SecretStr(missing.render_as_string(hide_password=False))}
                    )
                )
                with pytest.raises(StoreUnavailable, match="cryptoj_no_such_database"), UnitOfWork(elsewhere):
                    pass
                elsewhere.dispose()
            assert isinstance(engine.pool, QueuePool)
            assert engine.pool.checkedout() == 1  # only the holder's: the refused start gave its connection back
            holder.products.all()
        with UnitOfWork(engine) as uow:  # the lock is free again
            assert uow.products.all() == []
    finally:
        engine.dispose()


def test_a_reader_does_not_wait_for_a_writer_and_sees_the_last_committed_state(store_settings: Settings) -> None:
    # A busy timeout of 50 ms: a reader that queued behind the writer's lock would fail with StoreUnavailable.
    engine = create_store_engine(store_settings, sqlite_busy_timeout_ms=50)
    try:
        with UnitOfWork(engine) as uow:
            uow.products.upsert(btc_rules("BTC-USD"), at=T0)
            uow.commit()
        with UnitOfWork(engine) as writer:
            writer.products.upsert(btc_rules("ETH-USD"), at=T0)
            with UnitOfWork(engine, read_only=True) as reader:
                assert [rules.product_id for rules in reader.products.all()] == ["BTC-USD"]
            writer.commit()
        with UnitOfWork(engine, read_only=True) as reader:
            assert [rules.product_id for rules in reader.products.all()] == ["BTC-USD", "ETH-USD"]
    finally:
        engine.dispose()


def test_a_reader_cannot_write_or_commit_and_its_connection_writes_again_afterwards(store_engine: Engine) -> None:
    with UnitOfWork(store_engine, read_only=True) as reader:
        with pytest.raises(StoreError, match="product BTC-USD failed in the database"):
            reader.products.upsert(btc_rules(), at=T0)
        with pytest.raises(StoreError, match="read-only"):
            reader.commit()
    assert _stored_products(store_engine) == []
    with UnitOfWork(store_engine) as uow:  # the pooled connection the reader used
        uow.products.upsert(btc_rules(), at=T0)
        uow.commit()
    assert _stored_products(store_engine) == ["BTC-USD"]


def test_a_pooled_sqlite_connection_sets_each_pragma_only_when_a_transaction_needs_it_changed(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "cryptoj.db")
    engine = create_store_engine(load_settings(home=tmp_path), poolclass=QueuePool, pool_size=1, max_overflow=0)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    try:
        _stored_products(engine)  # a writer first: the pragmas are set for writing
        sent.clear()
        for _ in range(3):
            with UnitOfWork(engine, read_only=True) as reader:
                reader.products.all()
        pragmas = [statement for statement in sent if statement.startswith("PRAGMA")]
        assert pragmas == ["PRAGMA query_only=ON"]  # once, not on every reader
        with UnitOfWork(engine, read_only=True) as reader, pytest.raises(StoreError):
            reader.products.upsert(btc_rules(), at=T0)  # the pragma still holds where it was not re-sent
        with UnitOfWork(engine) as writer:  # and a writer on the same connection turns it off again
            writer.products.upsert(btc_rules(), at=T0)
            writer.commit()
        assert _stored_products(engine) == ["BTC-USD"]
    finally:
        engine.dispose()
