"""Wire bodies of the sandbox feed's channels, built from the exchange's state and events.

Pure functions: exchange objects in, Coinbase-shaped dicts out (decimal strings, RFC3339 times, candle
`start` as epoch-seconds text, level2 sides `bid`/`offer`), written in a `FrameStyle`: the real feed's
(fact 23: Go's RFC3339Nano times with trailing zeros dropped, decimals without trailing zeros, a numeric
`heartbeat_counter`) or the documented forms' (nine fraction digits, decimals as computed, a string counter).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptoj.domain.book import BookSide, OrderBook
from cryptoj.sandbox.events import BookChanged, CandleUpdated, TickerUpdated, TradePrinted
from cryptoj.sandbox.forms import go_time_nano, go_time_string

__all__ = [
    "DOCUMENTED_STYLE",
    "REAL_STYLE",
    "USER_SNAPSHOT_BATCH",
    "FrameStyle",
    "book_snapshot",
    "book_update",
    "candle",
    "go_time",
    "num",
    "plain",
    "rfc3339",
    "ticker",
    "trade",
    "user_id",
    "user_snapshot_batches",
]

USER_SNAPSHOT_BATCH = 50  # Coinbase sends open orders 50 per snapshot frame; a shorter frame ends it
_USER_NAMESPACE = uuid.UUID("0b5c7c1e-8a51-4d7c-9a43-6f0c1f1d7a2e")


def num(value: Decimal) -> str:
    """A decimal as the documented forms write it: plain digits, never exponent notation."""
    return format(value, "f")


def plain(value: Decimal) -> str:
    """A decimal as the real feed writes it: plain digits, no trailing zeros (`"0.002186"`, `"65083.67"`)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def rfc3339(moment: datetime, *, nanos: int = 0) -> str:
    """RFC3339 UTC with nine fractional digits (the documented forms' frame times)."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond * 1000 + nanos:09d}Z"


def go_time(moment: datetime, uptime: float) -> str:
    """Go's `time.String()` text with nine fraction digits and its monotonic suffix (the documented forms)."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond * 1000:09d} +0000 UTC m=+{uptime:.9f}"


@dataclass(frozen=True, slots=True)
class FrameStyle:
    """How values are written in frames: as the real feed writes them, or in the documented forms."""

    real: bool

    def num(self, value: Decimal) -> str:
        """A price or size: no trailing zeros in the real feed (`"0.002186"`)."""
        return plain(value) if self.real else num(value)

    def time(self, moment: datetime, *, nanos: int = 0) -> str:
        """An event time: trailing zeros dropped in the real feed (6 to 9 digits with nanoseconds, fact 23)."""
        return go_time_nano(moment, nanos=nanos) if self.real else rfc3339(moment, nanos=nanos)

    def current_time(self, moment: datetime, *, uptime: float, nanos: int = 0) -> str:
        """A heartbeat's `current_time` (Go's `time.String()`)."""
        return go_time_string(moment, uptime=uptime, nanos=nanos) if self.real else go_time(moment, uptime)

    def counter(self, value: int) -> int | str:
        """A heartbeat's `heartbeat_counter`: a JSON number in the real feed, a string in the docs."""
        return value if self.real else str(value)


REAL_STYLE = FrameStyle(real=True)
DOCUMENTED_STYLE = FrameStyle(real=False)


def user_id(owner: str) -> str:
    """A stable user UUID for an API key, so acks never show the key's name."""
    return str(uuid.uuid5(_USER_NAMESPACE, owner))


def book_snapshot(book: OrderBook, at: datetime, *, style: FrameStyle) -> dict[str, Any]:
    """A level2 snapshot event: the whole book, bids then offers, best first."""
    when = style.time(at)
    updates = [
        {
            "side": side.value,
            "event_time": when,
            "price_level": style.num(level.price),
            "new_quantity": style.num(level.size),
        }
        for side in (BookSide.BID, BookSide.ASK)
        for level in book.levels(side)
    ]
    return {"type": "snapshot", "product_id": book.product_id, "updates": updates}


def book_update(event: BookChanged, *, style: FrameStyle) -> dict[str, Any]:
    """A level2 update event from the levels that changed (absolute sizes; zero removes)."""
    at = style.time(event.time)
    updates = [
        {"side": side.value, "event_time": at, "price_level": style.num(price), "new_quantity": style.num(size)}
        for side, price, size in event.changes
    ]
    return {"type": "update", "product_id": event.product_id, "updates": updates}


def trade(event: TradePrinted, *, style: FrameStyle) -> dict[str, Any]:
    """A market trade body (side is the maker's)."""
    return {
        "trade_id": event.trade_id,
        "product_id": event.product_id,
        "price": style.num(event.price),
        "size": style.num(event.size),
        "side": event.maker_side.value,
        "time": style.time(event.time),
    }


def candle(event: CandleUpdated, *, style: FrameStyle) -> dict[str, Any]:
    """A 5-minute candle body; `start` is epoch seconds as text."""
    return {
        "start": str(event.start),
        "high": style.num(event.high),
        "low": style.num(event.low),
        "open": style.num(event.open),
        "close": style.num(event.close),
        "volume": style.num(event.volume),
        "product_id": event.product_id,
    }


def ticker(event: TickerUpdated, *, style: FrameStyle, best: bool = True) -> dict[str, Any]:
    """A ticker body; `ticker_batch` leaves out best bid and ask (`best=False`)."""
    body: dict[str, Any] = {
        "type": "ticker",
        "product_id": event.product_id,
        "price": style.num(event.price),
        "volume_24_h": style.num(event.volume_24_h),
        "low_24_h": style.num(event.low_24_h),
        "high_24_h": style.num(event.high_24_h),
        "low_52_w": style.num(event.low_52_w),
        "high_52_w": style.num(event.high_52_w),
        "price_percent_chg_24_h": style.num(event.price_percent_chg_24_h),
    }
    if best:
        body |= {
            "best_bid": style.num(event.best_bid),
            "best_bid_quantity": style.num(event.best_bid_quantity),
            "best_ask": style.num(event.best_ask),
            "best_ask_quantity": style.num(event.best_ask_quantity),
        }
    return body


def user_snapshot_batches(orders: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Open orders in batches of 50, always ending with a batch of fewer than 50 (possibly empty)."""
    return [orders[start : start + USER_SNAPSHOT_BATCH] for start in range(0, len(orders) + 1, USER_SNAPSHOT_BATCH)]
