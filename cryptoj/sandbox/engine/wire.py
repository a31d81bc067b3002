"""The engine's records in Coinbase's JSON shapes (REST bodies and the user channel's order bodies).

Each body comes in the forms of a dialect (`cryptoj.sandbox.forms`): the real forms write times as
Coinbase's services do (REST: protobuf's 0/3/6/9 fraction digits, fills to the nanosecond; the user channel:
Go's RFC3339Nano) and unset fields as recorded (fact 24); the documented forms keep the sandbox's first ones.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from cryptoj.domain.orders import OrderStatus
from cryptoj.sandbox.engine.accounts import Account
from cryptoj.sandbox.engine.records import FillRecord, OrderRecord
from cryptoj.sandbox.engine.requests import echo_configuration
from cryptoj.sandbox.forms import Dialect, fixed_time, go_time_nano, proto_time

__all__ = ["account_body", "decimal_text", "fill_body", "order_body", "rest_time", "rfc3339", "user_order_body"]

ZERO_TIME = "0001-01-01T00:00:00Z"  # Coinbase's "unset" time
_MAX_PLACES = Decimal("1e-16")


def decimal_text(value: Decimal) -> str:
    """A Decimal as Coinbase writes it: plain digits, no exponent, at most 16 decimals."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -16:
        value = value.quantize(_MAX_PLACES, rounding=ROUND_HALF_EVEN)
    if not value:
        return "0"
    return format(value.normalize(), "f")


def rfc3339(moment: datetime | None) -> str:
    """RFC3339 UTC with microseconds and `Z`, or the zero time when unset."""
    if moment is None:
        return ZERO_TIME
    return fixed_time(moment)


def rest_time(moment: datetime, *, dialect: Dialect, nanos: int = 0) -> str:
    """A REST time: protobuf's JSON form in the real dialect (fact 25), six fixed digits in the documented one."""
    return proto_time(moment, nanos=nanos) if dialect is Dialect.REAL else fixed_time(moment)


def account_body(account: Account, *, portfolio_uuid: str, default: bool, dialect: Dialect) -> dict[str, Any]:
    """One Account object of GET /accounts."""
    fiat = account.currency in ("USD", "EUR", "GBP")
    created = rest_time(account.created_at, dialect=dialect)
    return {
        "uuid": account.uuid,
        "name": f"{account.currency} Wallet",
        "currency": account.currency,
        "available_balance": {"value": decimal_text(account.available), "currency": account.currency},
        "default": default,
        "active": True,
        "created_at": created,
        "updated_at": created,
        "deleted_at": None,
        "type": "ACCOUNT_TYPE_FIAT" if fiat else "ACCOUNT_TYPE_CRYPTO",
        "ready": True,
        "hold": {"value": decimal_text(account.hold), "currency": account.currency},
        "retail_portfolio_id": portfolio_uuid,
        "platform": "ACCOUNT_PLATFORM_CONSUMER",
    }


def _configuration(order: OrderRecord) -> dict[str, Any]:
    key = order.request.config_key
    config = echo_configuration(key, order.request.config)[key]
    if not order.edit_history:
        return {key: config}
    # Edits change price and size: the configuration shows the current ones.
    if order.limit_price is not None and "limit_price" in config:
        config["limit_price"] = decimal_text(order.limit_price)
    if order.base_size is not None and "base_size" in config:
        config["base_size"] = decimal_text(order.base_size)
    return {order.request.config_key: config}


def _order_type(order: OrderRecord) -> str:
    return order.request.order_type.value


_HUNDREDTH = Decimal("0.01")


def _completion(order: OrderRecord, dialect: Dialect) -> str:
    if order.base_size:
        done = (order.filled_size / order.base_size * 100).quantize(_HUNDREDTH)
    else:
        done = Decimal(100 if order.status is OrderStatus.FILLED else 0)
    # Fact 24: real answers keep two places ("100.00"); the documented forms drop the zeros.
    return format(done.quantize(_HUNDREDTH), "f") if dialect is Dialect.REAL else decimal_text(done)


# Fact 24: what Coinbase sent for fields it does not fill; the documented forms' values beside them.
_REAL_UNSET: dict[str, Any] = {
    "commission_detail_total": None,
    "workable_size": "",
    "workable_size_completion_pct": "",
    "cost_basis_method": "COST_BASIS_METHOD_UNSPECIFIED",
    "equity_trading_session": "UNKNOWN_EQUITY_TRADING_SESSION",
    "prediction_side": "PREDICTION_SIDE_UNKNOWN",
    "last_update_time": None,
}


