"""Products and candles on SQLite and PostgreSQL: exact money, idempotent upserts, reads, bad input refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from cryptoj.domain.strategy import Candle
from cryptoj.store import InvalidRecord, UnitOfWork, UnknownReference
from cryptoj.store.columns import canonical
from cryptoj.store.market import COPY_THRESHOLD
from cryptoj.store.tables import CandleRow
from tests.utils.fixtures.store import T0, bar, btc_rules, store_products

pytestmark = pytest.mark.integration

EXACT_VALUES = [
    "138991023.41",
    "0.00000001",
    "0.000000000000000001",
    "99999999999999999999.999999999999999999",
    "12345678901234567890.123456789012345678",
    "1",
    "0",
]


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """A store with BTC-USD and ETH-USD rules stored."""
    return store_products(store_engine, "BTC-USD", "ETH-USD")


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(CandleRow.__table__)).scalar_one())  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", EXACT_VALUES)
def test_money_round_trips_exactly(engine: Engine, text: str) -> None:
    value = Decimal(text)
    candle = Candle(start=T0, open=value, high=value, low=value, close=value, volume=value)
    if value == 0:
        candle = replace(candle, open=Decimal(1), high=Decimal(1), low=Decimal(1), close=Decimal(1))
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [candle])
        uow.commit()
    with UnitOfWork(engine) as uow:
        stored = uow.candles.latest("BTC-USD", "ONE_MINUTE")
    assert stored is not None
    assert stored.volume == value
    # The same digits on both databases (PostgreSQL would otherwise pad to 18 places).
    assert str(stored.volume) == str(canonical(value))
    assert stored == candle


def test_rules_round_trip_with_every_flag(engine: Engine) -> None:
    rules = replace(btc_rules("SOL-USD"), price_increment=None, limit_only=True, cancel_only=True, status="delisted")
    with UnitOfWork(engine) as uow:
        uow.products.upsert(rules, at=T0)
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.products.get("SOL-USD") == rules
        assert [r.product_id for r in uow.products.all()] == ["BTC-USD", "ETH-USD", "SOL-USD"]


def test_a_new_rules_snapshot_replaces_the_old_one(engine: Engine) -> None:
    newer = replace(btc_rules(), base_min_size=Decimal("0.0001"), trading_disabled=True)
    with UnitOfWork(engine) as uow:
        uow.products.upsert(newer, at=T0 + timedelta(days=1))
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.products.get("BTC-USD") == newer


def test_an_unknown_product_is_an_unknown_reference(engine: Engine) -> None:
    with UnitOfWork(engine) as uow, pytest.raises(UnknownReference, match="DOGE-USD"):
        uow.products.get("DOGE-USD")


def test_re_pulling_a_window_changes_nothing(engine: Engine) -> None:
    window = [bar(i, str(100 + i)) for i in range(5)]
    for _ in range(2):
        with UnitOfWork(engine) as uow:
            assert uow.candles.upsert("BTC-USD", "ONE_MINUTE", window) == 5
            uow.commit()
    assert _count(engine) == 5
    with UnitOfWork(engine) as uow:
        assert uow.candles.window("BTC-USD", "ONE_MINUTE") == window


def _row_versions(engine: Engine) -> list[object]:
    """Something that changes whenever a candle row is rewritten: PostgreSQL's xmin, SQLite's change counter."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return list(connection.exec_driver_sql("SELECT xmin::text FROM candles ORDER BY start").scalars())
    return []


@pytest.mark.parametrize("size", [3, COPY_THRESHOLD + 5], ids=["statement", "bulk"])
def test_a_re_pulled_window_rewrites_no_row_and_takes_changed_bars(engine: Engine, size: int) -> None:
    window = [bar(i, f"{100 + i}.25", volume="0.00000001") for i in range(size)]
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", window)
        uow.commit()
    versions = _row_versions(engine)
    with UnitOfWork(engine) as uow:
        if engine.dialect.name == "sqlite":
            before = uow.connection.exec_driver_sql("SELECT total_changes()").scalar_one()
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", window)
        if engine.dialect.name == "sqlite":
            assert uow.connection.exec_driver_sql("SELECT total_changes()").scalar_one() == before
        uow.commit()
    assert _row_versions(engine) == versions
    changed = [*window[:-1], bar(size - 1, "1.5")]
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", changed)
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", changed)  # twice in one transaction
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.candles.window("BTC-USD", "ONE_MINUTE") == changed
    assert _count(engine) == size


def test_a_rolled_back_bulk_upsert_leaves_nothing(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(i) for i in range(COPY_THRESHOLD)])
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("ETH-USD", "ONE_MINUTE", [bar(i) for i in range(COPY_THRESHOLD)])
        uow.commit()
    assert _count(engine) == COPY_THRESHOLD
    with UnitOfWork(engine) as uow:
        assert uow.candles.latest("BTC-USD", "ONE_MINUTE") is None


def test_a_re_pulled_forming_bar_replaces_the_stored_one(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(0), bar(1, "101", volume="0.5")])
        uow.commit()
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(1, "102", volume="2.25")])
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.candles.latest("BTC-USD", "ONE_MINUTE") == bar(1, "102", volume="2.25")
    assert _count(engine) == 2


