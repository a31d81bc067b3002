"""Candles as pandas frames: the form the services hand to analysis and reports (never to the domain)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from cryptoj.domain.strategy import Candle

__all__ = ["CANDLE_COLUMNS", "candle_frame"]

CANDLE_COLUMNS = ("open", "high", "low", "close", "volume")


def candle_frame(candles: Sequence[Candle], *, start: datetime, end: datetime, seconds: int) -> pd.DataFrame:
    """One row per `seconds`-wide interval of [start, end), UTC-indexed; values are Decimal, gaps None.

    `start` is floored to the interval grid (candles open on it). A candle outside the range is dropped.
    """
    first = pd.Timestamp(start).tz_convert("UTC").floor(f"{seconds}s")
    stop = pd.Timestamp(end).tz_convert("UTC")
    index = pd.date_range(first, stop, freq=f"{seconds}s", inclusive="left", name="start")
    rows = {pd.Timestamp(c.start).tz_convert("UTC"): (c.open, c.high, c.low, c.close, c.volume) for c in candles}
    empty = (None,) * len(CANDLE_COLUMNS)
    return pd.DataFrame([rows.get(at, empty) for at in index], index=index, columns=list(CANDLE_COLUMNS), dtype=object)
