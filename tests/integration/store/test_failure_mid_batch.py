"""A database failure in the middle of a batch leaves nothing of that batch written (both databases).

The failure is a real one: a trigger, added to this test's own database, refuses one bar of the batch,
so the rows before it in the same statement have already been written when the database fails.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from cryptoj.domain.positions import Position
from cryptoj.store import DuplicateRecord, StoreError, UnitOfWork
from cryptoj.store.market import COPY_THRESHOLD
from tests.utils.fixtures.store import T0, bar, btc_rules, limit_order

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_database")]

_POISON_CLOSE = "777"
_SQLITE_TRIGGER = f"""
CREATE TRIGGER refuse_poison_bar BEFORE INSERT ON candles
WHEN CAST(NEW.close AS TEXT) = '{_POISON_CLOSE}'
BEGIN SELECT RAISE(ABORT, 'injected failure'); END
"""
_PG_FUNCTION = f"""
CREATE FUNCTION refuse_poison_bar() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME <> 'candles' OR NEW.close = {_POISON_CLOSE} THEN RAISE EXCEPTION 'injected failure'; END IF;
    RETURN NEW;
END $$
"""
_PG_TRIGGER = (
    "CREATE TRIGGER refuse_poison_bar BEFORE INSERT ON candles FOR EACH ROW EXECUTE FUNCTION refuse_poison_bar()"
)


@pytest.fixture
def fresh_database() -> None:
    """On PostgreSQL, a database of this test's own: the trigger changes the schema."""


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """A store with BTC-USD and ten stored bars (closes 100..109), and a trigger that fails one bar."""
    with UnitOfWork(store_engine) as uow:
        uow.products.upsert(btc_rules(), at=T0)
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(i, str(100 + i)) for i in range(10)])
        uow.commit()
    with store_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(_PG_FUNCTION))
            connection.execute(text(_PG_TRIGGER))
        else:
            connection.execute(text(_SQLITE_TRIGGER))
    return store_engine


@pytest.mark.parametrize("size", [200, COPY_THRESHOLD + 200], ids=["statement", "bulk"])
def test_a_failure_mid_batch_leaves_the_stored_bars_as_they_were_and_adds_none(engine: Engine, size: int) -> None:
    with UnitOfWork(engine) as uow:
        before = uow.candles.window("BTC-USD", "ONE_MINUTE")
    # The ten stored bars change, new bars follow, one in the middle of the new ones makes the database fail.
    batch = [bar(i, str(200 + i)) for i in range(size)]
    batch[size // 2] = bar(size // 2, _POISON_CLOSE)

    with UnitOfWork(engine) as uow:
        with pytest.raises(StoreError, match="candles of BTC-USD"):
            uow.candles.upsert("BTC-USD", "ONE_MINUTE", batch)
        uow.commit()  # even a caller that commits after the error keeps nothing of the failed batch

    with UnitOfWork(engine) as uow:
        assert uow.candles.window("BTC-USD", "ONE_MINUTE") == before
        # The same connection pool serves the next write normally: nothing was left open or locked.
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(i, str(300 + i)) for i in range(3)])
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert [c.close for c in uow.candles.window("BTC-USD", "ONE_MINUTE", limit=10)][:3] == [300, 301, 302]


def test_a_write_the_database_refuses_keeps_the_earlier_writes_of_the_block(engine: Engine) -> None:
    # The database itself refuses the second order (its exchange id is taken): on PostgreSQL that used to
    # poison the whole transaction, so the commit below silently dropped the first order too.
    first, second = limit_order("coid-1"), limit_order("coid-2")
    first.exchange_order_id = second.exchange_order_id = "ex-1"
    with UnitOfWork(engine) as uow:
        uow.orders.save(first)
        with pytest.raises(DuplicateRecord, match="order coid-2"):
            uow.orders.save(second)
        uow.commit()
    with UnitOfWork(engine) as uow:
        kept = uow.orders.get("coid-1")
        assert kept is not None
        assert kept.exchange_order_id == "ex-1"
        assert uow.orders.get("coid-2") is None


def test_a_commit_the_database_refuses_is_a_store_error_and_keeps_nothing(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        # A deferred constraint trigger: checked only at COMMIT.
        with engine.begin() as connection:
            connection.execute(text(_PG_FUNCTION.replace("refuse_poison_bar", "refuse_at_commit")))
            connection.execute(
                text(
                    "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON positions "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()"
                )
            )
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(500, "123")])
        uow.positions.save(Position("BTC-USD", size=Decimal(1), cost_basis=Decimal(1)), at=T0)
        if engine.dialect.name == "sqlite":
            # Foreign keys checked only at COMMIT, and a row that breaks one.
            uow.connection.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            uow.connection.execute(text("UPDATE positions SET product_id = 'NOPE-USD'"))
        with pytest.raises(StoreError, match="commit failed"):
            uow.commit()
        assert not uow.committed
    with UnitOfWork(engine, read_only=True) as uow:
        assert uow.positions.all() == {}
        assert uow.candles.latest("BTC-USD", "ONE_MINUTE") == bar(9, "109")
