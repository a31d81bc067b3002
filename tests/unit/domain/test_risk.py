"""Risk limits, the pre-trade check, the portfolio check and the kill switch."""

from datetime import timedelta
from decimal import Decimal

import pytest

from cryptoj.domain.positions import Portfolio
from cryptoj.domain.risk import (
    EquityWatermark,
    KillSwitch,
    Reason,
    RiskContext,
    RiskError,
    RiskLimits,
    RiskRule,
    portfolio_check,
    pre_trade_check,
)
from cryptoj.domain.side import Side
from tests.utils.fixtures.domain import T0, d, fill, limit, market

MIDS = {"BTC-USD": d(100)}


def _portfolio(btc: str = "0") -> Portfolio:
    portfolio = Portfolio(cash={"USD": d(10_000)})
    if Decimal(btc):
        portfolio.apply(fill(Side.BUY, btc, "100"))
    return portfolio


def _context(**overrides: object) -> RiskContext:
    fields: dict[str, object] = {"portfolio": _portfolio(), "mids": MIDS, "now": T0, "kill_switch": KillSwitch()}
    fields.update(overrides)
    return RiskContext(**fields)  # type: ignore[arg-type]


def test_an_order_within_every_limit_is_allowed() -> None:
    limits = RiskLimits(
        max_order_notional=d(1000),
        max_position_notional=d(5000),
        max_gross_exposure=d(8000),
        max_open_orders=5,
        max_daily_loss=d(500),
        max_drawdown=d("0.2"),
        price_band=d("0.05"),
        max_orders_per_minute=10,
    )
    decision = pre_trade_check(
        limit(Side.BUY, "1", "101"), _context(day_start_equity=d(10_000), equity_peak=d(10_000)), limits
    )
    assert decision.allowed
    assert decision.reasons == ()


def test_a_denial_gives_every_reason_at_once() -> None:
    switch = KillSwitch()
    switch.engage("manual stop", at=T0)
    limits = RiskLimits(
        max_order_notional=d(100),
        max_position_notional=d(150),
        max_gross_exposure=d(150),
        max_open_orders=2,
        max_daily_loss=d(50),
        max_drawdown=d("0.01"),
        price_band=d("0.05"),
        max_orders_per_minute=2,
    )
    context = _context(
        portfolio=_portfolio("1"),
        open_orders=2,
        recent_orders=[T0 - timedelta(seconds=10), T0 - timedelta(seconds=30), T0 - timedelta(minutes=2)],
        day_start_equity=d(10_100),
        equity_peak=d(10_200),
        kill_switch=switch,
    )
    decision = pre_trade_check(limit(Side.BUY, "2", "110"), context, limits)
    assert not decision.allowed
    assert decision.rules == set(RiskRule) - {RiskRule.NO_PRICE}
    assert any("manual stop" in r.message for r in decision.reasons)


def test_order_rate_counts_only_the_last_minute() -> None:
    limits = RiskLimits(max_orders_per_minute=2)
    old = [T0 - timedelta(minutes=1), T0 - timedelta(minutes=5)]
    assert pre_trade_check(market(Side.BUY, base="1"), _context(recent_orders=old), limits).allowed
    recent = [T0 - timedelta(seconds=59), T0 - timedelta(seconds=1)]
    assert pre_trade_check(market(Side.BUY, base="1"), _context(recent_orders=recent), limits).rules == {
        RiskRule.ORDER_RATE
    }


def test_without_a_mid_price_the_order_cannot_be_valued_and_is_denied() -> None:
    decision = pre_trade_check(market(Side.BUY, base="1"), _context(mids={}), RiskLimits())
    assert decision.rules == {RiskRule.NO_PRICE}


def test_sells_reduce_exposure_and_pass_position_and_gross_limits() -> None:
    limits = RiskLimits(max_position_notional=d(50), max_gross_exposure=d(50))
    context = _context(portfolio=_portfolio("1"))
    assert pre_trade_check(market(Side.SELL, base="0.5"), context, limits).allowed
    assert pre_trade_check(market(Side.BUY, base="0.1"), context, limits).rules == {
        RiskRule.POSITION_NOTIONAL,
        RiskRule.GROSS_EXPOSURE,
    }


