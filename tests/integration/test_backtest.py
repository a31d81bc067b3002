"""Backtests: the live cycle's decisions on every bar, and figures that add up."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from cryptoj.domain.orders import OrderIntent
from cryptoj.domain.paper import FeeRates
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.risk import RiskLimits
from cryptoj.domain.strategy import MovingAverageCrossover
from cryptoj.services.backtest import BacktestError, load_bars, packaged_candles, run_backtest
from cryptoj.services.market_data import MarketDataService
from cryptoj.services.trading import decide
from cryptoj.store import UnitOfWork
from tests.utils.fixtures.store import btc_rules

pytestmark = pytest.mark.integration

FEES = FeeRates(maker=Decimal("0.0025"), taker=Decimal("0.004"))
STRATEGY = MovingAverageCrossover("BTC-USD", fast=5, slow=20, allocation=Decimal(1_000))


def test_on_every_bar_the_backtest_makes_the_intents_a_live_cycle_would(store_engine: Engine) -> None:
    """Bars stored as the market-data flow stores them; the live cycle's read of the store decides alike."""
    bars = packaged_candles("BTC-USD")[:400]
    rules = btc_rules()
    with UnitOfWork(store_engine) as uow:
        uow.products.upsert(rules, at=bars[0].start)
        uow.candles.upsert("BTC-USD", "ONE_MINUTE", bars)
        uow.commit()
    decisions: list[tuple[datetime, list[OrderIntent], Portfolio]] = []
    result = run_backtest(
        {"BTC-USD": bars},
        strategies=[STRATEGY],
        rules={"BTC-USD": rules},
        fees=FEES,
        cash={"USD": Decimal(10_000)},
        limits=RiskLimits(),
        on_intents=lambda at, _, intents, portfolio: decisions.append((at, intents, copy.deepcopy(portfolio))),
    )
    assert len(decisions) == len(bars)
    assert result.fills, "the strategy traded: the comparison covers orders, not only quiet bars"
    service = MarketDataService(exchange=None, engine=store_engine)  # type: ignore[arg-type] # reads the store only
    by_start = {bar.start: bar for bar in bars}
    for at, intents, portfolio in decisions:
        closed = by_start[at - timedelta(minutes=1)]  # decided a minute after the bar opened: once it closed
        market = service.market({"BTC-USD": closed.close}, history=STRATEGY.slow, until=at)
        assert decide(STRATEGY, market, portfolio, {"BTC-USD": rules}) == intents, f"decisions differ at {at}"


def test_the_figures_add_up() -> None:
    result = run_backtest(
        {"BTC-USD": packaged_candles("BTC-USD")},
        strategies=[STRATEGY],
        rules={"BTC-USD": btc_rules()},
        fees=FEES,
        cash={"USD": Decimal(10_000)},
        limits=RiskLimits(),
    )
    assert result.bars == 2_880  # two real days of BTC-USD
    assert result.starting_equity == Decimal(10_000)
    assert result.fees == sum((fill.fee for fill in result.fills), Decimal(0))
    # Equity is cash plus holdings at the last close; PnL is what that moved from the start, fees included.
    cash = Decimal(10_000)
    held = Decimal(0)
    for fill in result.fills:
        sign = 1 if fill.side.value == "BUY" else -1
        cash -= sign * fill.price * fill.size + fill.fee
        held += sign * fill.size
    last_close = packaged_candles("BTC-USD")[-1].close
    assert result.final_equity == cash + held * last_close
    assert result.pnl == result.final_equity - Decimal(10_000)
    assert Decimal(0) <= result.max_drawdown < 1
    assert Decimal(0) <= result.exposure <= 1
    assert result.sharpe is not None


def test_a_breach_stops_new_orders_for_the_rest_of_the_run() -> None:
    decided: list[datetime] = []
    bars = packaged_candles("BTC-USD")
    result = run_backtest(
        {"BTC-USD": bars},
        strategies=[STRATEGY],
        rules={"BTC-USD": btc_rules()},
        fees=FEES,
        cash={"USD": Decimal(10_000)},
        limits=RiskLimits(max_daily_loss=Decimal(5)),
        on_intents=lambda at, _, intents, portfolio: decided.append(at),
    )
    assert result.kill_switch is not None
    assert "daily loss" in result.kill_switch
    assert result.kill_switch_at is not None
    assert result.fills
    assert all(fill.time <= result.kill_switch_at for fill in result.fills)
    # No one resets the switch in a replay: the strategy is not asked again, and what is held is still marked.
    assert max(decided) <= result.kill_switch_at
    assert len(result.equity) == len(bars)
    assert result.equity[-1].at > result.kill_switch_at


def test_backtests_refuse_what_they_cannot_replay(store_engine: Engine) -> None:
    with pytest.raises(BacktestError, match="no bars"):
        run_backtest({"BTC-USD": []}, strategies=[STRATEGY], rules={}, fees=FEES, cash={}, limits=RiskLimits())
    with pytest.raises(BacktestError, match="no product rules for BTC-USD"):
        run_backtest(
            {"BTC-USD": packaged_candles("BTC-USD")[:30]},
            strategies=[STRATEGY],
            rules={},
            fees=FEES,
            cash={},
            limits=RiskLimits(),
        )
    with pytest.raises(BacktestError, match="run the market-data flow first"):
        load_bars(store_engine, ["BTC-USD"], source="stored")
    with pytest.raises(BacktestError, match="'stored' or 'packaged'"):
        load_bars(store_engine, ["BTC-USD"], source="yesterday")
    with pytest.raises(BacktestError, match="no packaged bars for SOL-USD"):
        load_bars(store_engine, ["SOL-USD"], source="packaged")
