"""What an order may meet and must hold, on the domain's one book walker (`cryptoj.domain.walk`).

The engine walks the book with the same walker as the paper model, so an order gives the same fills in
paper and live-on-sandbox; only the sandbox's own rules (holds, the no-liquidity rejection) live here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from cryptoj.domain.book import OrderBook
from cryptoj.domain.orders import OrderType
from cryptoj.domain.side import Side
from cryptoj.domain.walk import crosses, walk_quote, walk_size
from cryptoj.sandbox.engine.accounts import hold_amount
from cryptoj.sandbox.engine.requests import Rejection

if TYPE_CHECKING:
    from cryptoj.sandbox.engine.requests import OrderRequest
    from cryptoj.sandbox.market.products import ProductSpec

__all__ = ["check_liquidity", "required_hold"]

ZERO = Decimal(0)


def check_liquidity(request: OrderRequest, book: OrderBook) -> None:
    """A market order meeting an empty side is refused, as Coinbase refuses it (`INVALID_NO_LIQUIDITY`)."""
    if request.order_type is OrderType.MARKET and not crosses(book, request.side, None):
        raise Rejection("INVALID_NO_LIQUIDITY", "PREVIEW_INVALID_NO_LIQUIDITY", "No liquidity to fill the order")


def required_hold(
    request: OrderRequest, spec: ProductSpec, book: OrderBook, *, taker_fee_rate: Decimal
) -> tuple[str, Decimal, Decimal]:
    """What an order must hold: currency, amount, and the amount per unit of base size (buys include the taker fee).

    Amounts and units are whole multiples of `HOLD_QUANTUM` (rounded up), so holds add up exactly.
    """
    taker = 1 + taker_fee_rate
    if request.side is Side.SELL:
        if request.base_size is None:
            # A quote-sized market sell: hold what the book says the quote sells.
            walk = walk_quote(
                book,
                Side.SELL,
                quote_size=request.quote_size or ZERO,
                taker_fee_rate=taker_fee_rate,
                increment=spec.base_increment,
            )
            return spec.base_currency, hold_amount(walk.filled), Decimal(1)
        return spec.base_currency, hold_amount(request.base_size), Decimal(1)
    if request.quote_size is not None:
        return spec.quote_currency, hold_amount(request.quote_size), ZERO
    base = request.base_size or ZERO
    if request.limit_price is not None:
        unit = hold_amount(request.limit_price * taker)
        return spec.quote_currency, hold_amount(base * unit), unit
    walk = walk_size(book, Side.BUY, size=base)
    cost = hold_amount(walk.notional * taker)
    return spec.quote_currency, cost, hold_amount(cost / walk.filled) if walk.filled else ZERO
