"""Previews: what an order or an edit would do, computed without changing anything."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cryptoj.domain.orders import OrderType
from cryptoj.domain.side import Side
from cryptoj.domain.walk import crosses, walk_quote, walk_size
from cryptoj.sandbox.engine.matching import check_liquidity, required_hold
from cryptoj.sandbox.engine.requests import OrderRequest, Rejection, check_stop, parse_order_request
from cryptoj.sandbox.engine.wire import decimal_text as _text

if TYPE_CHECKING:
    from datetime import datetime

    from cryptoj.sandbox.engine.engine import Engine

__all__ = ["preview_edit", "preview_order"]

ZERO = Decimal(0)


def preview_order(engine: Engine, owner: str, body: Any, *, now: datetime) -> dict[str, Any]:
    """What placing the order would do, without placing it (errors in `errs`, never an exception)."""
    errs: list[str] = []
    request: OrderRequest | None = None
    try:
        request = parse_order_request(body, products=engine.products, now=now, need_client_order_id=False)
        if request.order_type is OrderType.STOP_LIMIT:
            check_stop(request, engine.market.last_price(request.product_id))
        check_liquidity(request, engine.market.book(request.product_id))
        spec = engine.products[request.product_id]
        currency, amount, _ = required_hold(
            request, spec, engine.market.book(request.product_id), taker_fee_rate=engine.fee_tier.taker_fee_rate
        )
        if amount > engine.ledger.account(owner, currency).available:
            errs.append("PREVIEW_INSUFFICIENT_FUND")
        if request.post_only and crosses(engine.market.book(request.product_id), request.side, request.limit_price):
            errs.append("PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY")
    except Rejection as exc:
        errs.append(exc.preview_reason)
    return _estimate(engine, request, errs)


def _estimate(engine: Engine, request: OrderRequest | None, errs: list[str]) -> dict[str, Any]:
    base_total = quote_total = commission = ZERO
    best_bid = best_ask = ZERO
    if request is not None:
        spec = engine.products[request.product_id]
        book = engine.market.book(request.product_id)
        best_bid = book.best_bid.price if book.best_bid else ZERO
        best_ask = book.best_ask.price if book.best_ask else ZERO
        if request.quote_size is not None:
            walk = walk_quote(
                book,
                request.side,
                quote_size=request.quote_size,
                taker_fee_rate=engine.fee_tier.taker_fee_rate,
                increment=spec.base_increment,
            )
        else:
            walk = walk_size(book, request.side, size=request.base_size or ZERO, limit=request.limit_price)
        base_total, quote_total = walk.filled, walk.notional
        if request.order_type is not OrderType.MARKET and request.base_size is not None and request.limit_price:
            base_total = request.base_size
            quote_total = max(quote_total, ZERO) or request.base_size * request.limit_price
        commission = quote_total * engine.fee_tier.taker_fee_rate
    quote = request.side if request is not None else Side.BUY
    total = quote_total + commission if quote is Side.BUY else quote_total - commission
    average = quote_total / base_total if base_total else ZERO
    return {
        "order_total": _text(total),
        "commission_total": _text(commission),
        "errs": errs,
        "warning": [],
        "quote_size": _text(quote_total),
        "base_size": _text(base_total),
        "best_bid": _text(best_bid),
        "best_ask": _text(best_ask),
        "is_max": False,
        "order_margin_total": "0",
        "leverage": "1",
        "long_leverage": "1",
        "short_leverage": "1",
        "slippage": "0",
        "preview_id": engine.new_id(),
        "current_liquidation_buffer": "0",
        "projected_liquidation_buffer": "0",
        "max_leverage": "1",
        "pnl_configuration": None,
        "est_average_filled_price": _text(average),
    }


def preview_edit(engine: Engine, owner: str, order_id: str, price: Decimal, size: Decimal) -> dict[str, Any]:
    """What an edit would do: `errors` lists why it would fail."""
    errors: list[dict[str, str]] = []
    order = engine.order(owner, order_id)
    try:
        engine.check_edit(owner, order_id, price, size)
    except Rejection as exc:
        errors.append({"edit_failure_reason": exc.error, "preview_failure_reason": exc.preview_reason})
    book = engine.market.book(order.product_id) if order is not None else None
    notional = price * size
    commission = notional * engine.fee_tier.taker_fee_rate
    return {
        "errors": errors,
        "slippage": "0",
        "order_total": _text(notional + commission),
        "commission_total": _text(commission),
        "quote_size": _text(notional),
        "base_size": _text(size),
        "best_bid": _text(book.best_bid.price) if book is not None and book.best_bid else "0",
        "best_ask": _text(book.best_ask.price) if book is not None and book.best_ask else "0",
        "average_filled_price": _text(order.average_filled_price) if order is not None else "0",
    }
