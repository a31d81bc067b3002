"""Paper fills as Coinbase would make them: market walks, limits, resting orders, stops, fees."""

from datetime import timedelta
from decimal import Decimal

import pytest

from cryptoj.domain.book import OrderBook
from cryptoj.domain.orders import Liquidity, OrderIntent, OrderStatus, OrderType, StopDirection, TimeInForce
from cryptoj.domain.paper import (
    IOC_REST_CANCELLED,
    FeeRates,
    PaperError,
    PaperResult,
    RestingOrder,
    RestingState,
    execute,
    on_book,
    on_trade,
    paper_trade_id,
)
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.side import Side
from tests.utils.fixtures.domain import T0, d, limit, make_book, market

BOOK = make_book(bids=[("99", "1"), ("98", "2")], asks=[("101", "1"), ("102", "2")])


def _run(intent: OrderIntent, fees: FeeRates, book: OrderBook = BOOK, **kwargs: object) -> PaperResult:
    return execute(intent, book, client_order_id="c1", fees=fees, at=T0, **kwargs)  # type: ignore[arg-type]


def _stop(side: Side, stop: str, limit_price: str, size: str = "1") -> OrderIntent:
    direction = StopDirection.STOP_UP if side is Side.BUY else StopDirection.STOP_DOWN
    return OrderIntent(
        "BTC-USD",
        side,
        OrderType.STOP_LIMIT,
        base_size=d(size),
        limit_price=d(limit_price),
        stop_price=d(stop),
        stop_direction=direction,
    )


def test_market_buy_walks_the_asks_with_taker_fees(fees: FeeRates) -> None:
    result = _run(market(Side.BUY, base="2"), fees)
    assert result.status is OrderStatus.FILLED
    assert [(f.price, f.size) for f in result.fills] == [(d(101), d(1)), (d(102), d(1))]
    assert [f.fee for f in result.fills] == [d("0.606"), d("0.612")]
    assert all(f.liquidity is Liquidity.TAKER for f in result.fills)
    assert result.filled_size == 2
    assert result.resting is None


def test_market_sell_walks_the_bids_down(fees: FeeRates) -> None:
    result = _run(market(Side.SELL, base="1.5"), fees)
    assert [(f.price, f.size, f.side) for f in result.fills] == [(d(99), d(1), Side.SELL), (d(98), d("0.5"), Side.SELL)]


def test_market_ioc_fills_what_the_book_holds_and_cancels_the_rest(fees: FeeRates) -> None:
    result = _run(market(Side.BUY, base="5"), fees)
    assert result.status is OrderStatus.CANCELLED
    assert result.filled_size == 3
    assert result.reason is not None


def test_market_fok_is_all_or_nothing(fees: FeeRates) -> None:
    assert _run(market(Side.BUY, base="5", fok=True), fees) == PaperResult(
        (), OrderStatus.CANCELLED, reason="FILL_OR_KILL could not fill entirely"
    )
    assert _run(market(Side.BUY, base="3", fok=True), fees).status is OrderStatus.FILLED
    assert _run(market(Side.BUY, quote="1000", fok=True), fees).status is OrderStatus.CANCELLED


def test_market_order_on_an_empty_side_is_rejected_for_no_liquidity(fees: FeeRates) -> None:
    result = _run(market(Side.BUY, base="1"), fees, make_book(bids=[("99", "1")]))
    assert (result.status, result.reason, result.fills) == (OrderStatus.REJECTED, "INVALID_NO_LIQUIDITY", ())


def test_quote_sized_market_buy_spends_at_most_its_quote_size_including_fee(fees: FeeRates) -> None:
    result = _run(market(Side.BUY, quote="150"), fees, size_increment=d("0.00000001"))
    spent = sum(f.notional + f.fee for f in result.fills)
    assert spent <= d(150)
    assert spent > d("149.99")
    assert result.status is OrderStatus.FILLED
    assert all(f.size == f.size.quantize(d("0.00000001")) for f in result.fills)


