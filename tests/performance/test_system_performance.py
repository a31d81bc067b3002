"""The pipeline's speed: one trading cycle for ten products with the Prefect server up, and backtest throughput.

Targets (issue 15): a paper cycle over 10 products in at most 1 s with the server already up (its first
start is not the cycle's cost), and at least 20,000 bars a second backtesting one product over a synthetic
year of 1-minute bars. The figures land in `extra_info` and docs/performance.md; the default test run skips
these, `.ci/run` runs them once with --benchmark-disable.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import random
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cryptoj.coinbase.auth import CdpKey
from cryptoj.domain.paper import FeeRates
from cryptoj.domain.risk import RiskLimits
from cryptoj.domain.strategy import Candle, MovingAverageCrossover
from cryptoj.sandbox.market.products import DEFAULT_PRODUCTS
from cryptoj.services.backtest import BacktestResult, run_backtest
from tests.utils.fixtures.store import btc_rules
from tests.utils.helpers.sandbox_child import sandbox_in_child

pytestmark = pytest.mark.performance

TEN = [f"P{i}-USD" for i in range(10)]
_T = TypeVar("_T")
YEAR_BARS = 365 * 24 * 60


@dataclasses.dataclass(frozen=True)
class Venue:
    """Where the cycles' exchange listens, and the key file it trusts."""

    base_url: str
    key_file: Path


@pytest.fixture
def ten_products(sandbox_key: tuple[CdpKey, Path]) -> Iterator[Venue]:
    """A sandbox trading ten random-walk products in a process of its own (a venue's work is not the cycle's),
    with budgets no cycle of ten products reaches."""
    template = DEFAULT_PRODUCTS[2]
    specs = [dataclasses.replace(template, product_id=pid, base_name=pid[:2]) for pid in TEN]
    with sandbox_in_child(specs, sandbox_key[1], seed=5, rate=1_000) as url:
        yield Venue(url, sandbox_key[1])


def _ten_product_cycles(
    benchmark: BenchmarkFixture,
    ten_products: Venue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    trade_every_round: bool,
) -> dict[str, object]:
    """Time trading cycles over ten products on paper, the store already holding an hour of candles."""
    from flows._runtime import prefect_clients
    from flows.market_data import market_data
    from flows.trading import trading_cycle

    monkeypatch.setenv("CRYPTOJ_HOME", str(tmp_path))
    monkeypatch.setenv("CRYPTOJ_REST_URL", ten_products.base_url)
    monkeypatch.setenv("CRYPTOJ_API_KEY_FILE", str(ten_products.key_file))
    monkeypatch.setenv("CRYPTOJ_PRODUCTS", '["' + '","'.join(TEN) + '"]')
    monkeypatch.setenv("CRYPTOJ_STRATEGY", "rebalance")
    monkeypatch.setenv("CRYPTOJ_PAPER_CASH", '{"USD": "1000000"}')
    for name in ("MAX_ORDER_NOTIONAL", "MAX_POSITION_NOTIONAL", "MAX_GROSS_EXPOSURE", "MAX_ORDERS_PER_MINUTE"):
        monkeypatch.setenv(f"CRYPTOJ_RISK_{name}", "")
    weights = iter(["0.04", "0.08"] * 1_000)

    def next_weights() -> None:
        # Each round's weights differ from the last round's by far more than the band: every product trades.
        weight = next(weights)
        monkeypatch.setenv("CRYPTOJ_REBALANCE_WEIGHTS", "{" + ",".join(f'"{pid}": "{weight}"' for pid in TEN) + "}")

    next_weights()
    loop = asyncio.new_event_loop()
    keys = iter(range(1_000))
    # Every round runs in one context holding one pair of Prefect clients, as a process running cycles one
    # after another holds them (`flows._runtime.prefect_clients`, which `cryptoj run` and the workers use).
    context = contextvars.copy_context()
    clients = prefect_clients()

    def run(coroutine: Coroutine[Any, Any, _T]) -> _T:
        return loop.run_until_complete(loop.create_task(coroutine, context=context))

    run(clients.__aenter__())
    try:
        run(market_data(lookback_minutes=60))  # the store holds history, as on a running system
        if not trade_every_round:
            run(trading_cycle(key="bench-setup"))  # at the weights now: nothing left to trade
        summary: dict[str, object] = benchmark.pedantic(
            lambda: run(trading_cycle(key=f"bench-{next(keys)}")),
            setup=next_weights if trade_every_round else None,
            rounds=10,
            warmup_rounds=1,
        )
    finally:
        run(clients.__aexit__(None, None, None))
        loop.close()
    if not benchmark.disabled:
        benchmark.extra_info["seconds_per_cycle"] = round(benchmark.stats.stats.median, 3)
    return summary


