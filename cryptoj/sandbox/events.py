"""What the sandbox exchange announces, and the hub that fans it out to WebSocket connections.

The exchange core (engine and market) publishes these events; the WebSocket feed subscribes and turns
them into Coinbase's channel messages. Neither side knows the other beyond this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from cryptoj.domain.book import BookSide, OrderBook
from cryptoj.domain.side import Side

__all__ = [
    "BookChanged",
    "CandleUpdated",
    "EventHub",
    "FeedSource",
    "OrderUpdated",
    "SandboxEvent",
    "TickerUpdated",
    "TradePrinted",
]


@dataclass(frozen=True, slots=True)
class BookChanged:
    """Levels of a product's book changed: each change is the new absolute size (zero removes)."""

    product_id: str
    changes: tuple[tuple[BookSide, Decimal, Decimal], ...]
    time: datetime


@dataclass(frozen=True, slots=True)
class TradePrinted:
    """A trade happened on a product (the market's or a user's fill). `maker_side` as Coinbase reports it."""

    product_id: str
    trade_id: str
    price: Decimal
    size: Decimal
    maker_side: Side
    time: datetime


@dataclass(frozen=True, slots=True)
class CandleUpdated:
    """The open 5-minute candle of a product changed (what the `candles` channel sends)."""

    product_id: str
    start: int  # epoch seconds of the bucket's open
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    time: datetime


@dataclass(frozen=True, slots=True)
class TickerUpdated:
    """Last price and 24-hour statistics of a product changed."""

    product_id: str
    price: Decimal
    volume_24_h: Decimal
    low_24_h: Decimal
    high_24_h: Decimal
    low_52_w: Decimal
    high_52_w: Decimal
    price_percent_chg_24_h: Decimal
    best_bid: Decimal
    best_bid_quantity: Decimal
    best_ask: Decimal
    best_ask_quantity: Decimal
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """A user's order changed. `owner` is the API key name it belongs to; `order` is the user-channel body."""

    owner: str
    order: dict[str, Any]
    time: datetime


SandboxEvent = BookChanged | TradePrinted | CandleUpdated | TickerUpdated | OrderUpdated


class EventHub:
    """Fan-out of sandbox events to any number of subscribers, each with its own bounded queue.

    A subscriber that falls behind by more than `max_queue` events is disconnected (its queue receives
    `None`), so one slow connection never slows the exchange.
    """

    def __init__(self, *, max_queue: int = 10_000) -> None:
        self._max_queue = max_queue
        self._queues: set[asyncio.Queue[SandboxEvent | None]] = set()

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are listening."""
        return len(self._queues)

    def publish(self, event: SandboxEvent) -> None:
        """Deliver an event to every subscriber without waiting."""
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                queue.get_nowait()  # make room for the end marker
                queue.put_nowait(None)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[SandboxEvent | None]]:
        """A queue of every event published while the context is open; `None` means "you fell behind"."""
        queue: asyncio.Queue[SandboxEvent | None] = asyncio.Queue(maxsize=self._max_queue)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


class FeedSource(Protocol):
    """What the WebSocket feed needs from the sandbox exchange (the exchange core implements it)."""

    @property
    def hub(self) -> EventHub:
        """Where the exchange publishes its events."""
        ...

    def now(self) -> datetime:
        """The exchange's (simulated) clock."""
        ...

    def product_ids(self) -> list[str]:
        """Products the market serves."""
        ...

    def book(self, product_id: str) -> OrderBook:
        """The current book of a product (the feed copies it into a snapshot); KeyError if unknown."""
        ...

    def status_products(self) -> list[dict[str, Any]]:
        """Bodies of the `status` channel's products, in Coinbase's shape."""
        ...

    def ticker(self, product_id: str) -> TickerUpdated:
        """The latest ticker of a product."""
        ...

    def recent_trades(self, product_id: str, limit: int = 100) -> list[TradePrinted]:
        """The latest trades of a product, newest first."""
        ...

    def recent_candles(self, product_id: str, limit: int = 100) -> list[CandleUpdated]:
        """The latest 5-minute candles of a product, oldest first, empty buckets absent."""
        ...

    def open_orders(self, owner: str) -> list[dict[str, Any]]:
        """A key's open orders as user-channel bodies (the user channel's snapshot)."""
        ...

    def authenticate_ws(self, token: str) -> str:
        """Verify a WebSocket JWT; return the key name it belongs to, raise ValueError when it fails."""
        ...

    def ws_fault(self, kind: str) -> bool:
        """Whether the fault injector fires now for a WebSocket fault kind (`drop`, `sequence_gap`)."""
        ...