@pytest.mark.parametrize(
    ("quote", "taker", "asks"),
    [
        # Found by a random search: 28-digit rounding of the size and fee made these spend 1E-24 too much.
        ("5884.37", "0.0171", [("7793.69", "0.68342769"), ("2758.35", "0.5835348"), ("6535.05", "0.43103169")]),
        ("1416.08", "0.017", [("1415.54", "0.98138473"), ("7626.91", "0.3687956"), ("1846.99", "0.46881993")]),
    ],
)
def test_a_quote_sized_buy_never_spends_a_digit_past_its_quote_size(
    quote: str, taker: str, asks: list[tuple[str, str]]
) -> None:
    book = make_book(bids=[], asks=asks)
    result = _run(market(Side.BUY, quote=quote), FeeRates(maker=d(0), taker=d(taker)), book=book)
    assert result.fills
    assert sum(f.notional + f.fee for f in result.fills) <= d(quote)
    # What it means for an account: spending all its cash on one quote-sized buy is not refused.
    portfolio = Portfolio(cash={"USD": d(quote)})
    for f in result.fills:
        portfolio.apply(f)
    assert portfolio.cash_in("USD") >= 0


def test_quote_sized_market_sell_stops_at_the_proceeds_asked(fees: FeeRates) -> None:
    result = _run(market(Side.SELL, quote="148"), fees)
    assert sum(f.notional for f in result.fills) == d(148)
    assert result.filled_size == d("1.5")


def test_quote_sized_order_smaller_than_one_increment_fills_nothing(fees: FeeRates) -> None:
    result = _run(market(Side.BUY, quote="0.000001"), fees, size_increment=d("0.01"))
    assert (result.status, result.fills) == (OrderStatus.CANCELLED, ())


def test_limit_fills_what_crosses_and_rests_the_remainder(fees: FeeRates) -> None:
    result = _run(limit(Side.BUY, "3", "101.5"), fees)
    assert [(f.price, f.size) for f in result.fills] == [(d(101), d(1))]
    assert result.status is OrderStatus.OPEN
    assert result.resting == RestingOrder(
        "c1", limit(Side.BUY, "3", "101.5"), d(2), RestingState.RESTING, 1, taken=((d(101), d(1)),)
    )


def test_limit_that_does_not_cross_rests_whole(fees: FeeRates) -> None:
    result = _run(limit(Side.SELL, "1", "105"), fees)
    assert result.fills == ()
    assert result.resting is not None
    assert result.resting.remaining == 1


def test_ioc_limit_cancels_the_remainder(fees: FeeRates) -> None:
    result = _run(limit(Side.SELL, "2", "99", tif=TimeInForce.IMMEDIATE_OR_CANCEL), fees)
    assert result.filled_size == 1
    assert result.status is OrderStatus.CANCELLED


def test_fok_limit_fills_entirely_within_its_price_or_not_at_all(fees: FeeRates) -> None:
    assert _run(limit(Side.BUY, "2", "101", tif=TimeInForce.FILL_OR_KILL), fees).fills == ()
    assert _run(limit(Side.BUY, "2", "102", tif=TimeInForce.FILL_OR_KILL), fees).status is OrderStatus.FILLED


def test_post_only_that_would_cross_is_rejected(fees: FeeRates) -> None:
    result = _run(limit(Side.BUY, "1", "101", post_only=True), fees)
    assert (result.status, result.reason) == (OrderStatus.REJECTED, "INVALID_LIMIT_PRICE_POST_ONLY")
    assert _run(limit(Side.BUY, "1", "100", post_only=True), fees).status is OrderStatus.OPEN


def test_resting_order_fills_as_maker_at_its_price_when_a_later_book_crosses(fees: FeeRates) -> None:
    resting = _run(limit(Side.BUY, "3", "100"), fees).resting
    assert resting is not None
    later = make_book(bids=[("97", "1")], asks=[("99", "1"), ("100", "1"), ("100.5", "5")])
    result = on_book(resting, later, fees=fees, at=T0)
    # One fill per book, at the order's own price, for all that crossed it: as the sandbox's engine fills it.
    assert [(f.price, f.size, f.liquidity) for f in result.fills] == [(d(100), d(2), Liquidity.MAKER)]
    assert [f.fee for f in result.fills] == [d("0.8")]
    assert result.resting is not None
    assert result.resting.remaining == 1
    final = on_book(result.resting, make_book(asks=[("95", "9")]), fees=fees, at=T0)
    assert final.status is OrderStatus.FILLED
    ids = [f.trade_id for f in (*result.fills, *final.fills)]
    assert ids == [paper_trade_id("c1", n) for n in (1, 2)]


