"""RiskService on a real store (SQLite and PostgreSQL): marks, breaches, the stored kill switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from cryptoj.domain.orders import Fill, Liquidity
from cryptoj.domain.positions import Portfolio, Position
from cryptoj.domain.risk import RiskLimits, RiskRule
from cryptoj.domain.side import Side
from cryptoj.services.risk import RiskService
from cryptoj.store import UnitOfWork
from tests.utils.fixtures.services import market
from tests.utils.fixtures.store import store_products

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A settable clock for the service."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _holding(size: str, *, cash: str = "1000") -> Portfolio:
    position = Position("BTC-USD")
    position.apply(Fill("t", "c", "BTC-USD", Side.BUY, Decimal(100), Decimal(size), Decimal(0), Liquidity.TAKER, DAY))
    return Portfolio(cash={"USD": Decimal(cash)}, positions={"BTC-USD": position})


def test_a_breach_is_stored_trips_the_kill_switch_once_and_stays_until_reset(store_engine: Engine) -> None:
    store_products(store_engine, "BTC-USD")
    clock = Clock(DAY)
    risk = RiskService(store_engine, RiskLimits(max_position_notional=Decimal(500)), clock=clock)
    calm = risk.assess(_holding("2"), {"BTC-USD": Decimal(100)})
    assert calm.breaches == ()
    assert not calm.kill_switch.engaged
    assert calm.equity == Decimal(1200)

    clock.at += timedelta(minutes=5)
    breached = risk.assess(_holding("10"), {"BTC-USD": Decimal(100)}, cycle_key="cycle-7")
    assert [b.rule for b in breached.breaches] == [RiskRule.POSITION_NOTIONAL]
    assert breached.tripped
    assert breached.kill_switch.engaged
    again = risk.assess(_holding("10"), {"BTC-USD": Decimal(100)})
    assert not again.tripped  # engaged already: the first reason stays
    assert again.kill_switch.reason == breached.kill_switch.reason

    denied = risk.pre_trade(market(), _holding("0.1"), {"BTC-USD": Decimal(100)})
    assert RiskRule.KILL_SWITCH in denied.rules
    with UnitOfWork(store_engine, read_only=True) as uow:
        events = uow.risk.events()
    assert [(e.rule, e.cycle_key) for e in events] == [
        (RiskRule.POSITION_NOTIONAL, "cycle-7"),
        (RiskRule.POSITION_NOTIONAL, None),
    ]
    risk.reset(by="ops")
    assert not risk.kill_switch().engaged
    assert risk.pre_trade(market(), _holding("0.1"), {"BTC-USD": Decimal(100)}).allowed


def test_daily_loss_and_drawdown_come_from_the_stored_equity_curve(store_engine: Engine) -> None:
    store_products(store_engine, "BTC-USD")
    clock = Clock(DAY)
    risk = RiskService(store_engine, RiskLimits(max_daily_loss=Decimal(150), max_drawdown=Decimal("0.5")), clock=clock)
    risk.assess(_holding("10"), {"BTC-USD": Decimal(100)})  # equity 2000: the day's start and the peak
    clock.at += timedelta(hours=1)
    report = risk.assess(_holding("10"), {"BTC-USD": Decimal(90)})  # equity 1900
    assert report.day_start_equity == Decimal(2000)
    assert report.daily_pnl == Decimal(-100)
    assert report.drawdown == Decimal("0.05")
    assert report.breaches == ()
    clock.at += timedelta(hours=1)
    worse = risk.assess(_holding("10"), {"BTC-USD": Decimal(80)})  # equity 1800: a 200 loss today
    assert [b.rule for b in worse.breaches] == [RiskRule.DAILY_LOSS]
    clock.at = DAY + timedelta(days=1)
    tomorrow = risk.assess(_holding("10"), {"BTC-USD": Decimal(80)})
    assert tomorrow.day_start_equity == Decimal(1800)  # a new UTC day starts from its first equity
    assert tomorrow.equity_peak == Decimal(2000)


def test_a_held_product_without_a_price_is_itself_a_breach(store_engine: Engine) -> None:
    store_products(store_engine, "BTC-USD")
    report = RiskService(store_engine, RiskLimits(), clock=Clock(DAY)).assess(_holding("1"), {})
    assert report.equity is None
    assert report.daily_pnl is None
    assert [b.rule for b in report.breaches] == [RiskRule.NO_PRICE]
    assert report.kill_switch.engaged