def test_per_product_position_limit_overrides_the_default() -> None:
    limits = RiskLimits(max_position_notional=d(50), position_limits={"BTC-USD": d(500)})
    assert limits.position_limit("BTC-USD") == d(500)
    assert limits.position_limit("ETH-USD") == d(50)
    assert pre_trade_check(market(Side.BUY, base="4"), _context(), limits).allowed


def test_price_band_is_measured_from_mid_on_both_sides() -> None:
    limits = RiskLimits(price_band=d("0.05"))
    assert pre_trade_check(limit(Side.BUY, "1", "105"), _context(), limits).allowed
    assert not pre_trade_check(limit(Side.SELL, "1", "94.9"), _context(), limits).allowed


def test_portfolio_check_reports_breaches() -> None:
    limits = RiskLimits(
        max_position_notional=d(50), max_gross_exposure=d(50), max_daily_loss=d(10), max_drawdown=d("0.1")
    )
    context = _context(
        portfolio=_portfolio("1"), mids={"BTC-USD": d(40)}, day_start_equity=d(10_000), equity_peak=d(10_000)
    )
    assert {b.rule for b in portfolio_check(context, limits)} == {RiskRule.DAILY_LOSS}
    context = _context(portfolio=_portfolio("1"), mids=MIDS, equity_peak=d(20_000))
    assert {b.rule for b in portfolio_check(context, limits)} == {
        RiskRule.POSITION_NOTIONAL,
        RiskRule.GROSS_EXPOSURE,
        RiskRule.DRAWDOWN,
    }
    assert portfolio_check(_context(), limits) == ()


def test_a_breach_engages_the_kill_switch_which_denies_every_order() -> None:
    switch = KillSwitch()
    assert not switch.trip_on((), at=T0)
    assert not switch.engaged
    assert switch.trip_on((Reason(RiskRule.DAILY_LOSS, "daily loss 600 reached 500"),), at=T0)
    assert switch.engaged
    assert switch.engaged_at == T0
    assert switch.reason == "daily loss 600 reached 500"
    decision = pre_trade_check(market(Side.SELL, base="0.1"), _context(kill_switch=switch), RiskLimits())
    assert decision.rules == {RiskRule.KILL_SWITCH}


def test_a_risk_check_cannot_be_set_up_without_the_kill_switch() -> None:
    with pytest.raises(TypeError, match="kill_switch"):
        RiskContext(portfolio=_portfolio(), mids=MIDS, now=T0)  # type: ignore[call-arg]
    with pytest.raises(RiskError, match="kill switch"):
        _context(kill_switch=None)


def test_an_engaged_kill_switch_denies_every_kind_of_new_intent() -> None:
    switch = KillSwitch()
    switch.engage("drawdown", at=T0)
    # Even a sell that only reduces exposure: the switch stops new orders, whatever they would do.
    for intent in (market(Side.BUY, base="0.1"), market(Side.SELL, quote="10"), limit(Side.SELL, "1", "100")):
        assert pre_trade_check(intent, _context(kill_switch=switch), RiskLimits()).rules == {RiskRule.KILL_SWITCH}


def test_engaging_again_keeps_the_first_reason() -> None:
    switch = KillSwitch()
    switch.engage("first", at=T0)
    assert not switch.engage("second", at=T0 + timedelta(seconds=1))
    assert switch.reason == "first"


def test_only_an_explicit_reset_by_an_operator_clears_the_switch() -> None:
    switch = KillSwitch()
    switch.engage("drawdown", at=T0)
    with pytest.raises(RiskError, match="operator's name"):
        switch.reset(by="", at=T0)
    assert switch.engaged
    switch.reset(by="alice", at=T0 + timedelta(minutes=5))
    assert not switch.engaged
    assert switch.reason is None
    assert switch.engaged_at is None
    assert [event for event, _, _ in switch.history] == ["engaged", "reset"]
    with pytest.raises(RiskError, match="not engaged"):
        switch.reset(by="alice", at=T0)


