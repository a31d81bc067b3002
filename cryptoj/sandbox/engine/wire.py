"""The engine's records in Coinbase's JSON shapes (REST bodies and the user channel's order bodies)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from cryptoj.domain.orders import OrderStatus, OrderType
from cryptoj.sandbox.engine.accounts import Account
from cryptoj.sandbox.engine.records import FillRecord, OrderRecord
from cryptoj.sandbox.engine.requests import echo_configuration

__all__ = ["account_body", "decimal_text", "fill_body", "order_body", "rfc3339", "user_order_body"]

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
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def account_body(account: Account, *, portfolio_uuid: str, default: bool) -> dict[str, Any]:
    """One Account object of GET /accounts."""
    fiat = account.currency in ("USD", "EUR", "GBP")
    return {
        "uuid": account.uuid,
        "name": f"{account.currency} Wallet",
        "currency": account.currency,
        "available_balance": {"value": decimal_text(account.available), "currency": account.currency},
        "default": default,
        "active": True,
        "created_at": rfc3339(account.created_at),
        "updated_at": rfc3339(account.created_at),
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


def _completion(order: OrderRecord) -> str:
    if order.base_size:
        return decimal_text((order.filled_size / order.base_size * 100).quantize(Decimal("0.01")))
    return "100" if order.status is OrderStatus.FILLED else "0"


def order_body(order: OrderRecord, *, portfolio_uuid: str) -> dict[str, Any]:
    """One Order object of GET /orders/historical/{id} and /orders/historical/batch."""
    request = order.request
    edits = [
        {"price": decimal_text(e.price), "size": decimal_text(e.size), "replace_accept_timestamp": rfc3339(e.time)}
        for e in order.edit_history
    ]
    value_after_fees = (
        order.filled_value + order.fees if request.side.value == "BUY" else order.filled_value - order.fees
    )
    return {
        "order_id": order.order_id,
        "product_id": order.product_id,
        "user_id": portfolio_uuid,
        "order_configuration": _configuration(order),
        "side": request.side.value,
        "client_order_id": order.client_order_id,
        "status": order.status.value,
        "created_time": rfc3339(order.created_time),
        "completion_percentage": _completion(order),
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
        "last_fill_time": rfc3339(order.last_fill_time) if order.last_fill_time else None,
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
        "workable_size_completion_pct": _completion(order),
        "product_details": None,
        "cost_basis_method": "",
        "displayed_order_config": "UNKNOWN_DISPLAYED_ORDER_CONFIG",
        "equity_trading_session": "",
        "prediction_side": "",
        "last_update_time": rfc3339(order.last_update_time),
    }


def fill_body(fill: FillRecord, *, portfolio_uuid: str) -> dict[str, Any]:
    """One Fill object of GET /orders/historical/fills."""
    return {
        "entry_id": fill.entry_id,
        "trade_id": fill.trade_id,
        "order_id": fill.order_id,
        "trade_time": rfc3339(fill.time),
        "trade_type": "FILL",
        "price": decimal_text(fill.price),
        "size": decimal_text(fill.size),
        "commission": decimal_text(fill.commission),
        "product_id": fill.product_id,
        "sequence_timestamp": rfc3339(fill.time),
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


def user_order_body(order: OrderRecord, *, portfolio_uuid: str) -> dict[str, Any]:
    """An order as the WebSocket `user` channel sends it."""
    request = order.request
    value_after_fees = (
        order.filled_value + order.fees if request.side.value == "BUY" else order.filled_value - order.fees
    )
    return {
        "avg_price": decimal_text(order.average_filled_price),
        "cancel_reason": order.cancel_message,
        "client_order_id": order.client_order_id,
        "completion_percentage": _completion(order),
        "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE",
        "cumulative_quantity": decimal_text(order.filled_size),
        "filled_value": decimal_text(order.filled_value),
        "leaves_quantity": decimal_text(max(order.remaining, Decimal(0))) if order.status.is_open else "0",
        "limit_price": decimal_text(order.limit_price) if order.limit_price is not None else "0",
        "number_of_fills": str(order.number_of_fills),
        "order_id": order.order_id,
        "order_side": request.side.value,
        "order_type": _order_type(order) if request.order_type is not OrderType.STOP_LIMIT else "STOP_LIMIT",
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
        "creation_time": rfc3339(order.created_time),
        "end_time": rfc3339(request.end_time),
        "start_time": ZERO_TIME,
    }
