"""Wire models to domain objects and back: every order kind, statuses, fills, candles and books."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cryptoj.coinbase import models as wire
from cryptoj.domain.orders import Liquidity, OrderIntent, OrderStatus, OrderType, StopDirection, TimeInForce
from cryptoj.domain.side import Side
from cryptoj.services.mapping import (
    MappingError,
    book_from_wire,
    candle_from_wire,
    fill_from_wire,
    intent_from_wire,
    order_configuration_for,
    status_from_wire,
)

END = datetime(2026, 6, 1, tzinfo=UTC)
IOC, FOK = TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL
INTENTS = [
    OrderIntent("BTC-USD", Side.BUY, OrderType.MARKET, quote_size=Decimal(50), time_in_force=IOC),
    OrderIntent("BTC-USD", Side.SELL, OrderType.MARKET, base_size=Decimal("0.1"), time_in_force=FOK),
    OrderIntent("BTC-USD", Side.BUY, OrderType.LIMIT, base_size=Decimal(1), limit_price=Decimal(100), post_only=True),
    OrderIntent(
        "BTC-USD", Side.BUY, OrderType.LIMIT, base_size=Decimal(1), limit_price=Decimal(100),
        time_in_force=TimeInForce.GOOD_UNTIL_DATE_TIME, end_time=END,
    ),
    OrderIntent(
        "BTC-USD", Side.SELL, OrderType.LIMIT, base_size=Decimal(1), limit_price=Decimal(100),
        time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
    ),
    OrderIntent(
        "BTC-USD", Side.SELL, OrderType.LIMIT, base_size=Decimal(1), limit_price=Decimal(100),
        time_in_force=TimeInForce.FILL_OR_KILL,
    ),
    OrderIntent(
        "BTC-USD", Side.SELL, OrderType.STOP_LIMIT, base_size=Decimal(1), limit_price=Decimal(99),
        stop_price=Decimal(100), stop_direction=StopDirection.STOP_DOWN,
    ),
    OrderIntent(
        "BTC-USD", Side.BUY, OrderType.STOP_LIMIT, base_size=Decimal(1), limit_price=Decimal(101),
        stop_price=Decimal(100), stop_direction=StopDirection.STOP_UP,
        time_in_force=TimeInForce.GOOD_UNTIL_DATE_TIME, end_time=END,
    ),
]  # fmt: skip


def _order(config: wire.OrderConfiguration, *, side: str = "BUY", status: str = "OPEN") -> wire.Order:
    return wire.Order(order_id="o-1", product_id="BTC-USD", side=side, status=status, order_configuration=config)


@pytest.mark.parametrize("intent", INTENTS, ids=lambda i: f"{i.order_type}-{i.time_in_force}")
def test_every_intent_goes_to_the_wire_and_back_unchanged(intent: OrderIntent) -> None:
    config = order_configuration_for(intent)
    assert len(config.model_dump(exclude_none=True)) == 1  # exactly one order type
    assert intent_from_wire(_order(config, side=intent.side.value)) == intent


def test_a_limit_ioc_is_sent_as_sor_limit_ioc_as_real_traffic_echoes_it() -> None:
    assert order_configuration_for(INTENTS[4]).kind() == "sor_limit_ioc"


def test_orders_the_domain_cannot_model_are_a_mapping_error() -> None:
    bracket = wire.OrderConfiguration.model_validate(
        {"trigger_bracket_gtc": {"base_size": "1", "limit_price": "110", "stop_trigger_price": "90"}}
    )
    with pytest.raises(MappingError, match="trigger_bracket_gtc"):
        intent_from_wire(_order(bracket))
    with pytest.raises(MappingError, match="no side"):
        intent_from_wire(_order(order_configuration_for(INTENTS[0]), side=""))


@pytest.mark.parametrize(
    ("text", "status"),
    [("OPEN", OrderStatus.OPEN), ("filled", OrderStatus.FILLED), (" Cancelled ", OrderStatus.CANCELLED),
     ("SOMETHING_NEW", OrderStatus.UNKNOWN_ORDER_STATUS), ("SUBMITTING", OrderStatus.UNKNOWN_ORDER_STATUS)],
)  # fmt: skip
def test_exchange_statuses_map_and_unknown_ones_stay_unknown(text: str, status: OrderStatus) -> None:
    # A local status name on the wire (SUBMITTING) is no exchange status either.
    assert status_from_wire(text) is status


def _fill(**fields: object) -> wire.Fill:
    base = {
        "entry_id": "e", "trade_id": "t-1", "order_id": "o-1", "trade_time": "2026-01-05T12:00:00.123456789Z",
        "price": "20000", "size": "0.5", "commission": "1.25", "product_id": "BTC-USD", "side": "BUY",
        "liquidity_indicator": "MAKER",
    }  # fmt: skip
    return wire.Fill.model_validate({**base, **fields})


def test_a_fill_becomes_a_domain_fill_of_our_client_order_id() -> None:
    fill = fill_from_wire(_fill(), client_order_id="coid")
    assert (fill.client_order_id, fill.order_id, fill.side, fill.liquidity) == (
        "coid",
        "o-1",
        Side.BUY,
        Liquidity.MAKER,
    )
    assert (fill.price, fill.size, fill.fee) == (Decimal(20000), Decimal("0.5"), Decimal("1.25"))
    assert fill.time.tzinfo is not None


def test_a_fill_sized_in_quote_is_converted_to_base() -> None:
    fill = fill_from_wire(_fill(size="10000", size_in_quote=True, liquidity_indicator="TAKER"), client_order_id="c")
    assert fill.size == Decimal("0.5")
    assert fill.liquidity is Liquidity.TAKER


def test_a_fill_without_side_takes_the_orders_or_is_refused() -> None:
    assert fill_from_wire(_fill(side=None), client_order_id="c", order_side=Side.SELL).side is Side.SELL
    with pytest.raises(MappingError, match="no side"):
        fill_from_wire(_fill(side=None), client_order_id="c")
    with pytest.raises(MappingError, match="no price or size"):
        fill_from_wire(_fill(price=""), client_order_id="c")
    with pytest.raises(MappingError, match="positive"):
        fill_from_wire(_fill(size="-1"), client_order_id="c")


def test_candles_and_books_map_and_refuse_nonsense() -> None:
    candle = candle_from_wire(
        wire.Candle(
            start=1_700_000_040, low=Decimal(1), high=Decimal(3), open=Decimal(2), close=Decimal(2), volume=Decimal(5)
        )
    )
    assert candle.start == datetime.fromtimestamp(1_700_000_040, tz=UTC)
    with pytest.raises(MappingError, match="not a time"):
        candle_from_wire(
            wire.Candle(
                start=10**17, low=Decimal(1), high=Decimal(1), open=Decimal(1), close=Decimal(1), volume=Decimal(1)
            )
        )
    book = book_from_wire(
        wire.PriceBook.model_validate(
            {"product_id": "BTC-USD", "bids": [{"price": "99", "size": "1"}], "asks": [{"price": "101", "size": "2"}]}
        )
    )
    assert (book.best_bid, book.best_ask) == ((Decimal(99), Decimal(1)), (Decimal(101), Decimal(2)))
    with pytest.raises(MappingError, match="BTC-USD book"):
        book_from_wire(wire.PriceBook.model_validate({"product_id": "BTC-USD", "bids": [{"price": "-1", "size": "1"}]}))
