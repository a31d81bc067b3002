"""Create-order requests as Coinbase reads them: malformed ones are 400s, rule breaches are rejections.

Two failure kinds stay apart, as on Coinbase: a body the API cannot read (unknown field, bad enum,
missing field) is HTTP 400 `BadRequest`; a readable order that breaks a product or account rule is
HTTP 200 `success: false` (`Rejection`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptoj.domain.money import is_multiple_of
from cryptoj.domain.orders import OrderType, StopDirection, TimeInForce
from cryptoj.domain.side import Side
from cryptoj.errors import CryptojError
from cryptoj.sandbox.market.products import ProductSpec

__all__ = [
    "CREATE_FIELDS",
    "BadRequest",
    "OrderRequest",
    "Rejection",
    "UnknownField",
    "check_stop",
    "echo_configuration",
    "parse_order_request",
]

# Top-level fields of POST /orders; anything else is refused like Coinbase's proto decoder does.
CREATE_FIELDS = frozenset(
    {
        "client_order_id",
        "product_id",
        "side",
        "order_configuration",
        "self_trade_prevention_id",
        "leverage",
        "margin_type",
        "retail_portfolio_id",
        "preview_id",
        "attached_order_configuration",
        "sor_preference",
        "prediction_metadata",
        "cost_basis_method",
    }
)
# order_configuration key -> (order type, time in force, fields it may carry)
_CONFIGS: dict[str, tuple[OrderType, TimeInForce, frozenset[str]]] = {
    "market_market_ioc": (
        OrderType.MARKET,
        TimeInForce.IMMEDIATE_OR_CANCEL,
        frozenset({"quote_size", "base_size", "rfq_disabled"}),
    ),
    "market_market_fok": (
        OrderType.MARKET,
        TimeInForce.FILL_OR_KILL,
        frozenset({"quote_size", "base_size", "rfq_disabled"}),
    ),
    "sor_limit_ioc": (
        OrderType.LIMIT,
        TimeInForce.IMMEDIATE_OR_CANCEL,
        frozenset({"base_size", "quote_size", "limit_price", "rfq_disabled"}),
    ),
    "limit_limit_gtc": (
        OrderType.LIMIT,
        TimeInForce.GOOD_UNTIL_CANCELLED,
        frozenset({"base_size", "quote_size", "limit_price", "post_only", "rfq_disabled"}),
    ),
    "limit_limit_gtd": (
        OrderType.LIMIT,
        TimeInForce.GOOD_UNTIL_DATE_TIME,
        frozenset({"base_size", "quote_size", "limit_price", "end_time", "post_only", "rfq_disabled"}),
    ),
    "limit_limit_fok": (
        OrderType.LIMIT,
        TimeInForce.FILL_OR_KILL,
        frozenset({"base_size", "quote_size", "limit_price", "rfq_disabled"}),
    ),
    "stop_limit_stop_limit_gtc": (
        OrderType.STOP_LIMIT,
        TimeInForce.GOOD_UNTIL_CANCELLED,
        frozenset({"base_size", "limit_price", "stop_price", "stop_direction"}),
    ),
    "stop_limit_stop_limit_gtd": (
        OrderType.STOP_LIMIT,
        TimeInForce.GOOD_UNTIL_DATE_TIME,
        frozenset({"base_size", "limit_price", "stop_price", "stop_direction", "end_time"}),
    ),
}
# Known to Coinbase, not traded here: a readable order we reject rather than a 400.
_UNSUPPORTED = frozenset(
    {"twap_limit_gtd", "trigger_bracket_gtc", "trigger_bracket_gtd", "scaled_limit_gtc", "limit_limit_gtc_twap"}
)


class BadRequest(CryptojError):
    """A request the API cannot read: HTTP 400 `INVALID_ARGUMENT` with Coinbase's wording."""


class UnknownField(BadRequest):
    """A body field Coinbase's decoder does not know (fact 13); the REST layer words it as the dialect says."""

    def __init__(self, field: str) -> None:
        super().__init__(f'proto: unknown field "{field}"')
        self.field = field


