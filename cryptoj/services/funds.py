"""Whether an account can pay for an order, as Coinbase checks it before accepting one (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from cryptoj.domain.book import OrderBook
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import OrderIntent
from cryptoj.domain.paper import FeeRates
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.products import split_product_id
from cryptoj.domain.side import Side

__all__ = ["INSUFFICIENT_FUND", "buy_cost", "shortfall"]

INSUFFICIENT_FUND = "INSUFFICIENT_FUND"


def buy_cost(intent: OrderIntent, book: OrderBook, fees: FeeRates) -> Decimal:
    """What a buy may spend, fee included: its quote size, its limit value, or the book's price for its size."""
    if intent.quote_size is not None:
        return intent.quote_size  # a quote-sized buy's quote_size already includes the fee
    size = intent.base_size or ZERO
    if intent.limit_price is not None:
        return size * intent.limit_price * (1 + fees.taker)
    return book.cost_to_fill(Side.BUY, size).cost * (1 + fees.taker)


def shortfall(
    intent: OrderIntent,
    portfolio: Portfolio,
    book: OrderBook,
    fees: FeeRates,
    *,
    held_cash: Mapping[str, Decimal] | None = None,
    held_base: Mapping[str, Decimal] | None = None,
) -> str | None:
    """Why the account cannot pay for `intent` (Coinbase's INSUFFICIENT_FUND, with the figures), or None.

    A buy needs its cost in free quote cash, a sell its size in free base; `held_*` is what working orders
    already hold.
    """
    base, quote = split_product_id(intent.product_id)
    if intent.side is Side.BUY:
        need = buy_cost(intent, book, fees)
        free = portfolio.cash_in(quote) - (held_cash or {}).get(quote, ZERO)
        if need > free:
            return f"{INSUFFICIENT_FUND}: the order needs {need} {quote}, {free} {quote} is free"
        return None
    size = intent.base_size if intent.base_size is not None else _quote_to_base(intent, book)
    free = portfolio.size(intent.product_id) - (held_base or {}).get(intent.product_id, ZERO)
    if size > free:
        return f"{INSUFFICIENT_FUND}: selling {size} {base} needs {size} {base}, {free} {base} is free"
    return None


def _quote_to_base(intent: OrderIntent, book: OrderBook) -> Decimal:
    """The base a quote-sized sell would deliver at the best bid (enough for a funds check)."""
    best = book.best_bid
    if best is None or intent.quote_size is None:
        return ZERO
    return intent.quote_size / best.price
