"""Edits of resting orders: which are allowed, and how the order's hold must change (pure checks)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from cryptoj.domain.money import is_multiple_of
from cryptoj.domain.orders import OrderStatus
from cryptoj.domain.side import Side
from cryptoj.domain.walk import crosses
from cryptoj.sandbox.engine.accounts import hold_amount
from cryptoj.sandbox.engine.requests import Rejection

if TYPE_CHECKING:
    from cryptoj.sandbox.engine.engine import Engine
    from cryptoj.sandbox.engine.records import OrderRecord

__all__ = ["check_edit"]


def check_edit(engine: Engine, owner: str, order_id: str, price: Decimal, size: Decimal) -> tuple[OrderRecord, Decimal]:
    """Validate an edit of `owner`'s order; return the order and the extra hold it needs (negative: to release).

    Raises `Rejection` whose `error` is the edit failure reason.
    """
    order = engine.order(owner, order_id)
    if order is None:
        raise Rejection("ORDER_NOT_FOUND", "UNKNOWN_PREVIEW_FAILURE_REASON", "order not found")
    if order.request.config_key != "limit_limit_gtc" or order.status is not OrderStatus.OPEN:
        raise Rejection(
            "COMMANDER_REJECTED_EDIT_ORDER",
            "UNKNOWN_PREVIEW_FAILURE_REASON",
            "only open limit GTC orders can be edited",
        )
    spec = engine.products[order.product_id]
    if price <= 0 or not is_multiple_of(price, spec.price_increment):
        raise Rejection("INVALID_PRICE_PRECISION", "PREVIEW_INVALID_PRICE_PRECISION", "Invalid price precision")
    if size <= order.filled_size or not is_multiple_of(size, spec.base_increment):
        raise Rejection("INVALID_SIZE_PRECISION", "PREVIEW_INVALID_SIZE_PRECISION", "Invalid order size")
    if size > spec.base_max_size:
        raise Rejection("COMMANDER_REJECTED_EDIT_ORDER", "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE", "Too large order size")
    if order.request.post_only and crosses(engine.market.book(order.product_id), order.request.side, price):
        raise Rejection(
            "INVALID_LIMIT_PRICE_POST_ONLY", "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY", "Limit price crosses the book"
        )
    if order.request.side is Side.BUY:
        unit = hold_amount(price * (1 + engine.fee_tier.taker_fee_rate))
        needed = hold_amount((size - order.filled_size) * unit)
    else:
        needed = hold_amount(size - order.filled_size)
    extra = needed - order.hold_remaining
    account = engine.ledger.account(owner, order.hold_currency)
    if extra > account.available:
        raise Rejection("INSUFFICIENT_FUND", "PREVIEW_INSUFFICIENT_FUND", "Insufficient balance in source account")
    return order, extra
