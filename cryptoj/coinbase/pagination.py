"""Async iterators over Coinbase's paged endpoints: accounts and orders (cursor + has_next), fills
(cursor only), products (offset), and candles over any range in windows of at most 350 buckets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cryptoj.coinbase.errors import InvalidArgumentError, UnexpectedResponseError
from cryptoj.coinbase.models import Account, Candle, Fill, Granularity, Order, Product

if TYPE_CHECKING:
    from cryptoj.coinbase._market import MarketDataEndpoints
    from cryptoj.coinbase.client import CoinbaseAdvancedClient

__all__ = ["accounts", "candles", "fills", "orders", "products"]


def _next_cursor(cursor: str | None, seen: set[str], what: str) -> str:
    # A cursor served twice would loop forever: fail loudly instead.
    if not cursor:
        raise UnexpectedResponseError(f"{what}: has_next is true but no cursor was given")
    if cursor in seen:
        raise UnexpectedResponseError(f"{what}: the cursor {cursor!r} came back twice")
    seen.add(cursor)
    return cursor


async def accounts(client: CoinbaseAdvancedClient) -> AsyncIterator[Account]:
    """Every account, page by page."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = await client.list_accounts(limit=client.limits.accounts_page_max, cursor=cursor)
        for account in page.accounts:
            yield account
        if not page.has_next:
            return
        cursor = _next_cursor(page.cursor, seen, "list accounts")


async def orders(
    client: CoinbaseAdvancedClient,
    *,
    product_ids: Sequence[str] | None,
    order_status: Sequence[str] | None,
    start_date: datetime | None,
    end_date: datetime | None,
) -> AsyncIterator[Order]:
    """Every matching order, page by page."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = await client.list_orders(
            product_ids=product_ids,
            order_status=order_status,
            start_date=start_date,
            end_date=end_date,
            limit=client.limits.orders_page_size,
            cursor=cursor,
        )
        for order in page.orders:
            yield order
        if not page.has_next:
            return
        cursor = _next_cursor(page.cursor, seen, "list orders")


async def fills(
    client: CoinbaseAdvancedClient,
    *,
    order_ids: Sequence[str] | None,
    product_ids: Sequence[str] | None,
    start_sequence_timestamp: datetime | None,
) -> AsyncIterator[Fill]:
    """Every matching fill; list fills has no has_next, so an empty cursor (or empty page) ends it."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = await client.list_fills(
            order_ids=order_ids,
            product_ids=product_ids,
            start_sequence_timestamp=start_sequence_timestamp,
            limit=client.limits.fills_page_size,
            cursor=cursor,
        )
        for fill in page.fills:
            yield fill
        if not page.cursor or not page.fills:
            return
        cursor = _next_cursor(page.cursor, seen, "list fills")


async def products(client: MarketDataEndpoints, *, product_type: str | None, public: bool) -> AsyncIterator[Product]:
    """Every product, by offset; a short page is the last."""
    size = client.limits.products_page_size
    offset = 0
    while True:
        if public:
            page = await client.list_public_products(limit=size, offset=offset, product_type=product_type)
        else:
            page = await client.list_products(limit=size, offset=offset, product_type=product_type)
        for product in page.products:
            yield product
        if len(page.products) < size:
            return
        offset += len(page.products)


async def candles(
    client: MarketDataEndpoints,
    product_id: str,
    *,
    start: datetime,
    end: datetime,
    granularity: Granularity,
    public: bool,
) -> AsyncIterator[Candle]:
    """Candles from `start` to `end`, oldest first, each bucket once.

    Windows span at most `candles_per_request - 1` buckets (Coinbase answers 400 rather than truncate) and
    share their edge bucket, so whether the venue treats `end` as inclusive or not, nothing is missed.
    """
    if end < start:
        raise InvalidArgumentError("candles: end is before start")
    span = timedelta(seconds=granularity.seconds * (client.limits.candles_per_request - 1))
    fetch = client.get_public_candles if public else client.get_candles
    last_start: int | None = None
    window_start = start
    while True:
        window_end = min(window_start + span, end)
        page = await fetch(product_id, start=window_start, end=window_end, granularity=granularity)
        for candle in sorted(page.candles, key=lambda candle: candle.start):
            if last_start is None or candle.start > last_start:
                last_start = candle.start
                yield candle
        if window_end >= end:
            return
        window_start = window_end
