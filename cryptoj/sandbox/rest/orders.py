"""Create, preview, cancel, edit, list and read orders and fills."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptoj.domain.orders import OrderStatus
from cryptoj.sandbox.engine import BadRequest, Rejection
from cryptoj.sandbox.engine.records import OrderRecord
from cryptoj.sandbox.engine.requests import UnknownField, echo_configuration
from cryptoj.sandbox.engine.wire import fill_body, order_body
from cryptoj.sandbox.rest.http import ApiError, Call, key_position, query_cursor, query_int

__all__ = [
    "batch_cancel",
    "create_order",
    "edit_order",
    "edit_preview",
    "get_order",
    "list_fills",
    "list_orders",
    "preview_order",
]

_STATUSES = {s.value for s in OrderStatus} & {
    "PENDING",
    "OPEN",
    "FILLED",
    "CANCELLED",
    "EXPIRED",
    "FAILED",
    "UNKNOWN_ORDER_STATUS",
    "QUEUED",
    "CANCEL_QUEUED",
    "EDIT_QUEUED",
}


# Coinbase's own sandbox answers these `X-Sandbox` header drills with fixed failures; this one too, so
# client code written against api-sandbox.coinbase.com runs its error paths here unchanged.
DRILL_INSUFFICIENT_FUND = "PostOrder_insufficient_fund"
DRILL_CANCEL_FAILURE = "CancelOrders_failure"
DRILL_EDIT_FAILURE = "EditOrder_failure"
DRILL_PREVIEW_EDIT_FAILURE = "PreviewEditOrder_failure"
DRILL_PREVIEW_INSUFFICIENT_FUND = "PreviewOrder_insufficient_fund"


def _not_found() -> Rejection:
    return Rejection("ORDER_NOT_FOUND", "UNKNOWN_PREVIEW_FAILURE_REASON", "order not found")


def _unreadable(call: Call, exc: BadRequest) -> ApiError:
    """The 400 for a body Coinbase cannot read.

    Fact 22: an unknown field is `"error": "unknown"` with protobuf's text pointing at it in the body
    (`proto: (line 1:294): unknown field "max_floor"`); the documented forms say INVALID_ARGUMENT.
    """
    if isinstance(exc, UnknownField) and call.exchange.forms.real:
        line, column = key_position(call.raw, exc.field)
        return ApiError(400, "unknown", f'proto: (line {line}:{column}): unknown field "{exc.field}"')
    return ApiError(400, "INVALID_ARGUMENT", str(exc))


def _body(call: Call) -> dict[str, Any]:
    if not isinstance(call.body, dict):
        raise ApiError(400, "INVALID_ARGUMENT", "request body must be a JSON object")
    return call.body


async def create_order(call: Call) -> dict[str, Any]:
    """POST /orders: HTTP 200 for accepted and rejected orders alike; `success` tells them apart."""
    body = _body(call)
    exchange = call.exchange
    try:
        if call.drill == DRILL_INSUFFICIENT_FUND:
            raise Rejection("INSUFFICIENT_FUND", "PREVIEW_INSUFFICIENT_FUND", "Insufficient balance in source account")
        order = exchange.engine.create(call.user, body, now=exchange.now())
    except BadRequest as exc:
        raise _unreadable(call, exc) from None
    except Rejection as exc:
        return {
            "success": False,
            # Real traffic: the top-level reason stays UNKNOWN while error_response holds the cause.
            "failure_reason": "UNKNOWN_FAILURE_REASON",
            "order_id": "",
            "error_response": {
                "error": exc.error,
                "message": exc.message,
                "error_details": exc.details,
                "preview_failure_reason": exc.preview_reason,
                "new_order_failure_reason": exc.error,
            },
            "order_configuration": body.get("order_configuration"),
        }
    return {
        "success": True,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": order.order_id,
        "success_response": {
            "order_id": order.order_id,
            "product_id": order.product_id,
            "side": order.request.side.value,
            "client_order_id": order.client_order_id,
        },
        "order_configuration": echo_configuration(order.request.config_key, order.request.config),
    }


async def preview_order(call: Call) -> dict[str, Any]:
    """POST /orders/preview."""
    exchange = call.exchange
    try:
        preview = exchange.engine.preview(call.user, _body(call), now=exchange.now())
    except BadRequest as exc:
        raise _unreadable(call, exc) from None
    if call.drill == DRILL_PREVIEW_INSUFFICIENT_FUND:
        preview["errs"] = ["PREVIEW_INSUFFICIENT_FUND"]
    return preview


async def batch_cancel(call: Call) -> dict[str, Any]:
    """POST /orders/batch_cancel: one result per id; a bad id fails alone with INVALID_CANCEL_REQUEST."""
    order_ids = _body(call).get("order_ids")
    if not isinstance(order_ids, list) or not order_ids:
        raise ApiError(400, "INVALID_ARGUMENT", "order_ids is required")
    if len(order_ids) > 100:
        raise ApiError(400, "INVALID_ARGUMENT", "too many order_ids: at most 100 per request")
    exchange = call.exchange
    if call.drill == DRILL_CANCEL_FAILURE:
        return {
            "results": [
                {"success": False, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": str(i)} for i in order_ids
            ]
        }
    results = exchange.engine.cancel(call.user, [str(i) for i in order_ids], now=exchange.now())
    return {
        "results": [{"success": r.success, "failure_reason": r.failure_reason, "order_id": r.order_id} for r in results]
    }


def _edit_args(call: Call) -> tuple[str, Decimal, Decimal]:
    body = _body(call)
    order_id = body.get("order_id")
    if not isinstance(order_id, str) or not order_id:
        raise ApiError(400, "INVALID_ARGUMENT", "order_id is required")
    try:
        price, size = Decimal(str(body["price"])), Decimal(str(body["size"]))
    except (KeyError, InvalidOperation):
        raise ApiError(400, "INVALID_ARGUMENT", "price and size are required decimals") from None
    if not price.is_finite() or not size.is_finite():
        raise ApiError(400, "INVALID_ARGUMENT", "price and size are required decimals")
    return order_id, price, size


async def edit_order(call: Call) -> dict[str, Any]:
    """POST /orders/edit: limit GTC orders only."""
    order_id, price, size = _edit_args(call)
    exchange = call.exchange
    try:
        if call.drill == DRILL_EDIT_FAILURE:
            raise _not_found()
        exchange.engine.edit(call.user, order_id, price, size, now=exchange.now())
    except Rejection as exc:
        return {
            "success": False,
            "errors": [{"edit_failure_reason": exc.error, "preview_failure_reason": exc.preview_reason}],
        }
    return {"success": True, "errors": [], "success_response": {"order_id": order_id}}


async def edit_preview(call: Call) -> dict[str, Any]:
    """POST /orders/edit_preview."""
    order_id, price, size = _edit_args(call)
    preview = call.exchange.engine.edit_preview(call.user, order_id, price, size)
    if call.drill == DRILL_PREVIEW_EDIT_FAILURE:
        failure = _not_found()
        preview["errors"] = [{"edit_failure_reason": failure.error, "preview_failure_reason": failure.preview_reason}]
    return preview


def _paged(call: Call, *, default: int | None) -> tuple[int, int | None]:
    limit = query_int(call, "limit", default=default or 0, low=0, high=1000) or None
    return query_cursor(call), limit


def _time(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", f"{name} argument is invalid") from None
    if moment.tzinfo is None:  # RFC3339 carries an offset; a naive time cannot be compared with order times
        raise ApiError(400, "INVALID_ARGUMENT", f"{name} argument is invalid")
    return moment


def _matches(call: Call, order: OrderRecord, start: datetime | None, end: datetime | None) -> bool:
    q = call.query
    checks = (
        ("order_ids", order.order_id),
        ("product_ids", order.product_id),
        ("order_status", order.status.value),
        ("order_types", order.request.order_type.value),
        ("time_in_forces", order.request.time_in_force.value),
    )
    for name, value in checks:
        wanted = q.getlist(name)
        if wanted and value not in wanted:
            return False
    side = q.get("order_side")
    if side and order.request.side.value != side:
        return False
    return (start is None or order.created_time >= start) and (end is None or order.created_time < end)


async def list_orders(call: Call) -> dict[str, Any]:
    """GET /orders/historical/batch: newest first, `cursor`/`has_next` paging, OPEN not combinable."""
    statuses = call.query.getlist("order_status")
    unknown = [s for s in statuses if s not in _STATUSES]
    if unknown:
        raise ApiError(400, "INVALID_ARGUMENT", f"order_status argument is invalid: {unknown[0]}")
    if "OPEN" in statuses and len(statuses) > 1:
        raise ApiError(400, "INVALID_ARGUMENT", "OPEN is not a valid order_status when combined with other statuses")
    offset, limit = _paged(call, default=None)
    exchange = call.exchange
    start, end = _time(call.query.get("start_date"), "start_date"), _time(call.query.get("end_date"), "end_date")
    orders = [o for o in exchange.engine.orders(call.user) if _matches(call, o, start, end)]
    page = orders[offset : offset + limit] if limit else orders[offset:]
    has_next = limit is not None and offset + limit < len(orders)
    portfolio = exchange.ledger.portfolio_uuid(call.user)
    dialect = exchange.forms.dialect
    return {
        "orders": [order_body(o, portfolio_uuid=portfolio, dialect=dialect) for o in page],
        "sequence": "0",
        "has_next": has_next,
        "cursor": str(offset + (limit or 0)) if has_next else "",
        "proof_token_required": False,
    }


async def get_order(call: Call) -> dict[str, Any]:
    """GET /orders/historical/{order_id}."""
    exchange = call.exchange
    order = exchange.engine.order(call.user, call.path_params["order_id"])
    if order is None:
        raise ApiError(404, "NOT_FOUND", "order with this orderID was not found")
    portfolio = exchange.ledger.portfolio_uuid(call.user)
    return {"order": order_body(order, portfolio_uuid=portfolio, dialect=exchange.forms.dialect)}


async def list_fills(call: Call) -> dict[str, Any]:
    """GET /orders/historical/fills: newest first; no has_next, an empty `cursor` ends the pages."""
    offset, limit = _paged(call, default=100)
    q = call.query
    order_ids, trade_ids, product_ids = q.getlist("order_ids"), q.getlist("trade_ids"), q.getlist("product_ids")
    exchange = call.exchange
    fills = [
        f
        for f in exchange.engine.fills(call.user)
        if (not order_ids or f.order_id in order_ids)
        and (not trade_ids or f.trade_id in trade_ids)
        and (not product_ids or f.product_id in product_ids)
    ]
    size = limit or 100
    page = fills[offset : offset + size]
    more = offset + size < len(fills)
    portfolio = exchange.ledger.portfolio_uuid(call.user)
    dialect = exchange.forms.dialect
    return {
        "fills": [fill_body(f, portfolio_uuid=portfolio, dialect=dialect) for f in page],
        "cursor": str(offset + size) if more else "",
        "proof_token_required": False,
    }