def order_body(order: OrderRecord, *, portfolio_uuid: str, dialect: Dialect) -> dict[str, Any]:
    """One Order object of GET /orders/historical/{id} and /orders/historical/batch."""
    request = order.request

    def time(moment: datetime) -> str:
        return rest_time(moment, dialect=dialect)

    edits = [
        {"price": decimal_text(e.price), "size": decimal_text(e.size), "replace_accept_timestamp": time(e.time)}
        for e in order.edit_history
    ]
    value_after_fees = (
        order.filled_value + order.fees if request.side.value == "BUY" else order.filled_value - order.fees
    )
    body = {
        "order_id": order.order_id,
        "product_id": order.product_id,
        "user_id": portfolio_uuid,
        "order_configuration": _configuration(order),
        "side": request.side.value,
        "client_order_id": order.client_order_id,
        "status": order.status.value,
        "created_time": time(order.created_time),
        "completion_percentage": _completion(order, dialect),
        "average_filled_price": decimal_text(order.average_filled_price),
        "number_of_fills": str(order.number_of_fills),
        "pending_cancel": order.status is OrderStatus.CANCEL_QUEUED,
        "size_in_quote": request.quote_size is not None,
        "total_fees": decimal_text(order.fees),
        "size_inclusive_of_fees": request.quote_size is not None,
        "total_value_after_fees": decimal_text(value_after_fees),
        "time_in_force": request.time_in_force.value,
        "filled_size": decimal_text(order.filled_size),
        "fee": "",
        "filled_value": decimal_text(order.filled_value),
        "trigger_status": order.trigger_status,
        "order_type": _order_type(order),
        "reject_reason": "REJECT_REASON_UNSPECIFIED",
        "settled": order.status.is_terminal,
        "product_type": "SPOT",
        "reject_message": order.reject_message,
        "cancel_message": order.cancel_message,
        "order_placement_source": "RETAIL_ADVANCED",
        "outstanding_hold_amount": decimal_text(order.hold_remaining),
        "is_liquidation": False,
        "last_fill_time": time(order.last_fill_time) if order.last_fill_time else None,
        "edit_history": edits,
        "leverage": "",
        "margin_type": "UNKNOWN_MARGIN_TYPE",
        "retail_portfolio_id": portfolio_uuid,
        "originating_order_id": "",
        "attached_order_id": "",
        "attached_order_configuration": None,
        "current_pending_replace": None,
        "commission_detail_total": {
            "total_commission": decimal_text(order.fees),
            "gst_commission": "0",
            "withholding_commission": "0",
            "client_commission": "0",
            "venue_commission": decimal_text(order.fees),
            "regulatory_commission": "0",
            "clearing_commission": "0",
        },
        "workable_size": decimal_text(order.remaining) if order.status is OrderStatus.OPEN else "0",
        "workable_size_completion_pct": _completion(order, dialect),
        "product_details": None,
        "cost_basis_method": "",
        "displayed_order_config": "UNKNOWN_DISPLAYED_ORDER_CONFIG",
        "equity_trading_session": "",
        "prediction_side": "",
        "last_update_time": rfc3339(order.last_update_time),
    }
    if dialect is Dialect.REAL:
        body |= _REAL_UNSET
    return body


def fill_body(fill: FillRecord, *, portfolio_uuid: str, dialect: Dialect) -> dict[str, Any]:
    """One Fill object of GET /orders/historical/fills (real fill times to the nanosecond, fact 25)."""
    at = rest_time(fill.time, dialect=dialect, nanos=fill.nanos)
    return {
        "entry_id": fill.entry_id,
        "trade_id": fill.trade_id,
        "order_id": fill.order_id,
        "trade_time": at,
        "trade_type": "FILL",
        "price": decimal_text(fill.price),
        "size": decimal_text(fill.size),
        "commission": decimal_text(fill.commission),
        "product_id": fill.product_id,
        "sequence_timestamp": at,
        "liquidity_indicator": fill.liquidity.value,
        "size_in_quote": False,
        "user_id": portfolio_uuid,
        "side": fill.side,
        "retail_portfolio_id": portfolio_uuid,
        "fillSource": "FILL_SOURCE_CLOB",
        "commission_detail_total": {
            "total_commission": decimal_text(fill.commission),
            "gst_commission": "0",
            "withholding_commission": "0",
            "client_commission": "0",
            "venue_commission": decimal_text(fill.commission),
            "regulatory_commission": "0",
            "clearing_commission": "0",
        },
    }


def _user_order_type(order: OrderRecord, dialect: Dialect) -> str:
    # Fact 26: the user channel spells order types like "Limit" (same letters as REST's, another case).
    name = order.request.order_type.value
    return name.title() if dialect is Dialect.REAL else name


def user_order_body(order: OrderRecord, *, portfolio_uuid: str, dialect: Dialect) -> dict[str, Any]:
    """An order as the WebSocket `user` channel sends it."""
    request = order.request
    value_after_fees = (
        order.filled_value + order.fees if request.side.value == "BUY" else order.filled_value - order.fees
    )

    def time(moment: datetime | None) -> str:
        if moment is None:
            return ZERO_TIME
        return go_time_nano(moment) if dialect is Dialect.REAL else fixed_time(moment)

    return {
        "avg_price": decimal_text(order.average_filled_price),
        "cancel_reason": order.cancel_message,
        "client_order_id": order.client_order_id,
        "completion_percentage": _completion(order, dialect),
        "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE",
        "cumulative_quantity": decimal_text(order.filled_size),
        "filled_value": decimal_text(order.filled_value),
        "leaves_quantity": decimal_text(max(order.remaining, Decimal(0))) if order.status.is_open else "0",
        "limit_price": decimal_text(order.limit_price) if order.limit_price is not None else "0",
        "number_of_fills": str(order.number_of_fills),
        "order_id": order.order_id,
        "order_side": request.side.value,
        "order_type": _user_order_type(order, dialect),
        "outstanding_hold_amount": decimal_text(order.hold_remaining),
        "post_only": "true" if request.post_only else "false",
        "product_id": order.product_id,
        "product_type": "SPOT",
        "reject_reason": "",
        "retail_portfolio_id": portfolio_uuid,
        "risk_managed_by": "UNKNOWN_RISK_MANAGEMENT_TYPE",
        "status": order.status.value,
        "stop_price": decimal_text(request.stop_price) if request.stop_price is not None else "0",
        "time_in_force": request.time_in_force.value,
        "total_fees": decimal_text(order.fees),
        "total_value_after_fees": decimal_text(value_after_fees),
        "trigger_status": order.trigger_status,
        "creation_time": time(order.created_time),
        "end_time": time(request.end_time),
        "start_time": ZERO_TIME,
    }