def test_the_same_bar_twice_in_one_batch_is_stored_once(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        assert uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(0), bar(0), bar(1)]) == 2
        uow.commit()
    assert _count(engine) == 2


def test_latest_per_product_reads_the_newest_bar_of_each(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(i, str(100 + i)) for i in range(3)])
        uow.candles.upsert("ETH-USD", "ONE_MINUTE", [bar(i, str(10 + i)) for i in range(7)])
        uow.candles.upsert("ETH-USD", "FIVE_MINUTE", [bar(100, "5")])
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.candles.latest_per_product("ONE_MINUTE") == {"BTC-USD": bar(2, "102"), "ETH-USD": bar(6, "16")}
        assert uow.candles.latest("ETH-USD", "FIVE_MINUTE") == bar(100, "5")
        assert uow.candles.latest("BTC-USD", "FIVE_MINUTE") is None


def test_window_bounds_and_limit(engine: Engine) -> None:
    bars = [bar(i, str(100 + i)) for i in range(10)]
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", list(reversed(bars)))  # REST sends newest first
        uow.commit()
    with UnitOfWork(engine) as uow:
        got = uow.candles.window("BTC-USD", "ONE_MINUTE", start=bars[2].start, end=bars[5].start)
        assert got == bars[2:5]
        assert uow.candles.window("BTC-USD", "ONE_MINUTE", limit=3) == bars[-3:]


def test_the_frame_keeps_decimals_and_gives_floats_only_when_asked(engine: Engine) -> None:
    bars = [bar(i, f"{100 + i}.01") for i in range(4)]
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", bars)
        uow.commit()
    with UnitOfWork(engine) as uow:
        exact = uow.candles.frame("BTC-USD", "ONE_MINUTE")
        floats = uow.candles.frame("BTC-USD", "ONE_MINUTE", floats=True, limit=2)
        empty = uow.candles.frame("ETH-USD", "ONE_MINUTE")
    assert list(exact.columns) == ["open", "high", "low", "close", "volume"]
    assert str(exact.index.tz) == "UTC"
    assert list(exact.index) == [pd.Timestamp(b.start) for b in bars]
    assert list(exact["close"]) == [b.close for b in bars]
    assert all(isinstance(v, Decimal) for v in exact["close"])
    assert sum(exact["close"], Decimal(0)) == Decimal("406.04")
    assert floats["close"].dtype == "float64"
    assert list(floats["close"]) == [102.01, 103.01]
    assert empty.empty


def _bad_bars() -> list[tuple[str, Candle]]:
    good = bar(9)
    return [
        ("high below the open", replace(good, high=Decimal("99.5"))),
        ("low above the close", replace(good, low=Decimal("100.5"))),
        ("non-positive low", replace(good, low=Decimal(0), open=Decimal(1))),
        ("negative volume", replace(good, volume=Decimal("-1"))),
        ("too many decimals", replace(good, volume=Decimal("0.0000000000000000001"))),
        ("too many digits", replace(good, high=Decimal("1e20"))),
        ("a float", replace(good, volume=1.5)),  # type: ignore[arg-type]
        ("no timezone", replace(good, start=good.start.replace(tzinfo=None))),
        ("NaN", replace(good, close=Decimal("NaN"))),
    ]


@pytest.mark.parametrize(("problem", "candle"), _bad_bars(), ids=[p for p, _ in _bad_bars()])
def test_a_bad_bar_is_refused_and_leaves_the_database_as_it_was(engine: Engine, problem: str, candle: Candle) -> None:
    with UnitOfWork(engine) as uow:
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(0)])
        uow.commit()
    with UnitOfWork(engine) as uow, pytest.raises(InvalidRecord):
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(1), candle])
    assert _count(engine) == 1


def test_two_different_bars_at_one_start_are_refused(engine: Engine) -> None:
    with UnitOfWork(engine) as uow, pytest.raises(InvalidRecord, match="two different"):
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", [bar(0), bar(0, "101")])
    assert _count(engine) == 0


def test_bars_of_an_unknown_product_are_refused(engine: Engine) -> None:
    with UnitOfWork(engine) as uow, pytest.raises(UnknownReference, match="DOGE-USD"):
        uow.candles.upsert("DOGE-USD", "ONE_MINUTE", [bar(0)])
    assert _count(engine) == 0


@pytest.mark.parametrize("granularity", ["", "X" * 33])
def test_a_bad_granularity_is_refused(engine: Engine, granularity: str) -> None:
    with UnitOfWork(engine) as uow, pytest.raises(InvalidRecord, match="granularity"):
        uow.candles.upsert("BTC-USD", granularity, [bar(0)])


def test_an_empty_batch_writes_nothing(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        assert uow.candles.upsert("DOGE-USD", "ONE_MINUTE", []) == 0
        uow.products.require([])


def test_bad_rules_are_refused(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        with pytest.raises(InvalidRecord, match="price_increment"):
            uow.products.upsert(replace(btc_rules("X-USD"), price_increment=Decimal("1e-30")), at=T0)
        with pytest.raises(InvalidRecord, match="base_increment"):
            uow.products.upsert(replace(btc_rules("X-USD"), base_increment=Decimal("1e-30")), at=T0)
    with UnitOfWork(engine) as uow, pytest.raises(UnknownReference):
        uow.products.get("X-USD")
