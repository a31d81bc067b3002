"""Positions and the portfolio: average cost, PnL, fees, cash, and no shorting on spot."""

import pytest

from cryptoj.domain.positions import (
    InsufficientFunds,
    MissingMark,
    Portfolio,
    Position,
    PositionError,
    ShortSellRefused,
)
from cryptoj.domain.side import Side
from tests.utils.fixtures.domain import d, fill


def test_buys_build_average_cost() -> None:
    position = Position("BTC-USD")
    assert position.average_cost is None
    position.apply(fill(Side.BUY, "1", "100", trade_id="t1"))
    position.apply(fill(Side.BUY, "3", "120", trade_id="t2"))
    assert position.size == d(4)
    assert position.average_cost == d(115)
    assert position.unrealized_pnl(d(130)) == d(60)
    assert position.market_value(d(130)) == d(520)


def test_a_partial_sell_realizes_pnl_against_average_cost() -> None:
    position = Position("BTC-USD")
    position.apply(fill(Side.BUY, "2", "100", fee="1", trade_id="t1"))
    position.apply(fill(Side.SELL, "0.5", "110", fee="0.5", trade_id="t2"))
    assert position.size == d("1.5")
    assert position.realized_pnl == d(5)
    assert position.average_cost == d(100)
    assert position.fees == d("1.5")
    assert position.net_pnl(d(100)) == d("3.5")


def test_selling_everything_leaves_a_flat_position_with_no_cost() -> None:
    position = Position("BTC-USD")
    position.apply(fill(Side.BUY, "3", "10", trade_id="t1"))
    position.apply(fill(Side.BUY, "7", "11", trade_id="t2"))
    position.apply(fill(Side.SELL, "10", "9", trade_id="t3"))
    assert position.is_flat
    assert position.cost_basis == 0
    assert position.realized_pnl == d(90) - d(107)


def test_cannot_sell_more_than_position_and_nothing_changes() -> None:
    position = Position("BTC-USD")
    position.apply(fill(Side.BUY, "1", "100", trade_id="t1"))
    with pytest.raises(ShortSellRefused, match="spot cannot go short"):
        position.apply(fill(Side.SELL, "1.5", "100", trade_id="t2"))
    assert (position.size, position.cost_basis, position.realized_pnl) == (d(1), d(100), d(0))
    assert "t2" not in position.trade_ids


def test_a_repeated_trade_is_applied_once() -> None:
    position = Position("BTC-USD")
    buy = fill(Side.BUY, "1", "100", fee="1", trade_id="t1")
    assert position.apply(buy)
    assert not position.apply(buy)
    assert (position.size, position.fees) == (d(1), d(1))


def test_a_repeated_sell_of_the_whole_position_is_ignored_not_refused() -> None:
    position = Position("BTC-USD")
    position.apply(fill(Side.BUY, "1", "100", trade_id="t1"))
    sell = fill(Side.SELL, "1", "100", trade_id="t2")
    assert position.apply(sell)
    assert not position.apply(sell)


def test_a_fill_for_another_product_is_refused() -> None:
    with pytest.raises(PositionError, match="is for ETH-USD, not BTC-USD"):
        Position("BTC-USD").apply(fill(Side.BUY, "1", "1", product_id="ETH-USD"))


def test_portfolio_moves_quote_cash_with_fees() -> None:
    portfolio = Portfolio(cash={"USD": d(1000)})
    portfolio.apply(fill(Side.BUY, "2", "100", fee="1.2", trade_id="t1"))
    assert portfolio.cash_in("USD") == d("798.8")
    portfolio.apply(fill(Side.SELL, "1", "150", fee="0.9", trade_id="t2"))
    assert portfolio.cash_in("USD") == d("947.9")
    assert portfolio.size("BTC-USD") == d(1)
    assert portfolio.realized_pnl() == d(50)
    assert portfolio.fees() == d("2.1")


def test_portfolio_refuses_a_buy_it_cannot_pay_and_changes_nothing() -> None:
    portfolio = Portfolio(cash={"USD": d(100)})
    with pytest.raises(InsufficientFunds, match=r"costs 100\.6 USD, only 100 USD held"):
        portfolio.apply(fill(Side.BUY, "1", "100", fee="0.6"))
    assert portfolio.cash == {"USD": d(100)}
    assert portfolio.positions == {}


def test_portfolio_refuses_a_short_sale_and_changes_nothing() -> None:
    portfolio = Portfolio(cash={"USD": d(100)})
    with pytest.raises(ShortSellRefused):
        portfolio.apply(fill(Side.SELL, "1", "100"))
    assert portfolio.cash == {"USD": d(100)}
    assert portfolio.positions == {}


def test_portfolio_ignores_a_repeated_fill() -> None:
    portfolio = Portfolio(cash={"USD": d(1000)})
    buy = fill(Side.BUY, "1", "100", fee="1")
    assert portfolio.apply(buy)
    assert not portfolio.apply(buy)
    assert portfolio.cash_in("USD") == d(899)


def test_equity_exposure_and_unrealized_pnl_at_marks() -> None:
    portfolio = Portfolio(cash={"USD": d(1000), "EUR": d(50)})
    portfolio.apply(fill(Side.BUY, "1", "100", trade_id="t1"))
    portfolio.apply(fill(Side.BUY, "2", "10", trade_id="t2", product_id="ETH-USD"))
    marks = {"BTC-USD": d(110), "ETH-USD": d(20)}
    assert portfolio.exposure(marks) == d(150)
    assert portfolio.exposure(marks, product_id="ETH-USD") == d(40)
    assert portfolio.exposure({}, product_id="SOL-USD") == 0
    assert portfolio.equity(marks) == d(880) + d(150)
    assert portfolio.equity(marks, currency="EUR") == d(50)
    assert portfolio.unrealized_pnl(marks) == d(30)


def test_valuation_without_a_price_for_a_held_product_is_an_error() -> None:
    portfolio = Portfolio(cash={"USD": d(1000)})
    portfolio.apply(fill(Side.BUY, "1", "100"))
    with pytest.raises(MissingMark, match="no price given for BTC-USD"):
        portfolio.equity({})
    with pytest.raises(MissingMark):
        portfolio.exposure({}, product_id="BTC-USD")


def test_a_partial_sell_of_a_very_large_position_does_not_overflow_decimal_precision() -> None:
    position = Position("BTC-USD")
    position.apply(fill(Side.BUY, "3", "12345678901.23", trade_id="t1"))
    position.apply(fill(Side.SELL, "1", "12345678901.23", trade_id="t2"))
    assert position.size == d(2)
    assert abs(position.realized_pnl) < d("0.000001")