def test_resting_order_untouched_by_a_book_that_does_not_cross(fees: FeeRates) -> None:
    resting = _run(limit(Side.SELL, "1", "110"), fees).resting
    assert resting is not None
    result = on_book(resting, BOOK, fees=fees, at=T0)
    assert (result.fills, result.resting) == ((), resting)


def test_a_trade_through_the_price_fills_a_resting_order_up_to_its_size(fees: FeeRates) -> None:
    resting = _run(limit(Side.SELL, "2", "105"), fees).resting
    assert resting is not None
    at_price = on_trade(resting, price=d(105), size=d(5), fees=fees, at=T0)
    assert at_price.fills == ()
    through = on_trade(resting, price=d("105.5"), size=d("0.5"), fees=fees, at=T0)
    assert [(f.price, f.size, f.liquidity) for f in through.fills] == [(d(105), d("0.5"), Liquidity.MAKER)]
    assert through.resting is not None
    rest = on_trade(through.resting, price=d(106), size=d(9), fees=fees, at=T0)
    assert (rest.status, rest.filled_size) == (OrderStatus.FILLED, d("1.5"))


def test_a_trade_needs_a_positive_price_and_size(fees: FeeRates) -> None:
    resting = _run(limit(Side.SELL, "1", "105"), fees).resting
    assert resting is not None
    with pytest.raises(PaperError, match="positive price and size"):
        on_trade(resting, price=d(0), size=d(1), fees=fees, at=T0)


def test_gtd_order_expires_at_its_end_time(fees: FeeRates) -> None:
    end = T0 + timedelta(hours=1)
    intent = limit(Side.BUY, "1", "90", tif=TimeInForce.GOOD_UNTIL_DATE_TIME, end_time=end)
    resting = _run(intent, fees).resting
    assert resting is not None
    assert on_book(resting, BOOK, fees=fees, at=end).status is OrderStatus.EXPIRED
    assert on_trade(resting, price=d(80), size=d(1), fees=fees, at=end).status is OrderStatus.EXPIRED
    late = execute(intent, BOOK, client_order_id="c2", fees=fees, at=end)
    # Coinbase refuses a GTD order whose end time has passed: it never rests, so it cannot expire.
    assert (late.status, late.reason, late.fills) == (OrderStatus.REJECTED, "PREVIEW_END_TIME_IS_IN_THE_PAST", ())


def test_stop_limit_waits_for_its_trigger_then_takes_from_the_book(fees: FeeRates) -> None:
    waiting = _run(_stop(Side.BUY, "101", "102", "2"), fees)
    assert (waiting.status, waiting.fills) == (OrderStatus.OPEN, ())
    resting = waiting.resting
    assert resting is not None
    assert resting.state is RestingState.WAITING_TRIGGER
    assert on_book(resting, BOOK, fees=fees, at=T0).resting == resting
    assert on_trade(resting, price=d("100.9"), size=d(1), fees=fees, at=T0).resting == resting
    triggered = on_trade(resting, price=d(101), size=d(1), fees=fees, at=T0, book=BOOK)
    assert [(f.price, f.liquidity) for f in triggered.fills] == [(d(101), Liquidity.TAKER), (d(102), Liquidity.TAKER)]
    assert triggered.status is OrderStatus.FILLED


def test_stop_limit_triggered_without_a_book_takes_from_the_next_one(fees: FeeRates) -> None:
    resting = _run(_stop(Side.SELL, "99", "98.5"), fees).resting
    assert resting is not None
    triggered = on_trade(resting, price=d(99), size=d(1), fees=fees, at=T0)
    assert triggered.resting is not None
    assert triggered.resting.state is RestingState.TRIGGERED
    assert on_trade(triggered.resting, price=d(99), size=d(1), fees=fees, at=T0).resting == triggered.resting
    filled = on_book(triggered.resting, BOOK, fees=fees, at=T0)
    assert [(f.price, f.liquidity) for f in filled.fills] == [(d(99), Liquidity.TAKER)]
    again = on_trade(triggered.resting, price=d(99), size=d(1), fees=fees, at=T0, book=BOOK)
    assert again.status is OrderStatus.FILLED


