"""The matching engine: fills, fees, holds, partial fills, status transitions, dedupe and rejections."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cryptoj.domain.orders import Liquidity, OrderStatus
from cryptoj.sandbox.engine import Engine, Ledger, Rejection
from tests.unit.sandbox.conftest import ME, NOW, FakeMarket, balance, order_body, place

D = Decimal


def test_market_buy_walks_the_asks_and_pays_the_taker_fee(engine: Engine) -> None:
    order = place(engine, "market_market_ioc", base_size="1.5")
    assert order.status is OrderStatus.FILLED
    assert order.filled_size == D("1.5")
    assert order.filled_value == D("101") + D("51")  # 1 @ 101, 0.5 @ 102
    assert order.fees == D("152") * D("0.002")
    assert balance(engine, "USD") == (D("1000") - D("152") - D("0.304"), D(0))
    assert balance(engine, "BTC") == (D("3.5"), D(0))
    fills = engine.fills(ME)
    assert [(f.price, f.size, f.liquidity) for f in reversed(fills)] == [
        (D("101"), D("1"), Liquidity.TAKER),
        (D("102"), D("0.5"), Liquidity.TAKER),
    ]


def test_quote_sized_market_buy_never_spends_more_than_the_quote_size(engine: Engine) -> None:
    order = place(engine, "market_market_ioc", quote_size="50")
    assert order.status is OrderStatus.FILLED
    spent = D("1000") - balance(engine, "USD")[0]
    assert D("49.9") < spent <= D("50")
    assert balance(engine, "USD")[1] == 0


def test_market_sell_credits_quote_minus_fee(engine: Engine) -> None:
    order = place(engine, "market_market_ioc", side="SELL", base_size="1")
    assert order.status is OrderStatus.FILLED
    assert balance(engine, "USD")[0] == D("1000") + D("99") - D("99") * D("0.002")
    assert balance(engine, "BTC") == (D("1"), D(0))


def test_resting_limit_buy_holds_price_times_size_plus_taker_fee(engine: Engine) -> None:
    order = place(engine, "limit_limit_gtc", base_size="2", limit_price="90")
    assert order.status is OrderStatus.OPEN
    assert balance(engine, "USD") == (D("1000"), D("180") * D("1.002"))


def test_cancel_releases_the_hold_and_ends_cancelled(engine: Engine, updates: list[tuple[str, str]]) -> None:
    order = place(engine, "limit_limit_gtc", base_size="2", limit_price="90")
    (result,) = engine.cancel(ME, [order.order_id], now=NOW)
    assert result.success
    assert result.failure_reason == "UNKNOWN_CANCEL_FAILURE_REASON"
    assert order.status is OrderStatus.CANCELLED
    assert balance(engine, "USD") == (D("1000"), D(0))
    assert updates == [("c1", "PENDING"), ("c1", "OPEN"), ("c1", "CANCEL_QUEUED"), ("c1", "CANCELLED")]


def test_batch_cancel_fails_a_bad_id_alone(engine: Engine) -> None:
    order = place(engine, "limit_limit_gtc", base_size="1", limit_price="90")
    results = engine.cancel(ME, ["no-such-order", order.order_id], now=NOW)
    assert [(r.success, r.failure_reason) for r in results] == [
        (False, "INVALID_CANCEL_REQUEST"),
        (True, "UNKNOWN_CANCEL_FAILURE_REASON"),
    ]
    again = engine.cancel(ME, [order.order_id], now=NOW)
    assert again[0].failure_reason == "DUPLICATE_CANCEL_REQUEST"


def test_another_keys_order_cannot_be_cancelled_or_seen(engine: Engine) -> None:
    order = place(engine, "limit_limit_gtc", base_size="1", limit_price="90")
    assert engine.order("someone-else", order.order_id) is None
    assert engine.cancel("someone-else", [order.order_id], now=NOW)[0].failure_reason == "INVALID_CANCEL_REQUEST"


def test_resting_order_fills_as_maker_when_the_market_crosses_it(engine: Engine, market: FakeMarket) -> None:
    order = place(engine, "limit_limit_gtc", base_size="1.5", limit_price="95")
    market.books["BTC-USD"].apply_snapshot(bids=[(D("93"), D("1"))], asks=[(D("94"), D("1")), (D("95"), D("0.2"))])
    engine.on_market("BTC-USD", now=NOW)
    # Partial: only 1.2 of liquidity sits at or below 95.
    assert order.status is OrderStatus.OPEN
    assert order.filled_size == D("1.2")
    assert engine.fills(ME)[0].liquidity is Liquidity.MAKER
    assert engine.fills(ME)[0].price == D("95")  # a maker fills at its own limit
    engine.on_market("BTC-USD", now=NOW)
    assert order.status is OrderStatus.FILLED
    assert order.fees == D("1.5") * D("95") * D("0.001")
    assert balance(engine, "USD")[1] == 0  # the rest of the hold (taker allowance) is released


def test_limit_ioc_fills_what_it_can_and_cancels_the_rest(engine: Engine) -> None:
    order = place(engine, "sor_limit_ioc", base_size="3", limit_price="101")
    assert order.filled_size == D("1")
    assert order.status is OrderStatus.CANCELLED
    assert balance(engine, "USD")[1] == 0


def test_fill_or_kill_that_cannot_fill_entirely_fills_nothing(engine: Engine) -> None:
    order = place(engine, "limit_limit_fok", base_size="3", limit_price="101")
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_size == 0
    assert engine.fills(ME) == []
    filled = place(engine, "limit_limit_fok", base_size="3", limit_price="102", coid="c2")
    assert filled.status is OrderStatus.FILLED


def test_repeated_client_order_id_returns_the_existing_order(engine: Engine) -> None:
    first = place(engine, "limit_limit_gtc", base_size="1", limit_price="90")
    again = place(engine, "limit_limit_gtc", base_size="5", limit_price="80")
    assert again is first
    assert len(engine.orders(ME)) == 1
    assert balance(engine, "USD")[1] == D("90") * D("1.002")


def test_the_same_client_order_id_from_another_key_is_a_new_order_of_that_key(engine: Engine) -> None:
    mine = place(engine, "limit_limit_gtc", base_size="1", limit_price="90")
    theirs = engine.create(
        "organizations/test/apiKeys/other", order_body("limit_limit_gtc", base_size="1", limit_price="80"), now=NOW
    )
    assert theirs.order_id != mine.order_id
    assert (theirs.owner, theirs.limit_price) == ("organizations/test/apiKeys/other", D("80"))
    assert engine.orders(ME) == [mine]


def test_stop_limit_waits_then_triggers_when_the_last_trade_crosses(engine: Engine, market: FakeMarket) -> None:
    order = place(
        engine,
        "stop_limit_stop_limit_gtc",
        base_size="1",
        limit_price="103",
        stop_price="102",
        stop_direction="STOP_DIRECTION_STOP_UP",
    )
    assert order.status is OrderStatus.OPEN
    assert order.trigger_status == "STOP_PENDING"
    engine.on_market("BTC-USD", now=NOW)
    assert order.filled_size == 0
    market.last["BTC-USD"] = D("102.5")
    engine.on_market("BTC-USD", now=NOW)
    assert order.trigger_status == "STOP_TRIGGERED"
    assert order.status is OrderStatus.FILLED
    assert order.filled_value == D("101")


@pytest.mark.parametrize(
    ("direction", "traded", "fires"),
    [
        ("STOP_DIRECTION_STOP_UP", ("99", "102"), True),  # a print reached 102, the last fell back to 100
        ("STOP_DIRECTION_STOP_UP", ("99", "101.99"), False),
        ("STOP_DIRECTION_STOP_DOWN", ("98", "101"), True),
        ("STOP_DIRECTION_STOP_DOWN", ("98.01", "101"), False),
    ],
)
def test_a_stop_fires_when_any_trade_since_the_last_step_reached_it(
    engine: Engine, direction: str, traded: tuple[str, str], fires: bool
) -> None:
    up = direction.endswith("UP")
    config = {"base_size": "0.5", "stop_direction": direction}
    config |= {"stop_price": "102", "limit_price": "103"} if up else {"stop_price": "98", "limit_price": "97"}
    order = place(engine, "stop_limit_stop_limit_gtc", side="BUY" if up else "SELL", **config)
    engine.on_market("BTC-USD", now=NOW, traded=(D(traded[0]), D(traded[1])))  # the last trade is still 100
    assert (order.trigger_status == "STOP_TRIGGERED") is fires


def test_gtd_order_expires_at_its_end_time_and_releases_its_hold(engine: Engine) -> None:
    end = NOW + timedelta(minutes=5)
    order = place(engine, "limit_limit_gtd", base_size="1", limit_price="90", end_time=end.isoformat())
    engine.on_market("BTC-USD", now=NOW + timedelta(minutes=1))
    assert order.status is OrderStatus.OPEN
    engine.on_market("BTC-USD", now=end)
    assert order.status is OrderStatus.EXPIRED
    assert balance(engine, "USD")[1] == 0


def test_edit_changes_price_and_size_and_rebalances_the_hold(engine: Engine, updates: list[tuple[str, str]]) -> None:
    order = place(engine, "limit_limit_gtc", base_size="1", limit_price="90")
    engine.edit(ME, order.order_id, D("80"), D("2"), now=NOW)
    assert (order.limit_price, order.base_size) == (D("80"), D("2"))
    assert balance(engine, "USD")[1] == D("160") * D("1.002")
    assert [e.price for e in order.edit_history] == [D("80")]
    assert updates[-2:] == [("c1", "EDIT_QUEUED"), ("c1", "OPEN")]


def test_edit_that_crosses_the_book_fills_at_once(engine: Engine) -> None:
    order = place(engine, "limit_limit_gtc", base_size="1", limit_price="90")
    engine.edit(ME, order.order_id, D("101"), D("1"), now=NOW)
    assert order.status is OrderStatus.FILLED


def test_only_open_limit_gtc_orders_can_be_edited(engine: Engine) -> None:
    ioc = place(engine, "sor_limit_ioc", base_size="0.5", limit_price="101")
    with pytest.raises(Rejection, match="COMMANDER_REJECTED_EDIT_ORDER"):
        engine.edit(ME, ioc.order_id, D("100"), D("1"), now=NOW)
    with pytest.raises(Rejection, match="ORDER_NOT_FOUND"):
        engine.edit(ME, "missing", D("100"), D("1"), now=NOW)


@pytest.mark.parametrize(
    ("price", "size", "error"),
    [
        # `%` on these raised decimal.InvalidOperation (quotient past 28 digits): an HTTP 500.
        ("1e40", "1", "INSUFFICIENT_FUND"),
        ("90", "1e40", "COMMANDER_REJECTED_EDIT_ORDER"),
        ("90.001", "1", "INVALID_PRICE_PRECISION"),
        ("90", "1.000000001", "INVALID_SIZE_PRECISION"),
    ],
)
def test_an_edit_to_an_absurd_or_off_grid_price_or_size_is_refused(
    engine: Engine, price: str, size: str, error: str
) -> None:
    order = place(engine, "limit_limit_gtc", base_size="1", limit_price="90")
    with pytest.raises(Rejection, match=error):
        engine.edit(ME, order.order_id, D(price), D(size), now=NOW)
    assert (order.limit_price, order.base_size) == (D("90"), D("1"))


def test_edit_preview_lists_why_an_edit_would_fail(engine: Engine) -> None:
    order = place(engine, "limit_limit_gtc", base_size="1", limit_price="90")
    ok = engine.edit_preview(ME, order.order_id, D("91"), D("1"))
    assert ok["errors"] == []
    bad = engine.edit_preview(ME, order.order_id, D("91.001"), D("1"))
    assert bad["errors"] == [
        {"edit_failure_reason": "INVALID_PRICE_PRECISION", "preview_failure_reason": "PREVIEW_INVALID_PRICE_PRECISION"}
    ]


def test_preview_estimates_without_placing(engine: Engine) -> None:
    body = order_body("market_market_ioc", base_size="1.5")
    del body["client_order_id"]
    preview = engine.preview(ME, body, now=NOW)
    assert preview["errs"] == []
    assert D(preview["quote_size"]) == D("152")
    assert D(preview["commission_total"]) == D("0.304")
    assert engine.orders(ME) == []
    broke = engine.preview(ME, order_body("limit_limit_gtc", base_size="50", limit_price="90"), now=NOW)
    assert broke["errs"] == ["PREVIEW_INSUFFICIENT_FUND"]


def test_filled_order_cannot_be_cancelled(engine: Engine) -> None:
    order = place(engine, "market_market_ioc", base_size="0.1")
    assert engine.cancel(ME, [order.order_id], now=NOW)[0].failure_reason == "ORDER_IS_FULLY_FILLED"


def test_volume_and_fees_sum_the_fills(engine: Engine) -> None:
    place(engine, "market_market_ioc", base_size="1")
    assert engine.total_volume_and_fees(ME) == (D("101"), D("0.202"))


def test_quote_sized_market_sell_sells_what_the_quote_buys(engine: Engine) -> None:
    order = place(engine, "market_market_ioc", side="SELL", quote_size="99")
    assert order.status is OrderStatus.FILLED
    assert order.filled_size == D("1")
    assert balance(engine, "BTC") == (D("1"), D(0))


def test_market_fill_or_kill_without_depth_fills_nothing(engine: Engine) -> None:
    order = place(engine, "market_market_fok", base_size="5")
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_size == 0
    assert balance(engine, "USD") == (D("1000"), D(0))


def test_quote_sized_market_fill_or_kill_the_book_cannot_hold_fills_nothing(engine: Engine) -> None:
    order = place(engine, "market_market_fok", quote_size="900")  # the asks hold 305 USD
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_size == 0
    assert engine.fills(ME) == []
    assert balance(engine, "USD") == (D("1000"), D(0))


def test_quote_sized_market_fill_or_kill_the_book_holds_fills(engine: Engine) -> None:
    order = place(engine, "market_market_fok", quote_size="200")
    assert order.status is OrderStatus.FILLED
    assert D("199") < D("1000") - balance(engine, "USD")[0] <= D("200")


def test_quote_sized_market_order_larger_than_the_book_ends_cancelled_with_what_filled(engine: Engine) -> None:
    order = place(engine, "market_market_ioc", quote_size="900")  # the asks hold 305 USD
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_size == D("3")
    assert balance(engine, "USD") == (D("1000") - D("305") * D("1.002"), D(0))


def test_market_order_larger_than_the_book_ends_cancelled_with_what_filled(engine: Engine) -> None:
    order = place(engine, "market_market_ioc", side="SELL", base_size="2")
    # Bids hold 3 BTC but the key owns 2: all of it sells.
    assert order.status is OrderStatus.FILLED
    big = Engine(
        products=engine.products,
        ledger=Ledger(seed=1, created_at=NOW, funding={"USD": D("100000"), "BTC": D("0")}),
        market=engine.market,
        fee_tier=engine.fee_tier,
        seed=2,
    )
    partial = big.create(ME, order_body("market_market_ioc", base_size="5"), now=NOW)
    assert partial.status is OrderStatus.CANCELLED
    assert partial.filled_size == D("3")
    assert big.ledger.account(ME, "USD").hold == 0


def test_sell_edit_rebalances_the_base_hold(engine: Engine) -> None:
    order = place(engine, "limit_limit_gtc", side="SELL", base_size="1", limit_price="110")
    assert balance(engine, "BTC") == (D("2"), D("1"))
    engine.edit(ME, order.order_id, D("120"), D("0.5"), now=NOW)
    assert balance(engine, "BTC") == (D("2"), D("0.5"))
    with pytest.raises(Rejection, match="INSUFFICIENT_FUND"):
        engine.edit(ME, order.order_id, D("120"), D("5"), now=NOW)
    with pytest.raises(Rejection, match="INVALID_SIZE_PRECISION"):
        engine.edit(ME, order.order_id, D("120"), D("0"), now=NOW)


def test_post_only_edit_that_would_cross_is_refused(engine: Engine) -> None:
    order = place(engine, "limit_limit_gtc", base_size="1", limit_price="90", post_only=True)
    with pytest.raises(Rejection, match="POST_ONLY"):
        engine.edit(ME, order.order_id, D("101"), D("1"), now=NOW)


def test_preview_of_a_bad_order_lists_the_reason(engine: Engine) -> None:
    body = order_body("limit_limit_gtc", base_size="1", limit_price="101", post_only=True)
    assert engine.preview(ME, body, now=NOW)["errs"] == ["PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY"]
    rejected = engine.preview(ME, order_body("limit_limit_gtc", base_size="1", limit_price="90.001"), now=NOW)
    assert rejected["errs"] == ["PREVIEW_INVALID_PRICE_PRECISION"]
    assert rejected["base_size"] == "0"
    assert engine.edit_preview(ME, "missing", D("1"), D("1"))["errors"][0]["edit_failure_reason"] == "ORDER_NOT_FOUND"


def test_resting_sell_fills_as_maker_when_bids_rise_to_it(engine: Engine, market: FakeMarket) -> None:
    order = place(engine, "limit_limit_gtc", side="SELL", base_size="0.5", limit_price="105")
    market.books["BTC-USD"].apply_snapshot(bids=[(D("106"), D("3"))], asks=[(D("107"), D("1"))])
    engine.on_market("BTC-USD", now=NOW)
    assert order.status is OrderStatus.FILLED
    assert balance(engine, "USD")[0] == D("1000") + D("52.5") - D("52.5") * D("0.001")


def test_market_order_on_an_empty_side_is_rejected_for_no_liquidity(engine: Engine, market: FakeMarket) -> None:
    # Coinbase's INVALID_NO_LIQUIDITY, as the paper model answers too (it was accepted and CANCELLED).
    market.books["BTC-USD"].apply_snapshot(bids=[(D("99"), D("1"))], asks=[])
    with pytest.raises(Rejection, match="INVALID_NO_LIQUIDITY") as caught:
        place(engine, "market_market_ioc", quote_size="10")
    assert caught.value.preview_reason == "PREVIEW_INVALID_NO_LIQUIDITY"
    assert engine.orders(ME) == []
    assert balance(engine, "USD") == (D("1000"), D(0))
    body = order_body("market_market_fok", base_size="1")
    assert engine.preview(ME, body, now=NOW)["errs"] == ["PREVIEW_INVALID_NO_LIQUIDITY"]
    assert place(engine, "market_market_ioc", side="SELL", base_size="1", coid="c2").status is OrderStatus.FILLED


def test_preview_of_a_quote_sized_sell_estimates_what_the_order_does(engine: Engine) -> None:
    body = order_body("market_market_ioc", side="SELL", quote_size="99")
    preview = engine.preview(ME, body, now=NOW)
    order = place(engine, "market_market_ioc", side="SELL", quote_size="99")
    # The fee comes off a sell's proceeds: the quote size is the notional sold, not notional plus fee.
    assert (D(preview["base_size"]), D(preview["quote_size"])) == (order.filled_size, order.filled_value) == (1, 99)