def test_one_paper_trading_cycle_for_ten_products(
    benchmark: BenchmarkFixture,
    prefect_on_postgres: str,
    ten_products: Venue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cycle that places ten orders (one per product), each filled on paper against the sandbox's book."""
    summary = _ten_product_cycles(benchmark, ten_products, tmp_path, monkeypatch, trade_every_round=True)
    orders = summary["orders"]
    assert isinstance(orders, list)
    assert len(orders) == len(TEN)
    assert all(row["outcome"] == "accepted" for row in orders)


def test_one_paper_trading_cycle_for_ten_products_with_nothing_to_trade(
    benchmark: BenchmarkFixture,
    prefect_on_postgres: str,
    ten_products: Venue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cycle of most minutes: candles pulled, the strategy consulted, no order to place."""
    summary = _ten_product_cycles(benchmark, ten_products, tmp_path, monkeypatch, trade_every_round=False)
    assert summary["orders"] == []
    positions = summary["positions"]
    assert isinstance(positions, list)
    assert len(positions) > len(TEN)  # every product held, and the cash row


def _synthetic_year(seed: int = 3) -> list[Candle]:
    """A year of 1-minute bars: a seeded random walk in cents around 30,000."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    cents = 3_000_000
    bars = []
    for minute in range(YEAR_BARS):
        open_ = cents
        cents = max(100_000, cents + rng.randint(-1_500, 1_500))
        high, low = max(open_, cents) + rng.randint(0, 500), min(open_, cents) - rng.randint(0, 500)
        bars.append(
            Candle(
                start=start + timedelta(minutes=minute),
                open=Decimal(open_).scaleb(-2),
                high=Decimal(high).scaleb(-2),
                low=Decimal(low).scaleb(-2),
                close=Decimal(cents).scaleb(-2),
                volume=Decimal(rng.randint(1, 5_000)).scaleb(-2),
            )
        )
    return bars


def test_backtest_throughput_over_a_synthetic_year(benchmark: BenchmarkFixture) -> None:
    bars = {"BTC-USD": _synthetic_year()}
    # 15/60 minutes trades about 11,000 times in the year and never breaches the limits, so every bar is decided
    # (after a breach a replay stops consulting the strategy, which would flatter the figure).
    strategy = MovingAverageCrossover("BTC-USD", fast=15, slow=60, allocation=Decimal(1_000))

    def backtest() -> BacktestResult:
        return run_backtest(
            bars,
            strategies=[strategy],
            rules={"BTC-USD": btc_rules()},
            fees=FeeRates(maker=Decimal("0.0025"), taker=Decimal("0.004")),
            cash={"USD": Decimal(100_000)},
            limits=RiskLimits(max_order_notional=Decimal(5_000), max_drawdown=Decimal("0.5")),
        )

    result = benchmark.pedantic(backtest, rounds=1, iterations=1)
    assert result.bars == YEAR_BARS
    assert result.kill_switch is None
    assert len(result.fills) > 5_000
    if not benchmark.disabled:
        benchmark.extra_info["bars_per_second"] = round(YEAR_BARS / benchmark.stats.stats.median)
