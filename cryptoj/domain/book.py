"""A level-2 order book: price levels with absolute sizes, as Coinbase's level2 channel sends them.

Real books are deep (a BTC-USD snapshot holds 46,000 levels, out to absurd prices) and their traffic is
near the top. Each side (`_ladder.Ladder`) keeps every level in a plain dict keyed by integer ticks of
the price (`_ticks`: exact, never rounded) and keeps only its best levels sorted: an update far from the
top costs one dict operation, best bid/ask are O(1), and walks are best first. The level2 channel's text
goes in without building a `Decimal` per level (`apply_text_snapshot`, `apply_text_updates`), checked once
per batch rather than once per level; what comes out is always `Decimal`, exactly as it came in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import islice
from operator import attrgetter
from typing import NamedTuple, Protocol, cast

from cryptoj.domain._ladder import Ladder
from cryptoj.domain._ticks import Ticks, places_of, plain_sizes, plain_texts, scale_of
from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import ZERO
from cryptoj.domain.side import Side

__all__ = ["BookError", "BookSide", "FillEstimate", "Level", "OrderBook", "TextLevel"]


# The finest tick a book takes: 18 decimals, ten orders of magnitude below Coinbase's finest increments.
_FINEST = 18


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


class TextLevel(Protocol):
    """A level as the level2 channel's text (`cryptoj.coinbase.ws_models.L2Update` is one).

    `side` is ``bid`` or ``offer``; `price_text` and `size_text` are plain decimal numbers (``"65083.67"``),
    the size absolute, zero removing the level.
    """

    @property
    def side(self) -> str: ...
    @property
    def price_text(self) -> str: ...
    @property
    def size_text(self) -> str: ...


# What a side keeps per level: the caller's own Decimals, or the text level itself (no copy, no Decimal).
Entry = tuple[Decimal, Decimal] | TextLevel

# One level of an update: its key, and the level to keep or None to remove it.
_Change = tuple[int, Entry | None]

_SIDE = attrgetter("side")
_PRICE = attrgetter("price_text")
_SIZE = attrgetter("size_text")


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
        sorted_depth: how many of each side's best levels are kept in order (the rest sit in a plain
            mapping until a walk or a refill needs them); any value gives the same book, only the speed
            differs.

    Levels come in as `Decimal` (`apply_snapshot`, `apply_update`) or as the level2 channel's text
    (`apply_text_snapshot`, `apply_text_updates`); they come out as `Decimal`, equal to what came in.
    """

    __slots__ = ("_asks", "_bids", "_ticks", "product_id")

    def __init__(self, product_id: str, *, sorted_depth: int = 1_024) -> None:
        if sorted_depth < 1:
            raise BookError(f"sorted_depth must be at least 1, got {sorted_depth}")
        self.product_id = product_id
        self._bids: Ladder[Entry] = Ladder(depth=sorted_depth)
        self._asks: Ladder[Entry] = Ladder(depth=sorted_depth)
        # Cents to start with (BTC-USD's and ETH-USD's increment): small keys are cheaper than a scale that
        # fits everything, and a finer price rescales the book once.
        self._ticks = Ticks(2)

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.product_id!r}, bids={len(self._bids.levels)}, asks={len(self._asks.levels)}, "
            f"best_bid={self.best_bid}, best_ask={self.best_ask})"
        )

    def _ladder(self, side: BookSide) -> Ladder[Entry]:
        return self._bids if side is BookSide.BID else self._asks

    def _rescale(self, scale: int) -> None:
        """Make the tick finer (`scale` above the current one): every key is multiplied, nothing is rounded."""
        if scale > _FINEST:
            # Keys grow with the scale and every later operation pays for it: one stray price must not do that.
            raise BookError(f"price levels finer than 1e-{_FINEST} are not supported (one has {scale} decimals)")
        factor: int = 10 ** (scale - self._ticks.scale)
        self._bids.rescale(factor)
        self._asks.rescale(factor)
        self._ticks = Ticks(scale)

    # --- writing: Decimal ---------------------------------------------------------------------------

    def apply_snapshot(self, bids: Iterable[tuple[Decimal, Decimal]], asks: Iterable[tuple[Decimal, Decimal]]) -> None:
        """Replace the whole book. Levels of size zero are dropped; a bad level leaves the book unchanged."""
        bid_levels, ask_levels = list(bids), list(asks)
        while True:
            unit = self._ticks.unit
            try:
                new_bids = _decimal_side(bid_levels, unit, 1)
                new_asks = _decimal_side(ask_levels, unit, -1)
            except _Finer as finer:
                self._rescale(finer.scale)  # exact; then key every level again at the finer tick
                continue
            break
        self._bids.load(new_bids)
        self._asks.load(new_asks)

    def apply_update(self, side: BookSide, price: Decimal, size: Decimal) -> None:
        """Set the absolute size at a price; size zero removes the level."""
        # The hot path of every Decimal caller: one exact fraction per price, no Decimal hash.
        if not size.is_finite() or size < ZERO:
            raise BookError(f"level size must be zero or positive, got {size} at {price}")
        try:
            numerator, denominator = price.as_integer_ratio()
        except (ValueError, OverflowError):  # NaN, infinity
            numerator = denominator = 0
        if numerator <= 0:
            raise BookError(f"price level must be a positive finite decimal, got {price}")
        unit = self._ticks.unit
        if unit % denominator:
            self._rescale(scale_of(denominator))
            unit = self._ticks.unit
        if side is BookSide.BID:
            ladder, key = self._bids, numerator * (unit // denominator)
        else:
            ladder, key = self._asks, -numerator * (unit // denominator)
        levels = ladder.levels  # `Ladder.set`/`remove` inlined: the sorted top is touched only when it must be
        if size:
            if key not in levels:
                ladder.opened(key)
            levels[key] = (price, size)
        elif levels.pop(key, None) is not None:
            ladder.closed(key)

    def apply_updates(self, updates: Iterable[tuple[BookSide, Decimal, Decimal]]) -> None:
        """Apply several `(side, price, size)` updates in order."""
        for side, price, size in updates:
            self.apply_update(side, price, size)

    # --- writing: level2 text -----------------------------------------------------------------------

    def apply_text_snapshot(self, levels: Sequence[TextLevel]) -> None:
        """Replace the whole book with a level2 snapshot's levels (both sides, any order).

        The texts are checked once for the whole snapshot; a bad level leaves the book unchanged. Levels
        of size zero are dropped; a later level at the same price replaces an earlier one.
        """
        sides = list(map(_SIDE, levels))
        bid_count = sides.count("bid")
        if bid_count + sides.count("offer") != len(sides):
            unknown = sorted(side[:20] for side in set(sides) - {"bid", "offer"})[:3]
            raise BookError(f"unknown book side in {unknown!r}")
        first = sides[0] if sides else "bid"
        split = bid_count if first == "bid" else len(sides) - bid_count
        if sides[:split].count(first) == split:
            # One side, then the other (as Coinbase sends it): two slices instead of a test per level.
            head, tail = levels[:split], levels[split:]
            bids, asks = (head, tail) if first == "bid" else (tail, head)
        else:
            bids = [level for level, side in zip(levels, sides, strict=True) if side == "bid"]
            asks = [level for level, side in zip(levels, sides, strict=True) if side == "offer"]
        plain, any_zero = plain_sizes(list(map(_SIZE, levels)))
        if not plain:
            raise BookError(f"level sizes must be plain decimal text, got {_first_bad(map(_SIZE, levels))!r}")
        try:
            bid_keys, ask_keys = self._snapshot_keys(bids, asks)
        except ValueError:  # a price that is not a plain decimal
            bad = _first_bad(map(_PRICE, levels))
            raise BookError(f"price levels must be plain decimal text, got {bad!r}") from None
        new_bids = _text_side(bid_keys, bids, any_zero=any_zero)
        new_asks = _text_side(ask_keys, asks, any_zero=any_zero)
        self._bids.load(new_bids)
        self._asks.load(new_asks)

    def _snapshot_keys(self, bids: Sequence[TextLevel], asks: Sequence[TextLevel]) -> tuple[list[int], list[int]]:
        ticks = self._ticks
        try:
            return ticks.from_texts(map(_PRICE, bids), negate=False), ticks.from_texts(map(_PRICE, asks), negate=True)
        except IndexError:
            # Finer prices than the book's tick: rescale (exact, the levels stay), then key them all again.
            self._rescale(max(places_of(map(_PRICE, bids)), places_of(map(_PRICE, asks))))
            return self._snapshot_keys(bids, asks)

    def apply_text_updates(self, levels: Sequence[TextLevel]) -> None:
        """Apply a level2 update's levels in order (absolute sizes; zero removes the level).

        Every level is checked before the first is applied: a bad one leaves the book unchanged.
        """
        bid_changes, ask_changes = self._text_changes(levels)
        self._bids.apply(bid_changes)  # the sides are independent: each side's changes keep their order
        self._asks.apply(ask_changes)

    def _text_changes(self, levels: Sequence[TextLevel]) -> tuple[list[_Change], list[_Change]]:
        """Each side's (key, level or None for a removal), every text checked on the way.

        An update holds a few levels, so each is checked by itself here, with C string methods:
        `isdecimal` takes only what `int` and `Decimal` read as digits (no space, sign or ``_``), and a
        size must also be ASCII (so a zero is always spelled with ``0``).
        """
        bid_factors, ask_factors = self._ticks.bid_factors, self._ticks.ask_factors
        bids: list[_Change] = []
        asks: list[_Change] = []
        try:
            for level in levels:
                whole, _, fraction = level.price_text.partition(".")
                digits = whole + fraction
                size = level.size_text.replace(".", "", 1)
                if not (digits.isdecimal() and size.isdecimal() and size.isascii()):
                    raise BookError(
                        f"level2 price and size must be plain decimal text, got {level.price_text[:40]!r} "
                        f"and {level.size_text[:40]!r}"
                    )
                ticks = int(digits)
                if not ticks:
                    raise BookError(f"price level must be a positive finite decimal, got {level.price_text[:40]!r}")
                side = level.side
                if side == "bid":
                    bids.append((ticks * bid_factors[len(fraction)], level if size.strip("0") else None))
                elif side == "offer":
                    asks.append((ticks * ask_factors[len(fraction)], level if size.strip("0") else None))
                else:
                    raise BookError(f"unknown book side {side[:40]!r}")
        except IndexError:
            self._rescale(places_of(list(map(_PRICE, levels))))
            return self._text_changes(levels)
        except BookError:
            raise  # a BookError is a ValueError too: the one below is int()'s only
        except ValueError:  # int() refuses more than 4300 digits: no price has them
            raise BookError("level2 price has too many digits") from None
        return bids, asks

    def clear(self) -> None:
        """Empty both sides (before a resynchronising snapshot)."""
        self._bids.clear()
        self._asks.clear()

    # --- reading ----------------------------------------------------------------------------------

    @property
    def best_bid(self) -> Level | None:
        """The highest bid, or None on an empty side."""
        key = self._bids.best()
        return None if key is None else _level(self._bids.levels[key])

    @property
    def best_ask(self) -> Level | None:
        """The lowest ask, or None on an empty side."""
        key = self._asks.best()
        return None if key is None else _level(self._asks.levels[key])

    def _top_prices(self) -> tuple[Decimal, Decimal] | None:
        # Prices only, no Level tuples: mid and spread are read after every update in a trading loop.
        bids, asks = self._bids.top, self._asks.top
        if not bids or not asks:
            return None
        return _price(self._bids.levels[bids[-1]]), _price(self._asks.levels[asks[-1]])

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
        bids, asks = self._bids.top, self._asks.top
        # Integer keys, asks negated: bid >= ask is bid_key + ask_key >= 0. No Decimal is built.
        return bool(bids) and bool(asks) and bids[-1] + asks[-1] >= 0

    @property
    def is_empty(self) -> bool:
        """Whether neither side has a level."""
        return not self._bids.levels and not self._asks.levels

    def level_count(self, side: BookSide) -> int:
        """How many price levels one side holds."""
        return len(self._ladder(side).levels)

    def size_at(self, side: BookSide, price: Decimal) -> Decimal:
        """The size resting at a price (zero when there is no level)."""
        try:
            numerator, denominator = price.as_integer_ratio()
        except (ValueError, OverflowError):
            return ZERO
        unit = self._ticks.unit
        if unit % denominator:
            return ZERO  # finer than every price in the book
        key = numerator * (unit // denominator)
        entry = self._ladder(side).levels.get(key if side is BookSide.BID else -key)
        return ZERO if entry is None else _level(entry).size

    def levels(self, side: BookSide) -> Iterator[Level]:
        """Every level of a side, best first."""
        ladder = self._ladder(side)
        levels = ladder.levels
        for key in ladder.walk():
            yield _level(levels[key])

    def depth(self, side: BookSide, levels: int) -> list[Level]:
        """The best `levels` levels of a side, best first."""
        if levels < 0:
            raise BookError(f"depth must not be negative, got {levels}")
        return list(islice(self.levels(side), levels))

    def cost_to_fill(self, side: Side, size: Decimal) -> FillEstimate:
        """Walk the opposite side for a market order of `size` base units.

        A buy takes asks from the lowest up, a sell takes bids from the highest down. When depth runs
        out, the estimate says how much would fill.
        """
        if size <= 0:
            raise BookError(f"size to fill must be positive, got {size}")
        from cryptoj.domain.walk import estimate_fill  # the one book walker; it imports this module

        return estimate_fill(self, side, size)


def _level(entry: Entry) -> Level:
    # `type(...) is tuple`, not isinstance: a NamedTuple could be a TextLevel too.
    if type(entry) is tuple:
        return Level(entry[0], entry[1])
    text = cast(TextLevel, entry)
    return Level(Decimal(text.price_text), Decimal(text.size_text))


def _price(entry: Entry) -> Decimal:
    if type(entry) is tuple:
        return entry[0]
    return Decimal(cast(TextLevel, entry).price_text)


def _first_bad(texts: Iterable[str]) -> str:
    # Only on the error path: the text to name in the message.
    return next((text for text in texts if not plain_texts([text])), "")


def _text_side(keys: list[int], levels: Sequence[TextLevel], *, any_zero: bool) -> dict[int, Entry]:
    if not any_zero:
        side: dict[int, Entry] = dict(zip(keys, levels, strict=True))  # built in C, no test per level
    else:
        side = {}
        for key, level in zip(keys, levels, strict=True):
            if level.size_text.strip("0."):
                side[key] = level
            else:
                side.pop(key, None)  # a later zero removes an earlier level, as in an update
    if 0 in side:  # one lookup, not a scan: a zero price has key 0
        raise BookError(f"price level must be a positive finite decimal, got {_level(side[0]).price}")
    return side


class _Finer(Exception):  # control flow only: never leaves this module
    """A price needs more decimals than the book's tick has."""

    def __init__(self, scale: int) -> None:
        self.scale = scale


def _decimal_side(levels: list[tuple[Decimal, Decimal]], unit: int, sign: int) -> dict[int, Entry]:
    """Check each level and key it at `unit`; `_Finer` when a price does not fit the tick."""
    side: dict[int, Entry] = {}
    for price, size in levels:
        try:
            numerator, denominator = price.as_integer_ratio()
        except (ValueError, OverflowError):  # NaN, infinity
            numerator = denominator = 0
        if numerator <= 0:
            raise BookError(f"price level must be a positive finite decimal, got {price}")
        if not size.is_finite() or size < ZERO:
            raise BookError(f"level size must be zero or positive, got {size} at {price}")
        if unit % denominator:
            raise _Finer(scale_of(denominator))
        key = sign * numerator * (unit // denominator)
        if size:
            side[key] = (price, size)
        else:
            side.pop(key, None)  # a later zero removes an earlier level, as in an update
    return side
