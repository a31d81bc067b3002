"""Walking one side of a book into fills: the primitives the paper model is built from.

Kept apart from `paper` so that module reads as the order rules (market, limit, stop, resting) while
this one holds the arithmetic of taking liquidity level by level.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, localcontext

from cryptoj.domain.book import BookSide, Level, OrderBook
from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import ZERO, round_size_down
from cryptoj.domain.orders import Fill, Liquidity, OrderIntent
from cryptoj.domain.side import Side

__all__ = [
    "FeeRates",
    "Filler",
    "PaperError",
    "Taken",
    "crossing_levels",
    "holds",
    "paper_trade_id",
    "take",
    "take_quote",
]

_TRADE_ID_NAMESPACE = uuid.UUID("b5a4d7c2-8f3e-4a61-9c0d-2e7f1a6b3c48")

# The finest size a quote-sized order is cut to when no product increment is given (Coinbase's finest
# base_increment is 1e-8): with it, notional, fee and cash stay exact in Decimal's 28 digits for any
# realistic amount.
_SIZE_QUANTUM = Decimal("1e-12")
# What an order took from each level it walked: (price, size) pairs.
Taken = tuple[tuple[Decimal, Decimal], ...]


class PaperError(DomainError):
    """The paper model cannot act on its input (a crossed book, a book for another product)."""


@dataclass(frozen=True, slots=True)
class FeeRates:
    """Fee rates as fractions of notional (0.006 = 0.6%), charged in quote currency."""

    maker: Decimal
    taker: Decimal

    def __post_init__(self) -> None:
        for name in ("maker", "taker"):
            rate = getattr(self, name)
            if not rate.is_finite() or not ZERO <= rate < 1:
                raise PaperError(f"{name} fee rate must be in [0, 1), got {rate}")

    def rate(self, liquidity: Liquidity) -> Decimal:
        """The rate for a maker or taker fill."""
        return self.maker if liquidity is Liquidity.MAKER else self.taker


def paper_trade_id(client_order_id: str, number: int) -> str:
    """The deterministic trade id of an order's `number`-th paper fill."""
    return str(uuid.uuid5(_TRADE_ID_NAMESPACE, f"{client_order_id}|{number}"))


def crossing_levels(book: OrderBook, side: Side, limit: Decimal | None) -> Iterator[Level]:
    """Opposite-side levels an order of `side` may take, best first, up to its limit price."""
    for level in book.levels(BookSide.ASK if side is Side.BUY else BookSide.BID):
        if limit is not None and (level.price > limit if side is Side.BUY else level.price < limit):
            return
        yield level


@dataclass(slots=True)
class Filler:
    """Builds an order's fills with consecutive trade numbers."""

    client_order_id: str
    intent: OrderIntent
    fees: FeeRates
    at: datetime
    count: int
    fills: list[Fill]

    def cost(self, price: Decimal, size: Decimal, *, fee_included: bool) -> Decimal:
        """What a taker fill of `size` at `price` reports as its cost: notional, plus the fee when asked."""
        notional = price * size
        # The same expressions as `add` and `Fill.notional`, so the figures match theirs to the last digit.
        return notional + price * size * self.fees.taker if fee_included else notional

    def add(self, price: Decimal, size: Decimal, liquidity: Liquidity) -> None:
        self.count += 1
        self.fills.append(
            Fill(
                trade_id=paper_trade_id(self.client_order_id, self.count),
                client_order_id=self.client_order_id,
                product_id=self.intent.product_id,
                side=self.intent.side,
                price=price,
                size=size,
                fee=price * size * self.fees.rate(liquidity),
                liquidity=liquidity,
                time=self.at,
            )
        )


def take(
    filler: Filler,
    levels: Iterator[Level],
    *,
    size: Decimal,
    taken: Taken = (),
    liquidity: Liquidity = Liquidity.TAKER,
    price_override: Decimal | None = None,
) -> tuple[Decimal, Taken]:
    """Fill level by level until `size` base units are filled or the levels run out.

    Returns the base filled and what the order has now taken from each level it walked; a level that
    shrank below what was taken from it counts as taken down to its new size (others traded it away).
    """
    before = dict(taken)
    filled = ZERO
    now: list[tuple[Decimal, Decimal]] = []
    for level in levels:
        seen = min(before.get(level.price, ZERO), level.size)
        take = min(level.size - seen, size - filled)
        if take > 0:
            filler.add(level.price if price_override is None else price_override, take, liquidity)
            filled += take
        if seen + take:
            now.append((level.price, seen + take))
        if filled == size:
            break
    return filled, tuple(now)


def take_quote(
    filler: Filler,
    levels: Iterator[Level],
    *,
    budget: Decimal,
    cap: Decimal,
    fee_included: bool,
    size_increment: Decimal | None,
) -> bool:
    """Fill level by level until `budget` of notional is used; True when the budget, not the book, ran out.

    `cap` bounds the fills' cost as they report it (notional, plus the fee when `fee_included`): Decimal's
    28-digit rounding of size, notional and fee can otherwise land a unit past it.
    """
    # Without the product's increment, sizes still stop at a fixed quantum: a 28-digit size would make the
    # notional, fee and cash figures round, and rounding can land a unit past the budget.
    increment = size_increment if size_increment is not None else _SIZE_QUANTUM
    spent = ZERO  # notional, against the budget
    paid = ZERO  # reported cost, against the cap, summed exactly
    for level in levels:
        # Round the base size down so the notional never passes the budget.
        with localcontext() as ctx:
            ctx.rounding = ROUND_FLOOR
            wanted = (budget - spent) / level.price
        take = round_size_down(min(level.size, wanted), increment)
        while take > 0 and _exact_sum(paid, filler.cost(level.price, take, fee_included=fee_included)) > cap:
            take -= increment  # extreme magnitudes only: the quantum keeps realistic figures exact
        if take > 0:
            filler.add(level.price, take, Liquidity.TAKER)
            spent += take * level.price
            paid = _exact_sum(paid, filler.cost(level.price, take, fee_included=fee_included))
        if take < level.size:  # this level had more than the budget could buy: the budget is used up
            return True
    return False


def _exact_sum(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 100
        return a + b


def holds(levels: Iterator[Level], *, size: Decimal | None = None, value: Decimal | None = None) -> bool:
    """Whether the levels hold `size` base units (or `value` of notional); stops walking once they do."""
    total = ZERO
    target = size if size is not None else value
    for level in levels:
        total += level.size if size is not None else level.size * level.price
        if target is not None and total >= target:
            return True
    return False
