"""A level-2 order book: price levels with absolute sizes, as Coinbase's level2 channel sends them.

Each side is a `sortedcontainers.SortedDict` keyed by price: O(log n) level inserts and removals, and the
best level is at one end, so best bid/ask are O(1) and depth walks are ordered iteration.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from sortedcontainers import SortedDict

from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import ZERO
from cryptoj.domain.side import Side

__all__ = ["BookError", "BookSide", "FillEstimate", "Level", "OrderBook"]


class BookError(DomainError):
    """An update the book cannot apply (a negative size, a non-positive price)."""


class BookSide(StrEnum):
    """A side of the book, spelled as the level2 channel spells it."""

    BID = "bid"  # resting buy orders; the best is the highest price
    ASK = "offer"  # resting sell orders; the best is the lowest price

    @classmethod
    def parse(cls, text: str) -> BookSide:
        """Accept the wire's `bid`/`offer` and the common `ask`/`buy`/`sell` spellings."""
        match text.lower():
            case "bid" | "buy":
                return cls.BID
            case "offer" | "ask" | "sell":
                return cls.ASK
        raise BookError(f"unknown book side {text!r}")


class Level(NamedTuple):
    """One price level: the total size resting at a price."""

    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class FillEstimate:
    """What walking the book for a size would do: how much fills, at what cost, at what average price."""

    requested: Decimal
    filled: Decimal
    cost: Decimal  # quote currency, before fees
    levels_used: int

    @property
    def complete(self) -> bool:
        """Whether the book held enough liquidity for the whole size."""
        return self.filled == self.requested

    @property
    def average_price(self) -> Decimal | None:
        """Volume-weighted price of what fills; None when nothing fills."""
        return self.cost / self.filled if self.filled else None


class OrderBook:
    """The level-2 book of one product.

    Parameters:
        product_id: the product this book belongs to, e.g. ``BTC-USD``.
    """

    __slots__ = ("_asks", "_bids", "product_id")

    def __init__(self, product_id: str) -> None:
        self.product_id = product_id
        self._bids: SortedDict = SortedDict()
        self._asks: SortedDict = SortedDict()

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.product_id!r}, bids={len(self._bids)}, asks={len(self._asks)}, "
            f"best_bid={self.best_bid}, best_ask={self.best_ask})"
        )

    # --- writing ----------------------------------------------------------------------------------

    def apply_snapshot(self, bids: Iterable[tuple[Decimal, Decimal]], asks: Iterable[tuple[Decimal, Decimal]]) -> None:
        """Replace the whole book. Levels of size zero are dropped; a bad level leaves the book unchanged."""
        new_bids = self._build_side(bids)
        new_asks = self._build_side(asks)
        # Built in bulk: SortedDict(dict) sorts once instead of inserting level by level.
        self._bids = SortedDict(new_bids)
        self._asks = SortedDict(new_asks)

    @staticmethod
    def _build_side(levels: Iterable[tuple[Decimal, Decimal]]) -> dict[Decimal, Decimal]:
        side: dict[Decimal, Decimal] = {}
        for price, size in levels:
            _check_level(price, size)
            if size:
                side[price] = size
            else:
                side.pop(price, None)
        return side

    def apply_update(self, side: BookSide, price: Decimal, size: Decimal) -> None:
        """Set the absolute size at a price; size zero removes the level."""
        _check_level(price, size)
        levels = self._bids if side is BookSide.BID else self._asks
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)

    def apply_updates(self, updates: Iterable[tuple[BookSide, Decimal, Decimal]]) -> None:
        """Apply several `(side, price, size)` updates in order."""
        for side, price, size in updates:
            self.apply_update(side, price, size)

    def clear(self) -> None:
        """Empty both sides (before a resynchronising snapshot)."""
        self._bids.clear()
        self._asks.clear()

    # --- reading ----------------------------------------------------------------------------------

    @property
    def best_bid(self) -> Level | None:
        """The highest bid, or None on an empty side."""
        if not self._bids:
            return None
        return Level(*self._bids.peekitem(-1))

    @property
    def best_ask(self) -> Level | None:
        """The lowest ask, or None on an empty side."""
        if not self._asks:
            return None
        return Level(*self._asks.peekitem(0))

    def _top_prices(self) -> tuple[Decimal, Decimal] | None:
        # Prices only, no Level tuples: mid and spread are read after every update in a trading loop.
        if not self._bids or not self._asks:
            return None
        bid: Decimal = self._bids.peekitem(-1)[0]
        ask: Decimal = self._asks.peekitem(0)[0]
        return bid, ask

    @property
    def mid(self) -> Decimal | None:
        """Halfway between best bid and best ask; None unless both sides have a level."""
        top = self._top_prices()
        return None if top is None else (top[0] + top[1]) / 2

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid; None unless both sides have a level (negative when crossed)."""
        top = self._top_prices()
        return None if top is None else top[1] - top[0]

    @property
    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask: a book that must not be traded on."""
        spread = self.spread
        return spread is not None and spread <= 0

    @property
    def is_empty(self) -> bool:
        """Whether neither side has a level."""
        return not self._bids and not self._asks

    def level_count(self, side: BookSide) -> int:
        """How many price levels one side holds."""
        return len(self._bids if side is BookSide.BID else self._asks)

    def size_at(self, side: BookSide, price: Decimal) -> Decimal:
        """The size resting at a price (zero when there is no level)."""
        levels = self._bids if side is BookSide.BID else self._asks
        size: Decimal = levels.get(price, ZERO)
        return size

    def levels(self, side: BookSide) -> Iterator[Level]:
        """Every level of a side, best first."""
        if side is BookSide.BID:
            for price in reversed(self._bids):
                yield Level(price, self._bids[price])
        else:
            for price in self._asks:
                yield Level(price, self._asks[price])

    def depth(self, side: BookSide, levels: int) -> list[Level]:
        """The best `levels` levels of a side, best first."""
        if levels < 0:
            raise BookError(f"depth must not be negative, got {levels}")
        result: list[Level] = []
        for level in self.levels(side):
            if len(result) == levels:
                break
            result.append(level)
        return result

    def cost_to_fill(self, side: Side, size: Decimal) -> FillEstimate:
        """Walk the opposite side for a market order of `size` base units.

        A buy takes asks from the lowest up, a sell takes bids from the highest down. When depth runs
        out, the estimate says how much would fill.
        """
        if size <= 0:
            raise BookError(f"size to fill must be positive, got {size}")
        from cryptoj.domain.walk import estimate_fill  # the one book walker; it imports this module

        return estimate_fill(self, side, size)


def _check_level(price: Decimal, size: Decimal) -> None:
    if not price.is_finite() or price <= 0:
        raise BookError(f"price level must be a positive finite decimal, got {price}")
    if not size.is_finite() or size < 0:
        raise BookError(f"level size must be zero or positive, got {size} at {price}")
