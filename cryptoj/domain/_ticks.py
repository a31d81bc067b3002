"""Exact integer keys for book prices, and checks of level2 decimal text done once per batch.

Why integers: a deep book keyed by `Decimal` pays for hashing every fresh price (about 1 µs each, more
than parsing the JSON around it) and for slow comparisons; an `int` hashes and compares in nanoseconds.
A key is the price as a whole number of `10^-scale` units. The conversion is exact or refused: a price
finer than the scale makes the book rescale (every key times a power of ten), never round. Prices come
as `Decimal` (the domain's own callers) or as the level2 channel's plain decimal text (``"65083.67"``),
which is converted without building a `Decimal`.

The text checks look at all texts of a batch together (a snapshot holds 46,000 levels): C-level string
operations over the joined texts instead of a parse per text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import NoReturn

__all__ = ["Ticks", "places_of", "plain_sizes", "plain_texts", "scale_of"]

# Below this many texts one regex pass is cheapest; above it, a few byte-wise passes (the regex costs
# about 0.2x of `json.loads` on a 46,000-level snapshot, the byte passes a third of that).
_BULK = 64
_PLAIN = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:\n(?:[0-9]+\.?[0-9]*|\.[0-9]+))*")
_DIGITS = b"0123456789"
_PLAIN_CHARS = b"0123456789.\n"


def plain_texts(texts: Sequence[str]) -> bool:
    """Whether every text is a plain decimal number: ASCII digits with at most one point (`"0.5"`, `"65083"`).

    No sign, exponent, space, ``_``, `NaN`, empty text or lone point. One regex pass over the joined texts:
    for a few texts (`plain_sizes` takes byte-wise passes for many).
    """
    return not texts or _PLAIN.fullmatch("\n".join(texts)) is not None


def plain_sizes(texts: Sequence[str]) -> tuple[bool, bool]:
    """`plain_texts`, and whether any of the texts is zero (``"0"``, ``"0.00"``)."""
    if len(texts) < _BULK:
        plain = plain_texts(texts)
        return plain, plain and any(not text.strip("0.") for text in texts)
    return _plain_bulk(texts)


def _plain_bulk(texts: Sequence[str]) -> tuple[bool, bool]:
    joined = "\n".join(texts)
    if not joined.isascii():
        return False, False
    raw = joined.encode()
    if raw.translate(None, _PLAIN_CHARS) or raw.count(b"\n") != len(texts) - 1:
        return False, False  # another character (or a text holding a newline)
    if b".." in raw.translate(None, _DIGITS):
        return False, False  # with the digits gone, two points meet only inside one text
    nonzero = raw.translate(None, b"0.")  # what is left of a zero, an empty text or a lone point: nothing
    if nonzero and b"\n\n" not in nonzero and nonzero[:1] != b"\n" and nonzero[-1:] != b"\n":
        return True, False
    # Some text is all zeros and points, or empty: rare (a snapshot has no zero level), so one by one.
    plain = all(text and text != "." and text.replace(".", "", 1).isdecimal() for text in texts)
    return plain, plain


def places_of(prices: Iterable[str]) -> int:
    """The most decimals any of these texts has."""
    return max((len(fraction) for _, _, fraction in map(str.partition, prices, repeat("."))), default=0)


def scale_of(denominator: int) -> int:
    """The fewest decimal places that hold `1/denominator` exactly (a product of 2s and 5s, as a Decimal's is)."""
    twos = (denominator & -denominator).bit_length() - 1
    fives = 0
    rest = denominator >> twos
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    return max(twos, fives)


class Ticks:
    """Prices as integers of `10^-scale`: bids keep their sign, asks are negated, so the best key is the largest.

    Parameters:
        scale: decimal places of one tick.
    """

    __slots__ = ("ask_factors", "bid_factors", "scale", "unit")

    def __init__(self, scale: int) -> None:
        self.scale = scale
        self.unit: int = 10**scale
        # Indexed by how many decimals a text has: the factor that brings it to `scale` places.
        self.bid_factors: list[int] = [10 ** (scale - places) for places in range(scale + 1)]
        self.ask_factors = [-factor for factor in self.bid_factors]

    def from_texts(self, prices: Iterable[str], *, negate: bool) -> list[int]:
        """Keys of plain decimal texts.

        IndexError when a price is finer than the scale; ValueError when a text is not a plain decimal
        (`isdecimal` also refuses the spaces, signs and ``_`` that `int` would take).
        """
        factors = self.ask_factors if negate else self.bid_factors
        parts = map(str.partition, prices, repeat("."))
        # The check rides in the comprehension's condition: `_refuse` raises, so no level is ever skipped.
        return [
            int(digits) * factors[len(fraction)]
            for whole, _, fraction in parts
            if (digits := whole + fraction).isdecimal() or _refuse(whole, fraction)
        ]


def _refuse(whole: str, fraction: str) -> NoReturn:
    raise ValueError(f"not a plain decimal: {(whole + '.' + fraction)[:40]!r}")