class Rejection(CryptojError):
    """A readable order that breaks a rule: HTTP 200, `success: false`, the cause in `error_response`.

    Parameters:
        error: `error_response.error` (and `new_order_failure_reason`), e.g. ``INSUFFICIENT_FUND``.
        preview_reason: `preview_failure_reason`, e.g. ``PREVIEW_INSUFFICIENT_FUND``.
        message, details: `error_response.message` and `error_details`.
    """

    def __init__(self, error: str, preview_reason: str, message: str, details: str = "") -> None:
        super().__init__(f"{error}: {message}")
        self.error = error
        self.preview_reason = preview_reason
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A readable create-order request, its sizes and prices parsed to Decimal."""

    client_order_id: str
    product_id: str
    side: Side
    config_key: str
    config: dict[str, Any]
    order_type: OrderType
    time_in_force: TimeInForce
    base_size: Decimal | None
    quote_size: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    stop_direction: StopDirection | None
    end_time: datetime | None
    post_only: bool


def parse_order_request(
    body: Any, *, products: dict[str, ProductSpec], now: datetime, need_client_order_id: bool = True
) -> OrderRequest:
    """Read a POST /orders (or /orders/preview) body; raise `BadRequest` or `Rejection`."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    for name in body:
        if name not in CREATE_FIELDS:
            raise UnknownField(name)
    client_order_id = body.get("client_order_id", "")
    if need_client_order_id and (not isinstance(client_order_id, str) or not client_order_id):
        raise BadRequest("client_order_id is required")
    side_text = body.get("side")
    if side_text not in ("BUY", "SELL"):
        raise BadRequest(f'proto: unknown value "{side_text}" for enum coinbase.public_api.authed.brokerage.OrderSide')
    product_id = body.get("product_id")
    if not isinstance(product_id, str) or not product_id:
        raise BadRequest("product_id is required")
    configuration = body.get("order_configuration")
    if not isinstance(configuration, dict) or len(configuration) != 1:
        raise BadRequest("order_configuration must hold exactly one order type")
    ((config_key, config),) = configuration.items()
    if config_key in _UNSUPPORTED:
        raise Rejection(
            "UNSUPPORTED_ORDER_CONFIGURATION",
            "PREVIEW_INVALID_ORDER_CONFIG",
            "The order configuration was invalid",
            f"{config_key} is not supported by the sandbox",
        )
    if config_key not in _CONFIGS or not isinstance(config, dict):
        raise UnknownField(config_key)
    order_type, tif, allowed = _CONFIGS[config_key]
    for name in config:
        if name not in allowed:
            raise UnknownField(name)
    spec = products.get(product_id)
    if spec is None:
        raise Rejection("INVALID_PRODUCT_ID", "PREVIEW_INVALID_PRODUCT_ID", "Invalid product_id", product_id)
    base_size = _decimal(config, "base_size")
    quote_size = _decimal(config, "quote_size")
    limit_price = _decimal(config, "limit_price")
    stop_price = _decimal(config, "stop_price")
    direction = None
    if order_type is OrderType.STOP_LIMIT:
        try:
            direction = StopDirection(str(config.get("stop_direction")))
        except ValueError:
            raise BadRequest(f'proto: unknown value "{config.get("stop_direction")}" for enum StopDirection') from None
    end_time = _end_time(config) if tif is TimeInForce.GOOD_UNTIL_DATE_TIME else None
    post_only = config.get("post_only", False)
    if not isinstance(post_only, bool):
        raise BadRequest("post_only must be a boolean")
    request = OrderRequest(
        client_order_id=client_order_id if isinstance(client_order_id, str) else "",
        product_id=product_id,
        side=Side(side_text),
        config_key=config_key,
        config=config,
        order_type=order_type,
        time_in_force=tif,
        base_size=base_size,
        quote_size=quote_size,
        limit_price=limit_price,
        stop_price=stop_price,
        stop_direction=direction,
        end_time=end_time,
        post_only=post_only,
    )
    check_rules(request, spec, now=now)
    return request


def echo_configuration(config_key: str, config: dict[str, Any]) -> dict[str, Any]:
    """The configuration as Coinbase echoes it: what was sent, with the unset flags spelled out as false."""
    allowed = _CONFIGS[config_key][2] if config_key in _CONFIGS else frozenset()
    echoed = dict(config)
    for flag in ("post_only", "rfq_disabled"):
        if flag in allowed:
            echoed.setdefault(flag, False)
    return {config_key: echoed}


def _decimal(config: dict[str, Any], name: str) -> Decimal | None:
    value = config.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a decimal string")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise BadRequest(f"{name} is not a decimal: {value!r}") from None
    if not result.is_finite():
        raise BadRequest(f"{name} is not a decimal: {value!r}")
    return result


