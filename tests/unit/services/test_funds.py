"""The funds check: what a buy or a sell needs, against what is free (cash and base not held by working orders)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from cryptoj.domain.book import OrderBook
from cryptoj.domain.orders import Fill, Liquidity, OrderIntent, OrderType, TimeInForce
from cryptoj.domain.paper import FeeRates
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.side import Side
from cryptoj.services.funds import INSUFFICIENT_FUND, buy_cost, shortfall

FEES = FeeRates(maker=Decimal("0.001"), taker=Decimal("0.002"))
IOC = TimeInForce.IMMEDIATE_OR_CANCEL


def _book() -> OrderBook:
    book = OrderBook("BTC-USD")
    book.apply_snapshot([(Decimal(99), Decimal(1))], [(Decimal(100), Decimal(1)), (Decimal(110), Decimal(1))])
    return book


def _holding(btc: str, usd: str) -> Portfolio:
    portfolio = Portfolio(cash={"USD": Decimal(usd) + Decimal(btc) * 100})
    if Decimal(btc):
        at = datetime.now(UTC)
        portfolio.apply(
            Fill("t", "c", "BTC-USD", Side.BUY, Decimal(100), Decimal(btc), Decimal(0), Liquidity.TAKER, at)
        )
    return portfolio


def test_a_buy_costs_its_quote_size_its_limit_value_or_the_books_price_for_its_size() -> None:
    quote = OrderIntent("BTC-USD", Side.BUY, OrderType.MARKET, quote_size=Decimal(50), time_in_force=IOC)
    limit = OrderIntent("BTC-USD", Side.BUY, OrderType.LIMIT, base_size=Decimal(2), limit_price=Decimal(105))
    market = OrderIntent("BTC-USD", Side.BUY, OrderType.MARKET, base_size=Decimal("1.5"), time_in_force=IOC)
    assert buy_cost(quote, _book(), FEES) == Decimal(50)  # the fee is inside a quote-sized buy
    assert buy_cost(limit, _book(), FEES) == Decimal(2) * 105 * Decimal("1.002")
    assert buy_cost(market, _book(), FEES) == (100 + Decimal("0.5") * 110) * Decimal("1.002")


def test_what_working_orders_hold_is_not_free() -> None:
    buy = OrderIntent("BTC-USD", Side.BUY, OrderType.MARKET, quote_size=Decimal(50), time_in_force=IOC)
    assert shortfall(buy, _holding("0", "60"), _book(), FEES) is None
    refused = shortfall(buy, _holding("0", "60"), _book(), FEES, held_cash={"USD": Decimal(20)})
    assert refused is not None
    assert refused.startswith(INSUFFICIENT_FUND)
    assert "40 USD is free" in refused


def test_a_sell_needs_its_base_and_a_quote_sized_sell_is_valued_at_the_best_bid() -> None:
    base_sell = OrderIntent("BTC-USD", Side.SELL, OrderType.MARKET, base_size=Decimal(2), time_in_force=IOC)
    quote_sell = OrderIntent("BTC-USD", Side.SELL, OrderType.MARKET, quote_size=Decimal(198), time_in_force=IOC)
    holding = _holding("2", "0")
    assert shortfall(base_sell, holding, _book(), FEES) is None
    assert shortfall(base_sell, holding, _book(), FEES, held_base={"BTC-USD": Decimal(1)}) is not None
    assert shortfall(quote_sell, holding, _book(), FEES) is None  # 198 / 99 = 2 BTC
    too_much = OrderIntent("BTC-USD", Side.SELL, OrderType.MARKET, quote_size=Decimal(199), time_in_force=IOC)
    refused = shortfall(too_much, holding, _book(), FEES)
    assert refused is not None
    assert "BTC" in refused
    empty = OrderBook("BTC-USD")
    assert shortfall(too_much, holding, empty, FEES) is None  # no bid to value it at: the exchange decides
