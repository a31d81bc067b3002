"""Where the market's prices come from: replayed 1-minute bars, or a seeded random walk.

Both answer `bar(minute)` for any epoch minute, past or future, so REST candles, the WebSocket candles
and the live price all read the same series. Prices are whole ticks (ints) inside, Decimal outside.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from cryptoj.errors import ConfigurationError

__all__ = [
    "PACKAGED_BARS",
    "Bar",
    "BarDataError",
    "BarSource",
    "RandomWalk",
    "Replay",
    "load_bars",
    "packaged_bars",
]

# Products whose default market replays real Coinbase bars (see cryptoj/sandbox/data/README.md).
PACKAGED_BARS = {"BTC-USD": "btc_usd_1m.csv.gz", "ETH-USD": "eth_usd_1m.csv.gz"}
_COLUMNS = ("start", "open", "high", "low", "close", "volume")


class BarDataError(ConfigurationError):
    """A candle file cannot be used: unreadable, missing columns, or a value that is not a decimal."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One minute of a product: open, high, low, close in ticks of the price increment; volume in base units."""

    open: int
    high: int
    low: int
    close: int
    volume: Decimal

    def price_at(self, second: float) -> int:
        """The price path inside the minute: open, then the nearer extreme, the other one, then close."""
        first, second_extreme = (self.low, self.high) if self.close >= self.open else (self.high, self.low)
        points = ((0.0, self.open), (20.0, first), (40.0, second_extreme), (60.0, self.close))
        for (t0, p0), (t1, p1) in itertools.pairwise(points):
            if second <= t1:
                return p0 + round((p1 - p0) * (second - t0) / (t1 - t0))
        return self.close


class BarSource(Protocol):
    """Any series of 1-minute bars addressable by epoch minute."""

    def bar(self, minute: int) -> Bar:
        """The bar of the minute starting at `minute * 60` epoch seconds."""
        ...


class Replay:
    """Real bars played in a loop: the first bar plays at `anchor_minute`, then the next, and so on.

    Parameters:
        bars: the recorded bars (at least one), in ticks.
        anchor_minute: the epoch minute at which the first recorded bar plays.
    """

    def __init__(self, bars: Sequence[Bar], *, anchor_minute: int) -> None:
        if not bars:
            raise BarDataError("a replay needs at least one bar")
        self._bars = bars
        self._anchor = anchor_minute

    def bar(self, minute: int) -> Bar:
        """The recorded bar that plays at `minute` (looped both ways)."""
        return self._bars[(minute - self._anchor) % len(self._bars)]