@pytest.mark.parametrize(
    ("side", "stop", "last", "reason"),
    [
        (Side.SELL, "100", "99", "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE"),
        (Side.SELL, "100", "100", "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE"),
        (Side.BUY, "101", "101.5", "PREVIEW_STOP_PRICE_BELOW_LAST_TRADE_PRICE"),
    ],
)
def test_a_stop_limit_the_last_trade_already_reached_is_rejected_as_coinbase_does(
    fees: FeeRates, side: Side, stop: str, last: str, reason: str
) -> None:
    # Coinbase refuses the stop rather than trigger it at once (the sandbox's engine does the same).
    result = _run(_stop(side, stop, "98" if side is Side.SELL else "102", "5"), fees, last_trade_price=d(last))
    assert (result.status, result.reason, result.fills, result.resting) == (OrderStatus.REJECTED, reason, (), None)


def test_a_stop_limit_on_the_right_side_of_the_last_trade_waits(fees: FeeRates) -> None:
    result = _run(_stop(Side.SELL, "100", "98"), fees, last_trade_price=d(101))
    assert (result.status, result.fills) == (OrderStatus.OPEN, ())
    assert result.resting is not None
    assert result.resting.state is RestingState.WAITING_TRIGGER


def test_crossed_books_and_other_products_are_refused(fees: FeeRates) -> None:
    with pytest.raises(PaperError, match="crossed"):
        _run(market(Side.BUY, base="1"), fees, make_book(bids=[("101", "1")], asks=[("100", "1")]))
    with pytest.raises(PaperError, match="book is for ETH-USD"):
        _run(market(Side.BUY, base="1"), fees, make_book(asks=[("1", "1")], product_id="ETH-USD"))


def test_fee_rates_must_be_fractions() -> None:
    with pytest.raises(PaperError, match="taker fee rate"):
        FeeRates(maker=Decimal(0), taker=Decimal(1))


def test_the_same_inputs_give_the_same_fills(fees: FeeRates) -> None:
    assert _run(market(Side.BUY, base="2"), fees) == _run(market(Side.BUY, base="2"), fees)


def test_a_level_the_order_already_took_does_not_fill_it_again(fees: FeeRates) -> None:
    # The market's book never learns of paper fills: the ask at 101 stays visible after we took it.
    resting = _run(limit(Side.BUY, "3", "101.5"), fees).resting
    assert resting is not None
    same = on_book(resting, BOOK, fees=fees, at=T0)
    assert (same.fills, same.resting) == ((), resting)
    grown = on_book(resting, make_book(asks=[("101", "1.25"), ("102", "2")]), fees=fees, at=T0)
    assert [(f.price, f.size) for f in grown.fills] == [(d("101.5"), d("0.25"))]
    assert grown.resting is not None
    assert grown.resting.taken == ((d(101), d("1.25")),)


def test_a_level_that_shrank_or_left_offers_only_its_new_liquidity(fees: FeeRates) -> None:
    resting = _run(limit(Side.BUY, "3", "101.5"), fees).resting
    assert resting is not None
    shrunk = on_book(resting, make_book(asks=[("101", "0.5")]), fees=fees, at=T0)
    assert shrunk.fills == ()
    assert shrunk.resting is not None
    assert shrunk.resting.taken == ((d(101), d("0.5")),)
    regrown = on_book(shrunk.resting, make_book(asks=[("101", "2")]), fees=fees, at=T0)
    assert regrown.filled_size == d("1.5")
    left = on_book(resting, make_book(asks=[("103", "1")]), fees=fees, at=T0)
    assert left.resting is not None
    assert left.resting.taken == ()


def test_a_quote_sized_buy_that_uses_the_whole_book_exactly_is_filled() -> None:
    # 305 buys every ask to the last unit: the budget, not the book, ran out (was CANCELLED).
    result = _run(market(Side.BUY, quote="305"), FeeRates(maker=d(0), taker=d(0)), size_increment=d("0.00000001"))
    assert (result.status, result.filled_size) == (OrderStatus.FILLED, d(3))
    assert _run(market(Side.BUY, quote="305", fok=True), FeeRates(maker=d(0), taker=d(0))).status is OrderStatus.FILLED


def test_a_quote_sized_buy_the_book_cannot_hold_fills_what_it_can_and_cancels_the_rest(fees: FeeRates) -> None:
    result = _run(market(Side.BUY, quote="400"), fees, size_increment=d("0.00000001"))
    assert (result.status, result.filled_size, result.reason) == (OrderStatus.CANCELLED, d(3), IOC_REST_CANCELLED)
