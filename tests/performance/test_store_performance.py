"""Candle upserts per second, bulk, on SQLite (WAL) and PostgreSQL: a first write and a re-pulled window; and
what a durable commit (`UnitOfWork(durable=True)`) costs over the usual one.

Timed runs write 100,000 one-minute bars per round; with `--benchmark-disable` (CI) 2,000, so the path still runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy import Engine, delete

from cryptoj.config import load_settings
from cryptoj.domain.strategy import Candle
from cryptoj.store import UnitOfWork, open_store
from cryptoj.store.tables import CandleRow
from tests.utils.fixtures.store import T0, limit_order, own_cluster, store_products

pytestmark = [pytest.mark.performance, pytest.mark.integration]

TIMED_ROWS = 100_000
SMOKE_ROWS = 2_000


def _bars(count: int) -> list[Candle]:
    bars = []
    for i in range(count):
        # Prices with cents and volumes with 8 decimals, like Coinbase's BTC-USD candles.
        close = Decimal(60_000 + (i * 7919) % 5_000) + Decimal(i % 100) / 100
        bars.append(
            Candle(
                start=T0 + timedelta(minutes=i),
                open=close - 5,
                high=close + 10,
                low=close - 10,
                close=close,
                volume=Decimal(i % 997 + 1) / Decimal(10**8) * 12345,
            )
        )
    return bars


def _upsert(engine: Engine, bars: list[Candle]) -> int:
    with UnitOfWork(engine) as uow:
        written = uow.candles.upsert("BTC-USD", "ONE_MINUTE", bars)
        uow.commit()
    return written


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(delete(CandleRow.__table__))  # type: ignore[attr-defined]


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """A store with BTC-USD stored."""
    return store_products(store_engine, "BTC-USD")


def test_bulk_candle_insert(benchmark: BenchmarkFixture, engine: Engine) -> None:
    rows = SMOKE_ROWS if benchmark.disabled else TIMED_ROWS
    bars = _bars(rows)
    written = benchmark.pedantic(_upsert, args=(engine, bars), setup=lambda: _empty(engine), rounds=3, iterations=1)
    assert written == rows
    _record_rate(benchmark, rows)


def test_re_pulled_window_upsert(benchmark: BenchmarkFixture, engine: Engine) -> None:
    rows = SMOKE_ROWS if benchmark.disabled else TIMED_ROWS
    bars = _bars(rows)
    _upsert(engine, bars)
    written = benchmark.pedantic(_upsert, args=(engine, bars), rounds=3, iterations=1)
    assert written == rows
    with UnitOfWork(engine) as uow:
        assert uow.candles.latest("BTC-USD", "ONE_MINUTE") == bars[-1]
    _record_rate(benchmark, rows)


def _record_rate(benchmark: BenchmarkFixture, rows: int) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["rows"] = rows
        benchmark.extra_info["rows_per_second"] = round(rows / stats.stats.median)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def flushing_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store whose disk flushes are real: SQLite in tmp_path, or a PostgreSQL cluster of its own with fsync on.

    The PostgreSQL server commits asynchronously by default (synchronous_commit off, as one tuned for speed
    would): the usual commit does not wait for the disk, a durable one does.
    """
    if request.param == "sqlite":
        engine = open_store(load_settings(home=tmp_path))
        yield store_products(engine, "BTC-USD")
        engine.dispose()
        return
    from sqlalchemy import create_engine, text

    with own_cluster(extra_options="-c fsync=on -c full_page_writes=on") as (_, cluster):
        admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE cryptoj"))
        admin.dispose()
        engine = open_store(load_settings(home=tmp_path, database_url=cluster.url("cryptoj")))
        yield store_products(engine, "BTC-USD")
        engine.dispose()


@pytest.mark.parametrize("durable", [False, True], ids=["usual", "durable"])
def test_order_intent_commit(benchmark: BenchmarkFixture, flushing_engine: Engine, durable: bool) -> None:
    """One order intent saved and committed per round: the write that precedes a send."""
    ids = itertools.count()

    def commit_one() -> None:
        with UnitOfWork(flushing_engine, durable=durable) as uow:
            uow.orders.save(limit_order(f"intent-{next(ids)}"))
            uow.commit()

    benchmark.pedantic(commit_one, rounds=5 if benchmark.disabled else 300, iterations=1, warmup_rounds=5)
    with UnitOfWork(flushing_engine, read_only=True) as uow:
        assert uow.orders.get("intent-0") is not None