class RandomWalk:
    """A mean-reverting random walk in whole ticks, the same for the same seed, in blocks of a day.

    Parameters:
        seed: the sandbox seed; with the product id it fixes every bar.
        product_id: names the walk (two products never share one).
        start_ticks: the price at `anchor_minute`, in ticks.
        anchor_minute: where block 0 starts.
    """

    _BLOCK = 1440

    def __init__(self, *, seed: int, product_id: str, start_ticks: int, anchor_minute: int) -> None:
        if start_ticks < 100:
            raise BarDataError("a random walk needs a start price of at least 100 ticks")
        self._seed = seed
        self._product = product_id
        self._start = start_ticks
        self._anchor = anchor_minute
        self._sigma = max(1, start_ticks // 2500)  # about 0.04% per minute
        self._blocks: dict[int, list[Bar]] = {}

    def bar(self, minute: int) -> Bar:
        """The walk's bar at `minute`."""
        block, index = divmod(minute - self._anchor, self._BLOCK)
        return self._block(block)[index]

    def _block(self, block: int) -> list[Bar]:
        cached = self._blocks.get(block)
        if cached is not None:
            return cached
        if block == 0:
            bars = self._generate(block, self._start, forward=True)
        elif block > 0:
            bars = self._generate(block, self._block(block - 1)[-1].close, forward=True)
        else:
            bars = self._generate(block, self._block(block + 1)[0].open, forward=False)
        self._blocks[block] = bars
        return bars

    def _generate(self, block: int, edge: int, *, forward: bool) -> list[Bar]:
        rng = random.Random(f"{self._seed}:{self._product}:{block}")  # noqa: S311 - a simulation
        sigma = self._sigma
        bars: list[Bar] = []
        price = edge
        width, bits = 2 * sigma + 1, rng.getrandbits
        for _ in range(self._BLOCK):
            # Integer steps only: a sum of uniforms is near-normal, and the pull back to the start keeps it
            # bounded. getrandbits is several times faster than randint (a year of daily candles walks 500k bars).
            step = bits(32) % width + bits(32) % width + bits(32) % width - 3 * sigma + (self._start - price) // 500
            other = max(100, price + step)
            open_, close = (price, other) if forward else (other, price)
            high = max(open_, close) + bits(32) % (sigma + 1)
            low = max(1, min(open_, close) - bits(32) % (sigma + 1))
            volume = Decimal(10_000 + bits(33) % 4_999_990_000).scaleb(-8)
            bars.append(Bar(open=open_, high=high, low=low, close=close, volume=volume))
            price = other
        if not forward:
            bars.reverse()
        return bars


def load_bars(source: Path | str, *, tick: Decimal) -> tuple[list[Bar], int]:
    """Read a CSV (optionally gzip) or Parquet file of 1-minute OHLCV; return the bars and the first start minute.

    Columns: `start` (epoch seconds), `open`, `high`, `low`, `close`, `volume`. Prices must be whole
    multiples of `tick`.
    """
    path = Path(source)
    try:
        if path.suffix == ".parquet":
            rows = _parquet_rows(path)
        else:
            raw = path.read_bytes()
            text = gzip.decompress(raw).decode("utf-8") if path.suffix == ".gz" else raw.decode("utf-8")
            rows = list(csv.DictReader(io.StringIO(text)))
    except (OSError, ValueError, EOFError) as exc:
        raise BarDataError(f"cannot read candle file {path.name}: {exc}") from None
    return _parse_rows(rows, tick=tick, name=path.name)


def _parquet_rows(path: Path) -> list[dict[str, str]]:
    import pandas as pd

    # Decimal strings stored as text stay exact; float columns were inexact before they reached us.
    frame = pd.read_parquet(path)
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise BarDataError(f"candle file {path.name} lacks columns {missing}")
    return [{c: str(row[c]) for c in _COLUMNS} for row in frame[list(_COLUMNS)].to_dict("records")]


def _parse_rows(rows: list[dict[str, str]], *, tick: Decimal, name: str) -> tuple[list[Bar], int]:
    if not rows:
        raise BarDataError(f"candle file {name} holds no bars")
    missing = [c for c in _COLUMNS if c not in rows[0]]
    if missing:
        raise BarDataError(f"candle file {name} lacks columns {missing}")
    bars: list[Bar] = []
    for number, row in enumerate(rows, start=2):
        try:
            prices = [Decimal(row[c]) / tick for c in ("open", "high", "low", "close")]
            volume = Decimal(row["volume"])
        except (InvalidOperation, TypeError):
            raise BarDataError(f"candle file {name} line {number}: a value is not a decimal") from None
        if any(not p.is_finite() or p != p.to_integral_value() or p <= 0 for p in prices):
            raise BarDataError(f"candle file {name} line {number}: prices must be positive multiples of {tick}")
        if not volume.is_finite() or volume < 0:
            raise BarDataError(f"candle file {name} line {number}: volume must be a non-negative decimal")
        o, h, lo, c = (int(p) for p in prices)
        bars.append(Bar(open=o, high=max(h, o, c), low=min(lo, o, c), close=c, volume=volume))
    try:
        first = int(Decimal(rows[0]["start"])) // 60
    except (InvalidOperation, OverflowError, ValueError):  # not a number, or Infinity / NaN
        raise BarDataError(f"candle file {name}: start is not epoch seconds") from None
    return bars, first


@cache
def packaged_bars(product_id: str, tick: Decimal) -> tuple[Bar, ...]:
    """The packaged real bars of a product (read once per process)."""
    resource = resources.files("cryptoj.sandbox.data").joinpath(PACKAGED_BARS[product_id])
    with resources.as_file(resource) as path:
        bars, _ = load_bars(path, tick=tick)
    return tuple(bars)
