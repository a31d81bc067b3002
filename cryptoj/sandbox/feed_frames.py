"""Wire bodies of the sandbox feed's channels, built from the exchange's state and events.

Pure functions: exchange objects in, Coinbase-shaped dicts out (decimal strings, RFC3339 times with
nanoseconds, candle `start` as epoch-seconds text, level2 sides `bid`/`offer`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptoj.domain.book import BookSide, OrderBook
from cryptoj.sandbox.events import BookChanged, CandleUpdated, TickerUpdated, TradePrinted

__all__ = [
    "USER_SNAPSHOT_BATCH",
    "book_snapshot",
    "book_update",
    "candle",
    "go_time",
    "num",
    "rfc3339",
    "ticker",
    "trade",
    "user_id",
    "user_snapshot_batches",
]

USER_SNAPSHOT_BATCH = 50  # Coinbase sends open orders 50 per snapshot frame; a shorter frame ends it
_USER_NAMESPACE = uuid.UUID("0b5c7c1e-8a51-4d7c-9a43-6f0c1f1d7a2e")


def num(value: Decimal) -> str:
    """A decimal as Coinbase writes it: plain digits, never exponent notation."""
    return format(value, "f")


def rfc3339(moment: datetime) -> str:
    """RFC3339 UTC with nine fractional digits, as real frames carry."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond * 1000:09d}Z"


def go_time(moment: datetime, uptime: float) -> str:
    """Go's `time.String()` text with its monotonic suffix, as the heartbeats channel sends it."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond * 1000:09d} +0000 UTC m=+{uptime:.9f}"


def user_id(owner: str) -> str:
    """A stable user UUID for an API key, so acks never show the key's name."""
    return str(uuid.uuid5(_USER_NAMESPACE, owner))


def book_snapshot(book: OrderBook, at: str) -> dict[str, Any]:
    """A level2 snapshot event: the whole book, bids then offers, best first."""
    updates = [
        {"side": side.value, "event_time": at, "price_level": num(level.price), "new_quantity": num(level.size)}
        for side in (BookSide.BID, BookSide.ASK)
        for level in book.levels(side)
    ]
    return {"type": "snapshot", "product_id": book.product_id, "updates": updates}


def book_update(event: BookChanged) -> dict[str, Any]:
    """A level2 update event from the levels that changed (absolute sizes; zero removes)."""
    at = rfc3339(event.time)
    updates = [
        {"side": side.value, "event_time": at, "price_level": num(price), "new_quantity": num(size)}
        for side, price, size in event.changes
    ]
    return {"type": "update", "product_id": event.product_id, "updates": updates}


def trade(event: TradePrinted) -> dict[str, Any]:
    """A market trade body (side is the maker's)."""
    return {
        "trade_id": event.trade_id,
        "product_id": event.product_id,
        "price": num(event.price),
        "size": num(event.size),
        "side": event.maker_side.value,
        "time": rfc3339(event.time),
    }


def candle(event: CandleUpdated) -> dict[str, Any]:
    """A 5-minute candle body; `start` is epoch seconds as text."""
    return {
        "start": str(event.start),
        "high": num(event.high),
        "low": num(event.low),
        "open": num(event.open),
        "close": num(event.close),
        "volume": num(event.volume),
        "product_id": event.product_id,
    }


def ticker(event: TickerUpdated, *, best: bool = True) -> dict[str, Any]:
    """A ticker body; `ticker_batch` leaves out best bid and ask (`best=False`)."""
    body: dict[str, Any] = {
        "type": "ticker",
        "product_id": event.product_id,
        "price": num(event.price),
        "volume_24_h": num(event.volume_24_h),
        "low_24_h": num(event.low_24_h),
        "high_24_h": num(event.high_24_h),
        "low_52_w": num(event.low_52_w),
        "high_52_w": num(event.high_52_w),
        "price_percent_chg_24_h": num(event.price_percent_chg_24_h),
    }
    if best:
        body |= {
            "best_bid": num(event.best_bid),
            "best_bid_quantity": num(event.best_bid_quantity),
            "best_ask": num(event.best_ask),
            "best_ask_quantity": num(event.best_ask_quantity),
        }
    return body


def user_snapshot_batches(orders: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Open orders in batches of 50, always ending with a batch of fewer than 50 (possibly empty)."""
    return [orders[start : start + USER_SNAPSHOT_BATCH] for start in range(0, len(orders) + 1, USER_SNAPSHOT_BATCH)]
