"""Market-data endpoints of the client: server time, the public /market routes and the authenticated products.

Reference: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api (products and public).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from cryptoj.coinbase import pagination
from cryptoj.coinbase._http import RestSession
from cryptoj.coinbase._wire import enum_arg, flag, path_id, query_list, trades_query, unix_seconds
from cryptoj.coinbase.limits import VenueLimits
from cryptoj.coinbase.models import (
    BestBidAskResponse,
    Candle,
    CandlesResponse,
    Granularity,
    ListProductsResponse,
    MarketTradesResponse,
    Product,
    ProductBookResponse,
    ServerTime,
)

__all__ = ["MarketDataEndpoints"]


class MarketDataEndpoints:
    """Read-only market endpoints; mixed into `CoinbaseAdvancedClient`, which provides the session and limits."""

    _session: RestSession
    limits: VenueLimits

    # Public, no key needed -----------------------------------------------------------------------

    async def get_server_time(self) -> ServerTime:
        """`GET /time`: Coinbase's clock (compare with ours before blaming a 401 on keys).

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/get-server-time
        """
        return await self._session.call("GET", "/time", ServerTime, public=True)

    async def list_public_products(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        product_type: str | None = None,
        product_ids: Sequence[str] | None = None,
        get_all_products: bool | None = None,
    ) -> ListProductsResponse:
        """`GET /market/products` (CDN-cached about a second)."""
        params = {
            "limit": limit, "offset": offset, "product_type": product_type, "product_ids": query_list(product_ids),
            "get_all_products": flag(get_all_products),
        }  # fmt: skip
        return await self._session.call("GET", "/market/products", ListProductsResponse, params=params, public=True)

    async def get_public_product(self, product_id: str) -> Product:
        """`GET /market/products/{product_id}`.

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/get-public-product
        """
        return await self._session.call("GET", f"/market/products/{path_id(product_id)}", Product, public=True)

    async def get_public_product_book(
        self, product_id: str, *, limit: int | None = None, aggregation_price_increment: str | None = None
    ) -> ProductBookResponse:
        """`GET /market/product_book`."""
        params = {"product_id": product_id, "limit": limit, "aggregation_price_increment": aggregation_price_increment}
        return await self._session.call("GET", "/market/product_book", ProductBookResponse, params=params, public=True)

    async def get_public_candles(
        self,
        product_id: str,
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity | str,
        limit: int | None = None,
    ) -> CandlesResponse:
        """`GET /market/products/{product_id}/candles` (newest first, at most 350 buckets)."""
        return await self._candles(
            f"/market/products/{path_id(product_id)}/candles", start, end, granularity, limit=limit, public=True
        )

    async def get_public_market_trades(
        self, product_id: str, *, limit: int, start: datetime | None = None, end: datetime | None = None
    ) -> MarketTradesResponse:
        """`GET /market/products/{product_id}/ticker`."""
        path = f"/market/products/{path_id(product_id)}/ticker"
        return await self._session.call(
            "GET", path, MarketTradesResponse, params=trades_query(limit, start, end), public=True
        )

    # Products (authenticated) --------------------------------------------------------------------

    async def list_products(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        product_type: str | None = None,
        product_ids: Sequence[str] | None = None,
    ) -> ListProductsResponse:
        """`GET /products`.

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/products/list-products
        """
        params = {
            "limit": limit,
            "offset": offset,
            "product_type": product_type,
            "product_ids": query_list(product_ids),
        }
        return await self._session.call("GET", "/products", ListProductsResponse, params=params)

    def iter_products(self, *, product_type: str | None = None, public: bool = False) -> AsyncIterator[Product]:
        """Every product, page by page (offset paging)."""
        return pagination.products(self, product_type=product_type, public=public)

    async def get_product(self, product_id: str) -> Product:
        """`GET /products/{product_id}`."""
        return await self._session.call("GET", f"/products/{path_id(product_id)}", Product)

    async def get_product_book(
        self, product_id: str, *, limit: int | None = None, aggregation_price_increment: str | None = None
    ) -> ProductBookResponse:
        """`GET /product_book`.

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/products/get-product-book
        """
        params = {"product_id": product_id, "limit": limit, "aggregation_price_increment": aggregation_price_increment}
        return await self._session.call("GET", "/product_book", ProductBookResponse, params=params)

    async def get_best_bid_ask(self, product_ids: Sequence[str] | None = None) -> BestBidAskResponse:
        """`GET /best_bid_ask`; no ids means every product.

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/products/get-best-bid-ask
        """
        params = {"product_ids": query_list(product_ids)}
        return await self._session.call("GET", "/best_bid_ask", BestBidAskResponse, params=params)

    async def get_candles(
        self,
        product_id: str,
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity | str,
        limit: int | None = None,
    ) -> CandlesResponse:
        """`GET /products/{product_id}/candles` (newest first, at most 350 buckets).

        `granularity` is a `Granularity` or its name (`"ONE_MINUTE"`, as the official SDK and the docs write it).

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/products/get-product-candles
        """
        return await self._candles(
            f"/products/{path_id(product_id)}/candles", start, end, granularity, limit=limit, public=False
        )

    def iter_candles(
        self,
        product_id: str,
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity | str,
        public: bool = False,
    ) -> AsyncIterator[Candle]:
        """Candles over any range, oldest first, fetched in windows of at most `limits.candles_per_request`."""
        width = enum_arg(Granularity, granularity, name="granularity")  # refused here, not at the first page
        return pagination.candles(self, product_id, start=start, end=end, granularity=width, public=public)

    async def get_market_trades(
        self, product_id: str, *, limit: int, start: datetime | None = None, end: datetime | None = None
    ) -> MarketTradesResponse:
        """`GET /products/{product_id}/ticker`: recent public trades and the top of book.

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/products/get-market-trades
        """
        path = f"/products/{path_id(product_id)}/ticker"
        return await self._session.call("GET", path, MarketTradesResponse, params=trades_query(limit, start, end))

    async def _candles(
        self,
        path: str,
        start: datetime,
        end: datetime,
        granularity: Granularity | str,
        *,
        limit: int | None,
        public: bool,
    ) -> CandlesResponse:
        params = {
            "start": unix_seconds(start), "end": unix_seconds(end),
            "granularity": enum_arg(Granularity, granularity, name="granularity").value, "limit": limit,
        }  # fmt: skip
        return await self._session.call("GET", path, CandlesResponse, params=params, public=public)