def _end_time(config: dict[str, Any]) -> datetime:
    text = config.get("end_time")
    if not isinstance(text, str):
        raise Rejection(
            "UNKNOWN_FAILURE_REASON",
            "PREVIEW_GTD_ORDERS_MUST_HAVE_END_TIME",
            "The order configuration was invalid",
            "GTD orders must have an end time",
        )
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"end_time is not an RFC3339 time: {text!r}") from None
    if parsed.tzinfo is None:
        raise BadRequest("end_time must carry a time zone")
    return parsed


def check_rules(request: OrderRequest, spec: ProductSpec, *, now: datetime) -> None:
    """Product rules Coinbase enforces before an order exists (sizes, increments, end time, stops)."""
    if spec.trading_disabled or spec.cancel_only:
        raise Rejection("ORDER_ENTRY_DISABLED", "PREVIEW_TRADING_DISABLED", "Trading is disabled for this product")
    if spec.limit_only and request.order_type is OrderType.MARKET:
        raise Rejection("ORDER_ENTRY_DISABLED", "PREVIEW_UNTRADABLE_PRODUCT", "Orderbook is in limit only mode")
    base, quote = request.base_size, request.quote_size
    if base is None and quote is None:
        raise Rejection(
            "UNKNOWN_FAILURE_REASON",
            "UNKNOWN_PREVIEW_FAILURE_REASON",
            "The order configuration was invalid",
            "Market orders cannot be placed with empty order sizes"
            if request.order_type is OrderType.MARKET
            else "Orders cannot be placed with empty order sizes",
        )
    if base is not None and quote is not None:
        _config_error("give base_size or quote_size, not both")
    if quote is not None and request.order_type is not OrderType.MARKET:
        _config_error("the sandbox sizes limit orders in base_size only")
    if request.order_type is not OrderType.MARKET and request.limit_price is None:
        _config_error("limit_price is required")
    if base is not None:
        if base <= 0 or not is_multiple_of(base, spec.base_increment):
            raise Rejection("INVALID_SIZE_PRECISION", "PREVIEW_INVALID_SIZE_PRECISION", "Invalid order size precision")
        if base < spec.base_min_size:
            raise Rejection("UNKNOWN_FAILURE_REASON", "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL", "Too small order size")
        if base > spec.base_max_size:
            raise Rejection("UNKNOWN_FAILURE_REASON", "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE", "Too large order size")
    if quote is not None:
        if quote <= 0 or not is_multiple_of(quote, spec.quote_increment):
            raise Rejection(
                "INVALID_SIZE_PRECISION", "PREVIEW_INVALID_QUOTE_SIZE_PRECISION", "Invalid quote size precision"
            )
        if quote < spec.quote_min_size:
            raise Rejection("UNKNOWN_FAILURE_REASON", "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL", "Too small order size")
        if quote > spec.quote_max_size:
            raise Rejection("UNKNOWN_FAILURE_REASON", "PREVIEW_INVALID_QUOTE_SIZE_TOO_LARGE", "Too large order size")
    for price in (request.limit_price, request.stop_price):
        if price is not None and (price <= 0 or not is_multiple_of(price, spec.price_increment)):
            raise Rejection("INVALID_PRICE_PRECISION", "PREVIEW_INVALID_PRICE_PRECISION", "Invalid price precision")
    if request.order_type is OrderType.STOP_LIMIT and request.stop_price is None:
        raise Rejection("UNKNOWN_FAILURE_REASON", "PREVIEW_INVALID_STOP_PRICE", "A stop price is required")
    if request.end_time is not None and request.end_time <= now:
        raise Rejection(
            "UNKNOWN_FAILURE_REASON", "PREVIEW_END_TIME_IS_IN_THE_PAST", "The order configuration was invalid"
        )


def _config_error(details: str) -> None:
    raise Rejection(
        "UNKNOWN_FAILURE_REASON", "PREVIEW_INVALID_ORDER_CONFIG", "The order configuration was invalid", details
    )


def check_stop(request: OrderRequest, last: Decimal) -> None:
    """A stop must sit on the side of the last trade it waits for (Coinbase refuses it otherwise)."""
    stop = request.stop_price or Decimal(0)
    if request.stop_direction is StopDirection.STOP_UP and stop <= last:
        raise Rejection(
            "UNKNOWN_FAILURE_REASON",
            "PREVIEW_STOP_PRICE_BELOW_LAST_TRADE_PRICE",
            "Stop price must be above the last trade price for a stop up order",
        )
    if request.stop_direction is StopDirection.STOP_DOWN and stop >= last:
        raise Rejection(
            "UNKNOWN_FAILURE_REASON",
            "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE",
            "Stop price must be below the last trade price for a stop down order",
        )
