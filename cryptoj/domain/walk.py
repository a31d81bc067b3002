"""The one book walker: what an order takes from one side of a level-2 book, level by level.

Paper fills (`cryptoj.domain.paper`), the sandbox's matching engine and `OrderBook.cost_to_fill` all walk
here, so one order on one book gives the same executions wherever it is simulated. A walk reads the book
and never changes it, and stops at the last level it needs: a market order on a 46,000-level side reads
the handful of levels it takes.

Coinbase's rules for sizes live here too: a quote-sized buy's quote_size pays for the fee as well, and the
base size of a quote-sized order is cut to the product's base_increment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import NamedTuple

from cryptoj.domain.book import BookSide, FillEstimate, Level, OrderBook
from cryptoj.domain.money import ZERO, round_size_down
from cryptoj.domain.side import Side

__all__ = [
    "Execution",
    "Taken",
    "Walk",
    "crosses",
    "crossing_levels",
    "estimate_fill",
    "fee_for",
    "walk_quote",
    "walk_size",
]

# What an order took from each level it walked: (price, size) pairs, kept by a resting order.
Taken = tuple[tuple[Decimal, Decimal], ...]


class Execution(NamedTuple):
    """One level's part of a walk: `size` base units at the level's `price`."""

    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class Walk:
    """What an order takes from one side of a book.

    Parameters:
        executions: what it takes from each level, best price first.
        complete: whether its whole size (or quote budget) went into executions; False when the
            book (within the limit) ran out first, and when nothing executed at all.
        taken: what it has now taken from each level it walked, for a resting order's next walk.
    """

    executions: tuple[Execution, ...]
    complete: bool
    taken: Taken = ()

    @property
    def filled(self) -> Decimal:
        """Base units taken."""
        return sum((e.size for e in self.executions), ZERO)

    @property
    def notional(self) -> Decimal:
        """Quote value taken, before fees."""
        return sum((e.price * e.size for e in self.executions), ZERO)


def fee_for(price: Decimal, size: Decimal, rate: Decimal) -> Decimal:
    """The fee of one execution: its notional times the rate (the one expression paper and sandbox use)."""
    return price * size * rate


def crossing_levels(book: OrderBook, side: Side, limit: Decimal | None) -> Iterator[Level]:
    """The levels an order of `side` may take, best first: asks up to a buy's limit, bids down to a sell's.

    `limit` None (a market order) takes the whole side.
    """
    for level in book.levels(BookSide.ASK if side is Side.BUY else BookSide.BID):
        if limit is not None and (level.price > limit if side is Side.BUY else level.price < limit):
            return
        yield level


def crosses(book: OrderBook, side: Side, limit: Decimal | None) -> bool:
    """Whether an order of `side` at `limit` would take liquidity now (a post-only order must not)."""
    return next(crossing_levels(book, side, limit), None) is not None


def walk_size(book: OrderBook, side: Side, *, size: Decimal, limit: Decimal | None = None, taken: Taken = ()) -> Walk:
    """Take `size` base units level by level, within `limit`, until the size is filled or the levels run out.

    `taken` is what a resting order already took from levels that may still be visible: the book never
    learns of a simulated fill, so only what a level shows beyond it is new (a level that shrank counts as
    taken down to its new size, because others traded it away).
    """
    before = dict(taken)
    filled = ZERO
    executions: list[Execution] = []
    now: list[tuple[Decimal, Decimal]] = []
    for level in crossing_levels(book, side, limit):
        seen = min(before.get(level.price, ZERO), level.size)
        take = min(level.size - seen, size - filled)
        if take > 0:
            executions.append(Execution(level.price, take))
            filled += take
        if seen + take:
            now.append((level.price, seen + take))
        if filled == size:
            break
    return Walk(tuple(executions), complete=filled == size, taken=tuple(now))


def walk_quote(
    book: OrderBook, side: Side, *, quote_size: Decimal, taker_fee_rate: Decimal, increment: Decimal
) -> Walk:
    """Take a quote-sized market order: notional up to a budget, each size cut down to `increment`.

    As on Coinbase, a buy's quote_size pays for what it buys and for the taker fee on it (it buys
    quote_size / (1 + taker_fee_rate) of notional, and notional plus fee never passes quote_size, to the
    last digit); a sell's quote_size is the notional it sells, its fee coming off the proceeds. Complete
    when the budget ran out before the book: what is left cannot buy one more increment.
    """
    if side is Side.BUY:
        with localcontext() as ctx:
            # Rounded down: a budget a unit too high could let notional plus fee pass quote_size.
            ctx.rounding = ROUND_FLOOR
            budget = quote_size / (1 + taker_fee_rate)
        return _walk_budget(
            crossing_levels(book, side, None),
            budget=budget,
            cap=quote_size,
            fee_rate=taker_fee_rate,
            increment=increment,
        )
    return _walk_budget(crossing_levels(book, side, None), budget=quote_size, cap=quote_size, increment=increment)


def _walk_budget(
    levels: Iterator[Level], *, budget: Decimal, cap: Decimal, increment: Decimal, fee_rate: Decimal = ZERO
) -> Walk:
    """Take levels until `budget` of notional is used; notional plus `fee_rate` of it never passes `cap`.

    The cap is checked exactly: Decimal's 28-digit rounding of sizes, notionals and fees can otherwise land
    a unit past it at extreme magnitudes.
    """
    spent = ZERO  # notional, against the budget
    paid = ZERO  # notional plus fee as the fills report them, against the cap, summed exactly
    executions: list[Execution] = []
    last_price: Decimal | None = None
    for level in levels:
        with localcontext() as ctx:
            ctx.rounding = ROUND_FLOOR  # the base size never buys past the budget
            wanted = (budget - spent) / level.price
        take = round_size_down(min(level.size, wanted), increment)
        while take > 0 and _exact_sum(paid, _cost(level.price, take, fee_rate)) > cap:
            take -= increment  # extreme magnitudes only: realistic figures are exact
        if take > 0:
            executions.append(Execution(level.price, take))
            spent += level.price * take
            paid = _exact_sum(paid, _cost(level.price, take, fee_rate))
        if take < level.size:  # the level held more than the budget buys: the budget is used up
            return Walk(tuple(executions), complete=bool(executions))
        last_price = level.price
    # The book ran out: complete only if what is left could not have bought one more increment anyway.
    complete = last_price is not None and budget - spent < increment * last_price
    return Walk(tuple(executions), complete=complete and bool(executions))


def _cost(price: Decimal, size: Decimal, fee_rate: Decimal) -> Decimal:
    # The same expressions as the fills' notional and `fee_for`, so the figures match theirs to the last digit.
    notional = price * size
    return notional + fee_for(price, size, fee_rate) if fee_rate else notional


def _exact_sum(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 100
        return a + b


def estimate_fill(book: OrderBook, side: Side, size: Decimal) -> FillEstimate:
    """What a market order of `size` base units would take: filled size, cost before fees, levels used."""
    walk = walk_size(book, side, size=size)
    return FillEstimate(requested=size, filled=walk.filled, cost=walk.notional, levels_used=len(walk.executions))
