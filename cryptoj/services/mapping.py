"""Wire models to domain objects and back, in one place.

`coinbase.models` mirror Coinbase's bodies; the domain knows nothing of them. Every translation between
the two lives here, so a change on the wire is met once. Each function raises `MappingError` (a
`CryptojError`) naming what it could not read, never a raw `KeyError` or `decimal` error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from cryptoj.coinbase import models as wire
from cryptoj.coinbase.models.configurations import LimitConfig, MarketConfig, StopLimitConfig
from cryptoj.domain.book import OrderBook
from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import (
    Fill,
    Liquidity,
    OrderIntent,
    OrderStatus,
    OrderType,
    StopDirection,
    TimeInForce,
)
from cryptoj.domain.products import ProductRules
from cryptoj.domain.side import Side
from cryptoj.domain.strategy import Candle
from cryptoj.errors import CryptojError

__all__ = [
    "MappingError",
    "book_from_wire",
    "candle_from_wire",
    "fill_from_wire",
    "intent_from_wire",
    "order_configuration_for",
    "rules_from_wire",
    "status_from_wire",
]


class MappingError(CryptojError):
    """A wire object that cannot become the domain object it should (an unsupported order type, a bad fill)."""


_SIZE_QUANTUM = Decimal("1e-18")
# Coinbase's status names are ours; anything newer is a status the exchange itself reports as unknown.
_STATUSES = {status.value: status for status in OrderStatus}
_EXCHANGE_STATUSES = frozenset(
    {
        OrderStatus.PENDING,
        OrderStatus.QUEUED,
        OrderStatus.OPEN,
        OrderStatus.FILLED,
        OrderStatus.CANCEL_QUEUED,
        OrderStatus.EDIT_QUEUED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.FAILED,
        OrderStatus.UNKNOWN_ORDER_STATUS,
    }
)


def status_from_wire(status: str) -> OrderStatus:
    """The domain status of a Coinbase order status (any case); an unknown one is UNKNOWN_ORDER_STATUS."""
    found = _STATUSES.get(status.strip().upper())
    return found if found in _EXCHANGE_STATUSES else OrderStatus.UNKNOWN_ORDER_STATUS


def order_configuration_for(intent: OrderIntent) -> wire.OrderConfiguration:
    """The `order_configuration` Coinbase takes for `intent` (exactly one key, sizes and prices as text)."""
    tif = intent.time_in_force
    if intent.order_type is OrderType.MARKET:
        market = MarketConfig(base_size=intent.base_size, quote_size=intent.quote_size)
        if tif is TimeInForce.FILL_OR_KILL:
            return wire.OrderConfiguration(market_market_fok=market)
        return wire.OrderConfiguration(market_market_ioc=market)
    if intent.order_type is OrderType.STOP_LIMIT:
        stop = StopLimitConfig(
            base_size=intent.base_size,
            limit_price=intent.limit_price,
            stop_price=intent.stop_price,
            stop_direction=intent.stop_direction.value if intent.stop_direction else None,
            end_time=intent.end_time,
        )
        if tif is TimeInForce.GOOD_UNTIL_DATE_TIME:
            return wire.OrderConfiguration(stop_limit_stop_limit_gtd=stop)
        return wire.OrderConfiguration(stop_limit_stop_limit_gtc=stop)
    limit = LimitConfig(base_size=intent.base_size, limit_price=intent.limit_price)
    match tif:
        case TimeInForce.GOOD_UNTIL_CANCELLED:
            return wire.OrderConfiguration(limit_limit_gtc=limit.model_copy(update={"post_only": intent.post_only}))
        case TimeInForce.GOOD_UNTIL_DATE_TIME:
            return wire.OrderConfiguration(
                limit_limit_gtd=limit.model_copy(update={"post_only": intent.post_only, "end_time": intent.end_time})
            )
        case TimeInForce.FILL_OR_KILL:
            return wire.OrderConfiguration(limit_limit_fok=limit)
    return wire.OrderConfiguration(sor_limit_ioc=limit)


# Order configuration key -> (order type, time in force).
_KINDS: dict[str, tuple[OrderType, TimeInForce]] = {
    "market_market_ioc": (OrderType.MARKET, TimeInForce.IMMEDIATE_OR_CANCEL),
    "market_market_fok": (OrderType.MARKET, TimeInForce.FILL_OR_KILL),
    "sor_limit_ioc": (OrderType.LIMIT, TimeInForce.IMMEDIATE_OR_CANCEL),
    "limit_limit_gtc": (OrderType.LIMIT, TimeInForce.GOOD_UNTIL_CANCELLED),
    "limit_limit_gtd": (OrderType.LIMIT, TimeInForce.GOOD_UNTIL_DATE_TIME),
    "limit_limit_fok": (OrderType.LIMIT, TimeInForce.FILL_OR_KILL),
    "stop_limit_stop_limit_gtc": (OrderType.STOP_LIMIT, TimeInForce.GOOD_UNTIL_CANCELLED),
    "stop_limit_stop_limit_gtd": (OrderType.STOP_LIMIT, TimeInForce.GOOD_UNTIL_DATE_TIME),
}


def intent_from_wire(order: wire.Order) -> OrderIntent:
    """What an exchange order asked for, as a domain intent (for orders found on the exchange).

    Brackets, TWAP and newer order types have no domain intent: they raise `MappingError`.
    """
    config = order.order_configuration
    kind = config.kind() if config is not None else ""
    if kind not in _KINDS or config is None:
        raise MappingError(
            f"order {order.order_id} is a {kind or 'configuration-less'} order, which CryptoJ cannot model"
        )
    order_type, tif = _KINDS[kind]
    inner = getattr(config, kind)
    side = _side(order.side, what=f"order {order.order_id}")
    try:
        if isinstance(inner, MarketConfig):
            return OrderIntent(
                product_id=order.product_id, side=side, order_type=order_type, time_in_force=tif,
                base_size=inner.base_size, quote_size=None if inner.base_size is not None else inner.quote_size,
            )  # fmt: skip
        if isinstance(inner, StopLimitConfig):
            return OrderIntent(
                product_id=order.product_id, side=side, order_type=order_type, time_in_force=tif,
                base_size=inner.base_size, limit_price=inner.limit_price, stop_price=inner.stop_price,
                stop_direction=StopDirection(inner.stop_direction) if inner.stop_direction else None,
                end_time=inner.end_time,
            )  # fmt: skip
        if not isinstance(inner, LimitConfig):
            raise MappingError(f"order {order.order_id}: {kind} holds no limit configuration")
        return OrderIntent(
            product_id=order.product_id, side=side, order_type=order_type, time_in_force=tif,
            base_size=inner.base_size, limit_price=inner.limit_price, post_only=bool(inner.post_only),
            end_time=inner.end_time,
        )  # fmt: skip
    except (DomainError, ValueError) as exc:
        raise MappingError(f"order {order.order_id}: {exc}") from None


def _side(text: str | None, *, what: str) -> Side:
    try:
        return Side((text or "").strip().upper())
    except ValueError:
        raise MappingError(f"{what} has no side BUY or SELL (got {text!r})") from None


def fill_from_wire(fill: wire.Fill, *, client_order_id: str, order_side: Side | None = None) -> Fill:
    """A Coinbase fill as a domain fill of `client_order_id` (the wire knows only the exchange's order id).

    `size_in_quote` fills state their size in quote currency: the base size is size / price.
    """
    what = f"fill {fill.trade_id} of order {fill.order_id}"
    if fill.price is None or fill.size is None:
        raise MappingError(f"{what} has no price or size")
    side = _side(fill.side, what=what) if fill.side else order_side
    if side is None:
        raise MappingError(f"{what} has no side")
    try:
        # Cut to the store's 18 places: a quotient has 28 digits, more than any base increment.
        size = (fill.size / fill.price).quantize(_SIZE_QUANTUM) if fill.size_in_quote else fill.size
        liquidity = Liquidity.MAKER if (fill.liquidity_indicator or "").upper() == "MAKER" else Liquidity.TAKER
        return Fill(
            trade_id=fill.trade_id,
            client_order_id=client_order_id,
            product_id=fill.product_id,
            side=side,
            price=fill.price,
            size=size,
            fee=fill.commission if fill.commission is not None else ZERO,
            liquidity=liquidity,
            time=_aware(fill.trade_time),
            order_id=fill.order_id,
        )
    except (DomainError, InvalidOperation, ArithmeticError) as exc:
        raise MappingError(f"{what}: {exc}") from None


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def candle_from_wire(candle: wire.Candle) -> Candle:
    """A REST candle (epoch-seconds `start`) as a domain candle."""
    try:
        start = datetime.fromtimestamp(candle.start, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise MappingError(f"candle start {candle.start} is not a time") from None
    return Candle(
        start=start, open=candle.open, high=candle.high, low=candle.low, close=candle.close, volume=candle.volume
    )


def rules_from_wire(product: wire.Product) -> ProductRules:
    """A product's trading rules (increments, sizes, flags) as the domain checks them."""
    try:
        return ProductRules.parse(product.model_dump(mode="json", exclude_none=True))
    except DomainError as exc:
        raise MappingError(str(exc)) from None


def book_from_wire(book: wire.PriceBook) -> OrderBook:
    """A REST price book as a domain level-2 book."""
    result = OrderBook(book.product_id)
    try:
        result.apply_snapshot(
            ((level.price, level.size) for level in book.bids), ((level.price, level.size) for level in book.asks)
        )
    except DomainError as exc:
        raise MappingError(f"{book.product_id} book: {exc}") from None
    return result
