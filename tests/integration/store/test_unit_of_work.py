"""The unit of work commits only when told to; anything else rolls every write back."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from cryptoj.store import StoreError, UnitOfWork, UnknownReference
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
