"""Async iterators over Coinbase's paged endpoints: accounts and orders (cursor + has_next), fills
(cursor only), products (offset), and candles over any range in windows of at most 350 buckets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from cryptoj.coinbase._wire import aware
from cryptoj.coinbase.errors import InvalidArgumentError, UnexpectedResponseError
from cryptoj.coinbase.models import (
    Account,
    Candle,
    Fill,
    Granularity,
    ListAccountsResponse,
    ListFillsResponse,
    ListOrdersResponse,
    Order,
    Product,
)

if TYPE_CHECKING:
    from cryptoj.coinbase._market import MarketDataEndpoints
    from cryptoj.coinbase.client import CoinbaseAdvancedClient

__all__ = ["accounts", "candles", "fills", "orders", "products"]


P = TypeVar("P")


async def _follow(
    fetch: Callable[[str | None], Awaitable[P]], more: Callable[[P], tuple[bool, str | None]], what: str
) -> AsyncIterator[P]:
    """Pages from `fetch(cursor)` while `more(page)` says (go on, next cursor); a cursor served twice fails."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = await fetch(cursor)
        yield page
        go_on, cursor = more(page)
        if not go_on:
            return
        # A cursor served twice would loop forever: fail loudly instead.
        if not cursor:
            raise UnexpectedResponseError(f"{what}: has_next is true but no cursor was given")
        if cursor in seen:
            raise UnexpectedResponseError(f"{what}: the cursor {cursor!r} came back twice")
        seen.add(cursor)


async def accounts(client: CoinbaseAdvancedClient) -> AsyncIterator[Account]:
    """Every account, page by page."""

    async def fetch(cursor: str | None) -> ListAccountsResponse:
        return await client.list_accounts(limit=client.limits.accounts_page_max, cursor=cursor)

    async for page in _follow(fetch, lambda page: (page.has_next, page.cursor), "list accounts"):
        for account in page.accounts:
            yield account


async def orders(
    client: CoinbaseAdvancedClient,
    *,
    product_ids: Sequence[str] | None,
    order_status: Sequence[str] | None,
    start_date: datetime | None,
    end_date: datetime | None,
) -> AsyncIterator[Order]:
    """Every matching order, page by page."""

    async def fetch(cursor: str | None) -> ListOrdersResponse:
        return await client.list_orders(
            product_ids=product_ids, order_status=order_status, start_date=start_date, end_date=end_date,
            limit=client.limits.orders_page_size, cursor=cursor,
        )  # fmt: skip

    async for page in _follow(fetch, lambda page: (page.has_next, page.cursor), "list orders"):
        for order in page.orders:
            yield order


async def fills(
    client: CoinbaseAdvancedClient,
    *,
    order_ids: Sequence[str] | None,
    product_ids: Sequence[str] | None,
    start_sequence_timestamp: datetime | None,
) -> AsyncIterator[Fill]:
    """Every matching fill; list fills has no has_next, so an empty cursor (or empty page) ends it."""

    async def fetch(cursor: str | None) -> ListFillsResponse:
        return await client.list_fills(
            order_ids=order_ids, product_ids=product_ids, start_sequence_timestamp=start_sequence_timestamp,
            limit=client.limits.fills_page_size, cursor=cursor,
        )  # fmt: skip

    async for page in _follow(fetch, lambda page: (bool(page.cursor and page.fills), page.cursor), "list fills"):
        for fill in page.fills:
            yield fill


async def products(client: MarketDataEndpoints, *, product_type: str | None, public: bool) -> AsyncIterator[Product]:
    """Every product once, by offset; a short page is the last.

    A full page with nothing new also ends it: a venue that ignores `offset` would otherwise be paged
    forever, and a listing added mid-way (shifting later pages) must not yield a product twice.
    """
    size = client.limits.products_page_size
    offset = 0
    seen: set[str] = set()
    while True:
        if public:
            page = await client.list_public_products(limit=size, offset=offset, product_type=product_type)
        else:
            page = await client.list_products(limit=size, offset=offset, product_type=product_type)
        fresh = [product for product in page.products if product.product_id not in seen]
        for product in fresh:
            seen.add(product.product_id)
            yield product
        if len(page.products) < size or not fresh:
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
    if aware(end) < aware(start):
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
