"""Walking the book for a taker order: which levels fill, how much, at what price, what to hold (pure)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from cryptoj.domain.book import BookSide, Level, OrderBook
from cryptoj.domain.side import Side

if TYPE_CHECKING:
    from cryptoj.sandbox.engine.requests import OrderRequest
    from cryptoj.sandbox.market.products import ProductSpec

__all__ = ["crosses", "crossing_levels", "fillable_quote", "fillable_size", "required_hold", "walk"]

ZERO = Decimal(0)


def crossing_levels(book: OrderBook, side: Side, limit: Decimal | None) -> Iterator[Level]:
    """Levels a `side` order may take, best first: asks up to the limit for a buy, bids down to it for a sell."""
    for level in book.levels(BookSide.ASK if side is Side.BUY else BookSide.BID):
        if limit is not None and (level.price > limit if side is Side.BUY else level.price < limit):
            return
        yield level


def fillable_size(book: OrderBook, side: Side, limit: Decimal | None, wanted: Decimal) -> Decimal:
    """How much of `wanted` base the book can fill within the limit."""
    total = ZERO
    for level in crossing_levels(book, side, limit):
        total += level.size
        if total >= wanted:
            return wanted
    return total


def fillable_quote(book: OrderBook, side: Side, limit: Decimal | None, wanted: Decimal) -> Decimal:
    """How much of `wanted` quote (price times size) the book can fill within the limit."""
    total = ZERO
    for price, size in crossing_levels(book, side, limit):
        total += price * size
        if total >= wanted:
            return wanted
    return total


def walk(
    book: OrderBook,
    side: Side,
    *,
    limit: Decimal | None,
    base_size: Decimal | None,
    quote_budget: Decimal | None,
    size_increment: Decimal,
) -> list[tuple[Decimal, Decimal]]:
    """The (price, size) executions of a taker order: by base size, or by quote budget (sizes rounded down)."""
    fills: list[tuple[Decimal, Decimal]] = []
    remaining_base = base_size
    remaining_quote = quote_budget
    for price, available in crossing_levels(book, side, limit):
        if remaining_base is not None:
            take = min(available, remaining_base)
            remaining_base -= take
        else:
            budget = remaining_quote if remaining_quote is not None else ZERO
            affordable = (budget / price).quantize(size_increment, rounding=ROUND_FLOOR)
            take = min(available, affordable)
            remaining_quote = budget - take * price
        if take > 0:
            fills.append((price, take))
        if (remaining_base is not None and remaining_base <= 0) or (remaining_quote is not None and take < available):
            break
    return fills


def crosses(book: OrderBook, side: Side, limit: Decimal | None) -> bool:
    """Whether a limit (None: a market order) would take liquidity from the book now."""
    if limit is None:
        return True
    best = book.best_ask if side is Side.BUY else book.best_bid
    if best is None:
        return False
    return best.price <= limit if side is Side.BUY else best.price >= limit


def required_hold(
    request: OrderRequest, spec: ProductSpec, book: OrderBook, *, taker_fee_rate: Decimal
) -> tuple[str, Decimal, Decimal]:
    """What an order must hold: currency, amount, and the amount per unit of base size (buys include the taker fee)."""
    taker = 1 + taker_fee_rate
    if request.side is Side.SELL:
        if request.base_size is None:
            # A quote-sized market sell: hold what the book says the quote buys.
            fills = walk(
                book,
                Side.SELL,
                limit=None,
                base_size=None,
                quote_budget=request.quote_size,
                size_increment=spec.base_increment,
            )
            return spec.base_currency, sum((s for _, s in fills), ZERO), Decimal(1)
        return spec.base_currency, request.base_size, Decimal(1)
    if request.quote_size is not None:
        return spec.quote_currency, request.quote_size, ZERO
    base = request.base_size or ZERO
    if request.limit_price is not None:
        unit = request.limit_price * taker
        return spec.quote_currency, base * unit, unit
    fills = walk(book, Side.BUY, limit=None, base_size=base, quote_budget=None, size_increment=spec.base_increment)
    cost = sum((p * s for p, s in fills), ZERO) * taker
    filled = sum((s for _, s in fills), ZERO)
    return spec.quote_currency, cost, cost / filled if filled else ZERO
