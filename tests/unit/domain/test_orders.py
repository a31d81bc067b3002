"""Order intents, orders, fills, client order ids and the status machine."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from cryptoj.domain.orders import (
    TERMINAL_STATUSES,
    IllegalTransition,
    InvalidIntent,
    Liquidity,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    StopDirection,
    TimeInForce,
    can_transition,
    client_order_id_for,
)
from cryptoj.domain.side import Side
from tests.utils.fixtures.domain import T0, d, fill, limit, market

S = OrderStatus


def test_side_opposite() -> None:
    assert Side.BUY.opposite is Side.SELL
    assert Side.SELL.opposite is Side.BUY


def test_a_valid_limit_intent_is_accepted() -> None:
    intent = limit(Side.BUY, "0.5", "100")
    assert intent.rests
    assert not intent.is_market
    assert intent.notional(d(999)) == d(50)


def test_market_intent_notional_uses_reference_price_or_quote_size() -> None:
    assert market(Side.BUY, base="2").notional(d(10)) == d(20)
    assert market(Side.BUY, quote="25").notional(d(10)) == d(25)
    assert market(Side.BUY, quote="25").is_market


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"base_size": None}, "exactly one of base_size and quote_size"),
        ({"quote_size": d(1)}, "exactly one of base_size and quote_size"),
        ({"product_id": ""}, "product_id is empty"),
        ({"base_size": d(0)}, "base_size must be positive"),
        ({"limit_price": d("-1")}, "limit_price must be positive"),
        ({"limit_price": None}, "needs a limit_price"),
        ({"time_in_force": TimeInForce.GOOD_UNTIL_DATE_TIME}, "end_time is required"),
        ({"end_time": datetime(2026, 1, 1)}, "end_time"),  # noqa: DTZ001 - a naive time is the error under test
        ({"stop_price": d(1)}, "only stop-limit orders take a stop price"),
        ({"post_only": True, "time_in_force": TimeInForce.IMMEDIATE_OR_CANCEL}, "post_only is only for GTC or GTD"),
    ],
)
def test_a_bad_limit_intent_names_its_problem(fields: dict[str, object], problem: str) -> None:
    base: dict[str, object] = {
        "product_id": "BTC-USD",
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "base_size": d(1),
        "limit_price": d(100),
    }
    base.update(fields)
    with pytest.raises(InvalidIntent, match=problem):
        OrderIntent(**base)  # type: ignore[arg-type]


def test_a_naive_end_time_is_refused() -> None:
    with pytest.raises(InvalidIntent, match="timezone-aware"):
        limit(
            Side.BUY,
            "1",
            "100",
            tif=TimeInForce.GOOD_UNTIL_DATE_TIME,
            end_time=datetime(2026, 1, 1),  # noqa: DTZ001 - the naive time is the error under test
        )


def test_market_intents_take_no_price_and_only_ioc_or_fok() -> None:
    with pytest.raises(InvalidIntent, match="takes no limit or stop price"):
        OrderIntent(
            "BTC-USD",
            Side.BUY,
            OrderType.MARKET,
            base_size=d(1),
            limit_price=d(1),
            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
        )
    with pytest.raises(InvalidIntent, match="IMMEDIATE_OR_CANCEL or FILL_OR_KILL"):
        OrderIntent("BTC-USD", Side.BUY, OrderType.MARKET, base_size=d(1))


def test_only_market_orders_may_be_sized_in_quote() -> None:
    with pytest.raises(InvalidIntent, match="only market orders may be sized in quote"):
        OrderIntent("BTC-USD", Side.BUY, OrderType.LIMIT, quote_size=d(10), limit_price=d(1))


def test_stop_limit_needs_stop_price_direction_and_resting_tif() -> None:
    ok = OrderIntent(
        "BTC-USD",
        Side.BUY,
        OrderType.STOP_LIMIT,
        base_size=d(1),
        limit_price=d(105),
        stop_price=d(104),
        stop_direction=StopDirection.STOP_UP,
    )
    assert ok.rests
    with pytest.raises(InvalidIntent, match="needs stop_price and stop_direction"):
        OrderIntent("BTC-USD", Side.BUY, OrderType.STOP_LIMIT, base_size=d(1), limit_price=d(105))
    with pytest.raises(InvalidIntent, match="GOOD_UNTIL_CANCELLED or GOOD_UNTIL_DATE_TIME"):
        OrderIntent(
            "BTC-USD",
            Side.BUY,
            OrderType.STOP_LIMIT,
            base_size=d(1),
            limit_price=d(105),
            stop_price=d(104),
            stop_direction=StopDirection.STOP_UP,
            time_in_force=TimeInForce.FILL_OR_KILL,
        )


def test_every_problem_is_reported_together() -> None:
    with pytest.raises(InvalidIntent) as caught:
        OrderIntent("", Side.BUY, OrderType.LIMIT)
    assert "product_id is empty" in str(caught.value)
    assert "exactly one of" in str(caught.value)
    assert "needs a limit_price" in str(caught.value)


def test_client_order_id_is_deterministic_and_distinguishes_inputs() -> None:
    first = client_order_id_for(cycle_key="c-1", strategy="ma", product_id="BTC-USD", intent_index=0)
    assert first == client_order_id_for(cycle_key="c-1", strategy="ma", product_id="BTC-USD", intent_index=0)
    others = {
        client_order_id_for(cycle_key="c-1", strategy="ma", product_id="BTC-USD", intent_index=1),
        client_order_id_for(cycle_key="c-2", strategy="ma", product_id="BTC-USD", intent_index=0),
        client_order_id_for(cycle_key="c-1", strategy="mb", product_id="BTC-USD", intent_index=0),
        client_order_id_for(cycle_key="c-1", strategy="ma", product_id="ETH-USD", intent_index=0),
        client_order_id_for(cycle_key="c-1", strategy="ma|x", product_id="BTC-USD", intent_index=0),
    }
    assert first not in others
    assert len(others) == 5


def test_separator_inside_a_part_cannot_forge_another_id() -> None:
    a = client_order_id_for(cycle_key="a|b", strategy="c", product_id="BTC-USD", intent_index=0)
    b = client_order_id_for(cycle_key="a", strategy="b|c", product_id="BTC-USD", intent_index=0)
    assert a != b


def test_client_order_id_needs_every_part() -> None:
    with pytest.raises(InvalidIntent, match="needed for a client_order_id"):
        client_order_id_for(cycle_key="", strategy="ma", product_id="BTC-USD", intent_index=0)
    with pytest.raises(InvalidIntent, match="must not be negative"):
        client_order_id_for(cycle_key="c", strategy="ma", product_id="BTC-USD", intent_index=-1)


def test_fill_needs_positive_price_and_size_and_non_negative_fee() -> None:
    assert fill(Side.BUY, "2", "10").notional == d(20)
    with pytest.raises(InvalidIntent, match="positive price and size"):
        fill(Side.BUY, "0", "10")
    with pytest.raises(InvalidIntent, match="negative fee"):
        fill(Side.BUY, "1", "10", fee="-1")


@pytest.mark.parametrize(
    ("size", "price", "fee"), [("1", "Infinity", "0"), ("Infinity", "10", "0"), ("1", "10", "Infinity")]
)
def test_fill_with_an_infinite_amount_is_refused(size: str, price: str, fee: str) -> None:
    with pytest.raises(InvalidIntent, match="finite"):
        fill(Side.BUY, size, price, fee=fee)


@pytest.mark.parametrize(("size", "price", "fee"), [("1", "NaN", "0"), ("NaN", "10", "0"), ("1", "10", "NaN")])
def test_fill_with_a_nan_amount_gets_a_typed_error(size: str, price: str, fee: str) -> None:
    with pytest.raises(InvalidIntent, match="finite"):
        fill(Side.BUY, size, price, fee=fee)


def _order(size: str = "1") -> Order:
    return Order(client_order_id="c1", intent=limit(Side.BUY, size, "100"), created_at=T0)


def test_order_identity_is_its_client_order_id() -> None:
    a, b = _order(), _order("2")
    assert a == b
    assert hash(a) == hash(b)
    assert a != "c1"
    assert a.history[0].status is S.CREATED


def test_order_walks_a_legal_path_and_records_history() -> None:
    order = _order()
    for step, status in enumerate((S.SUBMITTING, S.UNKNOWN_OUTCOME, S.OPEN, S.OPEN, S.CANCEL_QUEUED, S.CANCELLED)):
        order.transition(status, at=T0 + timedelta(seconds=step), reason="user" if status is S.CANCELLED else None)
    assert [c.status for c in order.history] == [
        S.CREATED,
        S.SUBMITTING,
        S.UNKNOWN_OUTCOME,
        S.OPEN,
        S.CANCEL_QUEUED,
        S.CANCELLED,
    ]
    assert order.reason == "user"
    assert order.status.is_terminal
    assert not order.status.is_open


def test_an_illegal_transition_raises_a_sentence_and_changes_nothing() -> None:
    order = _order()
    with pytest.raises(IllegalTransition, match="cannot go from CREATED to FILLED"):
        order.transition(S.FILLED, at=T0)
    assert order.status is S.CREATED
    assert len(order.history) == 1


def test_terminal_statuses_accept_nothing_not_even_themselves() -> None:
    for terminal in TERMINAL_STATUSES - {S.REJECTED}:
        assert all(not can_transition(terminal, new) for new in OrderStatus)


def test_a_rejection_gives_way_only_to_the_exchanges_report_of_an_order_that_landed() -> None:
    reported = {S.PENDING, S.QUEUED, S.OPEN, S.FILLED, S.CANCEL_QUEUED, S.EDIT_QUEUED, S.CANCELLED, S.EXPIRED}
    assert reported | {S.FAILED, S.UNKNOWN_ORDER_STATUS} == {s for s in OrderStatus if can_transition(S.REJECTED, s)}
    order = _order()
    for step, status in enumerate((S.SUBMITTING, S.REJECTED, S.PENDING, S.FILLED)):
        order.transition(status, at=T0 + timedelta(seconds=step))
    assert order.status is S.FILLED
    assert not can_transition(S.REJECTED, S.SUBMITTING)  # never sent again on its own
    assert not can_transition(S.REJECTED, S.REJECTED)


def test_open_cannot_go_back_to_pending_and_cancel_can_lose_to_a_fill() -> None:
    assert not can_transition(S.OPEN, S.PENDING)
    assert can_transition(S.CANCEL_QUEUED, S.FILLED)
    assert can_transition(S.CANCEL_QUEUED, S.OPEN)
    assert can_transition(S.UNKNOWN_OUTCOME, S.SUBMITTING)
    assert not can_transition(S.CREATED, S.OPEN)
    assert S.OPEN.is_open


def test_fills_accumulate_and_a_repeated_trade_counts_once() -> None:
    order = _order("2")
    assert order.average_fill_price is None
    assert order.apply_fill(fill(Side.BUY, "1", "100", fee="0.6", trade_id="t1"))
    assert not order.apply_fill(fill(Side.BUY, "1", "100", fee="0.6", trade_id="t1"))
    assert order.apply_fill(fill(Side.BUY, "1", "102", fee="0.6", trade_id="t2"))
    assert (order.filled_size, order.filled_value, order.fees) == (d(2), d(202), Decimal("1.2"))
    assert order.average_fill_price == d(101)


def test_a_fill_for_another_order_or_beyond_the_size_is_refused() -> None:
    order = _order("1")
    with pytest.raises(InvalidIntent, match="belongs to c2"):
        order.apply_fill(fill(Side.BUY, "1", "100", client_order_id="c2"))
    with pytest.raises(InvalidIntent, match="is a SELL of BTC-USD; order c1 is a BUY of BTC-USD"):
        order.apply_fill(fill(Side.SELL, "1", "100"))
    with pytest.raises(InvalidIntent, match="of ETH-USD"):
        order.apply_fill(fill(Side.BUY, "1", "100", product_id="ETH-USD"))
    with pytest.raises(InvalidIntent, match="would overfill"):
        order.apply_fill(fill(Side.BUY, "1.5", "100"))
    assert order.filled_size == 0


def test_liquidity_and_stop_direction_spell_coinbase_values() -> None:
    assert Liquidity.MAKER.value == "MAKER"
    assert StopDirection.STOP_UP.value == "STOP_DIRECTION_STOP_UP"
