"""The sandbox market: prices from real bars or a random walk, a synthetic book, trades and candles."""

from cryptoj.sandbox.market.bars import (
    PACKAGED_BARS,
    Bar,
    BarDataError,
    BarSource,
    RandomWalk,
    Replay,
    load_bars,
    packaged_bars,
)
from cryptoj.sandbox.market.market import CANDLE_SECONDS, ProductMarket
from cryptoj.sandbox.market.products import DEFAULT_PRODUCTS, ProductSpec

__all__ = [
    "CANDLE_SECONDS",
    "DEFAULT_PRODUCTS",
    "PACKAGED_BARS",
    "Bar",
    "BarDataError",
    "BarSource",
    "ProductMarket",
    "ProductSpec",
    "RandomWalk",
    "Replay",
    "load_bars",
    "packaged_bars",
]