def test_engaging_needs_a_reason() -> None:
    with pytest.raises(RiskError, match="needs a reason"):
        KillSwitch().engage("", at=T0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_order_notional": d(0)}, "max_order_notional must be positive"),
        ({"position_limits": {"BTC-USD": d(-1)}}, r"position_limits\[BTC-USD\] must be positive"),
        ({"max_drawdown": d(1)}, "max_drawdown must be a fraction"),
        ({"price_band": d("NaN")}, "price_band must be a fraction"),
        ({"max_open_orders": 0}, "max_open_orders must be at least 1"),
    ],
)
def test_nonsense_limits_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(RiskError, match=message):
        RiskLimits(**fields)  # type: ignore[arg-type]


def test_equity_watermark_tracks_peak_and_utc_day_start() -> None:
    mark = EquityWatermark()
    mark.update(d(100), at=T0)
    mark.update(d(120), at=T0 + timedelta(hours=1))
    mark.update(d(90), at=T0 + timedelta(hours=2))
    assert (mark.peak, mark.day_start) == (d(120), d(100))
    mark.update(d(95), at=T0 + timedelta(days=1))
    assert (mark.peak, mark.day_start) == (d(120), d(95))
    with pytest.raises(RiskError, match="timezone-aware"):
        mark.update(d(1), at=T0.replace(tzinfo=None))


def test_a_held_product_without_a_price_denies_orders_and_is_a_breach() -> None:
    portfolio = _portfolio("1")
    portfolio.apply(fill(Side.BUY, "1", "10", product_id="ETH-USD", trade_id="e1"))
    context = _context(portfolio=portfolio, mids=MIDS)
    decision = pre_trade_check(market(Side.BUY, base="0.1"), context, RiskLimits(max_gross_exposure=d(10_000)))
    assert decision.rules == {RiskRule.NO_PRICE}
    assert "ETH-USD" in decision.reasons[0].message
    assert [b.rule for b in portfolio_check(context, RiskLimits())] == [RiskRule.NO_PRICE]


def test_a_withdrawal_is_not_a_loss_once_recorded() -> None:
    mark = EquityWatermark()
    mark.transfer(d(5))  # before any equity is seen there is nothing to shift
    assert mark.peak is None
    mark.update(d(1000), at=T0)
    mark.transfer(d(-400))
    mark.update(d(600), at=T0 + timedelta(minutes=1))
    assert (mark.peak, mark.day_start) == (d(600), d(600))
    context = _context(
        day_start_equity=mark.day_start, equity_peak=mark.peak, portfolio=Portfolio(cash={"USD": d(600)})
    )
    assert portfolio_check(context, RiskLimits(max_daily_loss=d(1), max_drawdown=d("0.01"))) == ()


def test_a_holding_quoted_in_another_currency_is_not_summed_into_usd_exposure() -> None:
    # 2 ETH-BTC at 0.05 is worth 0.1 BTC: adding "0.1" to a USD exposure would hide it from every limit.
    portfolio = _portfolio("1")
    portfolio.cash["BTC"] = d(1)
    portfolio.apply(fill(Side.BUY, "2", "0.05", product_id="ETH-BTC", trade_id="e1"))
    context = _context(portfolio=portfolio, mids={**MIDS, "ETH-BTC": d("0.05")})
    decision = pre_trade_check(market(Side.BUY, base="0.1"), context, RiskLimits(max_gross_exposure=d(10_000)))
    assert decision.rules == {RiskRule.NO_PRICE}
    assert "ETH-BTC" in decision.reasons[0].message
    assert [b.rule for b in portfolio_check(context, RiskLimits())] == [RiskRule.NO_PRICE]


def test_an_order_quoted_in_another_currency_cannot_be_held_to_usd_limits() -> None:
    context = _context(mids={**MIDS, "ETH-BTC": d("0.05")})
    decision = pre_trade_check(
        market(Side.BUY, base="2", product_id="ETH-BTC"), context, RiskLimits(max_order_notional=d(1))
    )
    assert decision.rules == {RiskRule.NO_PRICE}
    assert "BTC" in decision.reasons[0].message
