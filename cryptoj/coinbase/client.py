"""`CoinbaseAdvancedClient`: one async method per Advanced Trade REST endpoint, on one pooled connection.

Reference: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api (routes under
``/api/v3/brokerage``). Retries, rate limits and error mapping live in `cryptoj.coinbase._http`;
paging iterators in `cryptoj.coinbase.pagination`.

Unknown outcomes: `create_order` and `close_position` are retried on transient failures under the same
`client_order_id` (Coinbase then returns the existing order rather than a duplicate). If retries run out
after an attempt that may have reached Coinbase (timeout after send, broken connection, 5xx), the call
raises `UnknownOutcomeError` carrying the `client_order_id`; the executor resolves it by looking the order
up, never by sending a new one.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

import httpx

from cryptoj.coinbase import pagination
from cryptoj.coinbase._http import Backoff, CdpAuth, RestSession, RetryMode
from cryptoj.coinbase._ratelimit import TokenBucket
from cryptoj.coinbase._wire import _flag, _id, _list, _rfc3339, _trades, rejection
from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.errors import EditRejectedError
from cryptoj.coinbase.limits import COINBASE_LIMITS, VenueLimits
from cryptoj.coinbase.models import (
    Account,
    BatchCancelRequest,
    BatchCancelResponse,
    BestBidAskResponse,
    Candle,
    CandlesResponse,
    ClosePositionRequest,
    CreateOrderRequest,
    CreateOrderResponse,
    EditOrderPreviewResponse,
    EditOrderRequest,
    EditOrderResponse,
    Fill,
    GetAccountResponse,
    GetOrderResponse,
    Granularity,
    KeyPermissions,
    ListAccountsResponse,
    ListFillsResponse,
    ListOrdersResponse,
    ListPortfoliosResponse,
    ListProductsResponse,
    MarketTradesResponse,
    Order,
    PortfolioBreakdownResponse,
    PreviewOrderRequest,
    PreviewOrderResponse,
    Product,
    ProductBookResponse,
    ServerTime,
    TransactionSummary,
)
from cryptoj.config import COINBASE_REST_URL, Settings

__all__ = ["USER_AGENT", "CoinbaseAdvancedClient"]

USER_AGENT = "cryptoj-trader/0.1"


class CoinbaseAdvancedClient:
    """Async client for Coinbase Advanced Trade REST (or the local sandbox, which speaks the same).

    Parameters:
        base_url: scheme and host[:port]; the JWT `uri` signs its host[:port].
        key: a CDP key; without one only `/time` and the `/market` endpoints work.
        transport: an httpx transport (tests pass a MockTransport; None means real network).
        timeout: seconds per attempt.
        max_retries: retries after the first attempt of a request that is safe to repeat.
        limits: venue limits (page sizes, candles per call, request budgets).
        backoff: retry delay policy.
        verify: TLS verification: True, an SSLContext, or a CA file path (a local TLS sandbox's).
        clock, sleep, jitter, wall_clock: monotonic time, waiting, a [0, 1) draw and epoch time; tests
            inject fakes so nothing really waits.
    """

    def __init__(
        self,
        *,
        base_url: str = COINBASE_REST_URL,
        key: CdpKey | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        max_retries: int = 4,
        limits: VenueLimits = COINBASE_LIMITS,
        backoff: Backoff | None = None,
        verify: ssl.SSLContext | str | bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be http(s)://host[:port], not {base_url!r}")
        self.limits = limits
        if isinstance(verify, str):
            verify = ssl.create_default_context(cafile=verify)  # a CA file, e.g. a local TLS sandbox's
        http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            verify=verify,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        authority = url.host if url.port is None else f"{url.host}:{url.port}"
        self._session = RestSession(
            client=http,
            auth=CdpAuth(key, host=authority) if key is not None else None,
            public_bucket=TokenBucket(
                rate=limits.public_requests_per_second, burst=limits.burst, clock=clock, sleep=sleep
            ),
            private_bucket=TokenBucket(
                rate=limits.private_requests_per_second, burst=limits.burst, clock=clock, sleep=sleep
            ),
            max_retries=max_retries,
            backoff=backoff or Backoff(),
            sleep=sleep,
            jitter=jitter,
            wall_clock=wall_clock,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> Self:
        """Build the client the settings describe (key, URL, budgets, timeout, retries)."""
        key: CdpKey | None = None
        if settings.api_key_file is not None:
            key = CdpKey.from_file(settings.api_key_file)
        elif settings.api_key_name is not None and settings.api_private_key is not None:
            key = CdpKey.from_secrets(settings.api_key_name, settings.api_private_key)
        limits = VenueLimits(
            public_requests_per_second=settings.public_requests_per_second,
            private_requests_per_second=settings.private_requests_per_second,
        )
        return cls(
            base_url=settings.rest_url or COINBASE_REST_URL,
            key=key,
            transport=transport,
            timeout=settings.request_timeout_seconds,
            max_retries=settings.max_retries,
            limits=limits,
        )

    def __repr__(self) -> str:
        return f"CoinbaseAdvancedClient(base_url={str(self._session.client.base_url)!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._session.client.aclose()

    # Public, no key needed -----------------------------------------------------------------------

    async def get_server_time(self) -> ServerTime:
        """`GET /time`: Coinbase's clock (compare with ours before blaming a 401 on keys)."""
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
            "limit": limit, "offset": offset, "product_type": product_type, "product_ids": _list(product_ids),
            "get_all_products": _flag(get_all_products),
        }  # fmt: skip
        return await self._session.call("GET", "/market/products", ListProductsResponse, params=params, public=True)

    async def get_public_product(self, product_id: str) -> Product:
        """`GET /market/products/{product_id}`."""
        return await self._session.call("GET", f"/market/products/{_id(product_id)}", Product, public=True)

    async def get_public_product_book(
        self, product_id: str, *, limit: int | None = None, aggregation_price_increment: str | None = None
    ) -> ProductBookResponse:
        """`GET /market/product_book`."""
        params = {"product_id": product_id, "limit": limit, "aggregation_price_increment": aggregation_price_increment}
        return await self._session.call("GET", "/market/product_book", ProductBookResponse, params=params, public=True)

    async def get_public_candles(
        self, product_id: str, *, start: datetime, end: datetime, granularity: Granularity, limit: int | None = None
    ) -> CandlesResponse:
        """`GET /market/products/{product_id}/candles` (newest first, at most 350 buckets)."""
        return await self._candles(
            f"/market/products/{_id(product_id)}/candles", start, end, granularity, limit=limit, public=True
        )

    async def get_public_market_trades(
        self, product_id: str, *, limit: int, start: datetime | None = None, end: datetime | None = None
    ) -> MarketTradesResponse:
        """`GET /market/products/{product_id}/ticker`."""
        path = f"/market/products/{_id(product_id)}/ticker"
        return await self._session.call(
            "GET", path, MarketTradesResponse, params=_trades(limit, start, end), public=True
        )

    # Accounts ------------------------------------------------------------------------------------

    async def list_accounts(self, *, limit: int | None = None, cursor: str | None = None) -> ListAccountsResponse:
        """`GET /accounts`: one page (see `iter_accounts` for all)."""
        params = {"limit": limit, "cursor": cursor}
        return await self._session.call("GET", "/accounts", ListAccountsResponse, params=params)

    def iter_accounts(self) -> AsyncIterator[Account]:
        """Every account, following `cursor` while `has_next`."""
        return pagination.accounts(self)

    async def get_account(self, account_uuid: str) -> Account:
        """`GET /accounts/{account_uuid}`."""
        response = await self._session.call("GET", f"/accounts/{_id(account_uuid)}", GetAccountResponse)
        return response.account

    async def get_key_permissions(self) -> KeyPermissions:
        """`GET /key_permissions`: what this key may do (view, trade, transfer)."""
        return await self._session.call("GET", "/key_permissions", KeyPermissions)

    # Products (authenticated) --------------------------------------------------------------------

    async def list_products(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        product_type: str | None = None,
        product_ids: Sequence[str] | None = None,
    ) -> ListProductsResponse:
        """`GET /products`."""
        params = {"limit": limit, "offset": offset, "product_type": product_type, "product_ids": _list(product_ids)}
        return await self._session.call("GET", "/products", ListProductsResponse, params=params)

    def iter_products(self, *, product_type: str | None = None, public: bool = False) -> AsyncIterator[Product]:
        """Every product, page by page (offset paging)."""
        return pagination.products(self, product_type=product_type, public=public)

    async def get_product(self, product_id: str) -> Product:
        """`GET /products/{product_id}`."""
        return await self._session.call("GET", f"/products/{_id(product_id)}", Product)

    async def get_product_book(
        self, product_id: str, *, limit: int | None = None, aggregation_price_increment: str | None = None
    ) -> ProductBookResponse:
        """`GET /product_book`."""
        params = {"product_id": product_id, "limit": limit, "aggregation_price_increment": aggregation_price_increment}
        return await self._session.call("GET", "/product_book", ProductBookResponse, params=params)

    async def get_best_bid_ask(self, product_ids: Sequence[str] | None = None) -> BestBidAskResponse:
        """`GET /best_bid_ask`; no ids means every product."""
        params = {"product_ids": _list(product_ids)}
        return await self._session.call("GET", "/best_bid_ask", BestBidAskResponse, params=params)

    async def get_candles(
        self, product_id: str, *, start: datetime, end: datetime, granularity: Granularity, limit: int | None = None
    ) -> CandlesResponse:
        """`GET /products/{product_id}/candles` (newest first, at most 350 buckets)."""
        return await self._candles(
            f"/products/{_id(product_id)}/candles", start, end, granularity, limit=limit, public=False
        )

    def iter_candles(
        self, product_id: str, *, start: datetime, end: datetime, granularity: Granularity, public: bool = False
    ) -> AsyncIterator[Candle]:
        """Candles over any range, oldest first, fetched in windows of at most `limits.candles_per_request`."""
        return pagination.candles(self, product_id, start=start, end=end, granularity=granularity, public=public)

    async def get_market_trades(
        self, product_id: str, *, limit: int, start: datetime | None = None, end: datetime | None = None
    ) -> MarketTradesResponse:
        """`GET /products/{product_id}/ticker`: recent public trades and the top of book."""
        path = f"/products/{_id(product_id)}/ticker"
        return await self._session.call("GET", path, MarketTradesResponse, params=_trades(limit, start, end))

    # Orders --------------------------------------------------------------------------------------

    async def create_order(self, request: CreateOrderRequest) -> CreateOrderResponse:
        """`POST /orders`. Raises `OrderRejectedError` for `success: false`, `UnknownOutcomeError` if unanswered."""
        return await self._place("/orders", request.to_wire(), request.client_order_id)

    async def close_position(self, request: ClosePositionRequest) -> CreateOrderResponse:
        """`POST /orders/close_position`: same answers and guarantees as `create_order`."""
        return await self._place("/orders/close_position", request.to_wire(), request.client_order_id)

    async def preview_order(self, request: PreviewOrderRequest) -> PreviewOrderResponse:
        """`POST /orders/preview`: cost and `errs` without placing anything."""
        return await self._session.call("POST", "/orders/preview", PreviewOrderResponse, body=request.to_wire())

    async def edit_order(self, request: EditOrderRequest) -> EditOrderResponse:
        """`POST /orders/edit` (never retried). Raises `EditRejectedError` for `success: false`."""
        response = await self._session.call(
            "POST", "/orders/edit", EditOrderResponse, body=request.to_wire(), retry=RetryMode.NEVER
        )
        if not response.success:
            first = response.errors[0] if response.errors else None
            reason = first.edit_failure_reason if first else None
            raise EditRejectedError(
                f"edit of order {request.order_id} rejected: {reason or 'no reason given'}",
                order_id=request.order_id,
                edit_failure_reason=reason,
                preview_failure_reason=first.preview_failure_reason if first else None,
                code=reason,
            )
        return response

    async def preview_edit_order(self, request: EditOrderRequest) -> EditOrderPreviewResponse:
        """`POST /orders/edit_preview`."""
        return await self._session.call(
            "POST", "/orders/edit_preview", EditOrderPreviewResponse, body=request.to_wire()
        )

    async def cancel_orders(self, order_ids: Sequence[str]) -> BatchCancelResponse:
        """`POST /orders/batch_cancel`: HTTP 200 even when some ids fail; read each result's `success`."""
        if len(order_ids) > self.limits.batch_cancel_max:
            raise ValueError(f"at most {self.limits.batch_cancel_max} order ids per batch cancel")
        body = BatchCancelRequest(order_ids=list(order_ids)).to_wire()
        return await self._session.call("POST", "/orders/batch_cancel", BatchCancelResponse, body=body)

    async def get_order(self, order_id: str) -> Order:
        """`GET /orders/historical/{order_id}`."""
        response = await self._session.call("GET", f"/orders/historical/{_id(order_id)}", GetOrderResponse)
        return response.order

    async def list_orders(
        self,
        *,
        product_ids: Sequence[str] | None = None,
        order_status: Sequence[str] | None = None,
        order_ids: Sequence[str] | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        order_side: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> ListOrdersResponse:
        """`GET /orders/historical/batch`: one page. Coinbase refuses OPEN combined with other statuses."""
        params = {
            "product_ids": _list(product_ids), "order_status": _list(order_status), "order_ids": _list(order_ids),
            "start_date": _rfc3339(start_date), "end_date": _rfc3339(end_date), "order_side": order_side,
            "limit": limit, "cursor": cursor,
        }  # fmt: skip
        return await self._session.call("GET", "/orders/historical/batch", ListOrdersResponse, params=params)

    def iter_orders(
        self,
        *,
        product_ids: Sequence[str] | None = None,
        order_status: Sequence[str] | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
    ) -> AsyncIterator[Order]:
        """Every matching order, following `cursor` while `has_next`."""
        return pagination.orders(
            self, product_ids=product_ids, order_status=order_status, start_date=start_date, end_date=end_date
        )

    async def list_fills(
        self,
        *,
        order_ids: Sequence[str] | None = None,
        product_ids: Sequence[str] | None = None,
        start_sequence_timestamp: datetime | None = None,
        end_sequence_timestamp: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> ListFillsResponse:
        """`GET /orders/historical/fills`: one page (no `has_next`: an empty cursor ends it)."""
        params = {
            "order_ids": _list(order_ids), "product_ids": _list(product_ids),
            "start_sequence_timestamp": _rfc3339(start_sequence_timestamp),
            "end_sequence_timestamp": _rfc3339(end_sequence_timestamp), "limit": limit, "cursor": cursor,
        }  # fmt: skip
        return await self._session.call("GET", "/orders/historical/fills", ListFillsResponse, params=params)

    def iter_fills(
        self,
        *,
        order_ids: Sequence[str] | None = None,
        product_ids: Sequence[str] | None = None,
        start_sequence_timestamp: datetime | None = None,
    ) -> AsyncIterator[Fill]:
        """Every matching fill, following the cursor until it comes back empty."""
        return pagination.fills(
            self, order_ids=order_ids, product_ids=product_ids, start_sequence_timestamp=start_sequence_timestamp
        )

    # Portfolios and fees -------------------------------------------------------------------------

    async def list_portfolios(self, *, portfolio_type: str | None = None) -> ListPortfoliosResponse:
        """`GET /portfolios`."""
        params = {"portfolio_type": portfolio_type}
        return await self._session.call("GET", "/portfolios", ListPortfoliosResponse, params=params)

    async def get_portfolio_breakdown(
        self, portfolio_uuid: str, *, currency: str | None = None
    ) -> PortfolioBreakdownResponse:
        """`GET /portfolios/{portfolio_uuid}`: balances and positions."""
        path = f"/portfolios/{_id(portfolio_uuid)}"
        return await self._session.call("GET", path, PortfolioBreakdownResponse, params={"currency": currency})

    async def get_transaction_summary(
        self, *, product_type: str | None = None, product_venue: str | None = None
    ) -> TransactionSummary:
        """`GET /transaction_summary`: fee tier, volume and fees paid."""
        params = {"product_type": product_type, "product_venue": product_venue}
        return await self._session.call("GET", "/transaction_summary", TransactionSummary, params=params)

    # Private steps -------------------------------------------------------------------------------

    async def _place(self, path: str, body: dict[str, object], client_order_id: str) -> CreateOrderResponse:
        response, raw = await self._session.exchange(
            "POST", path, CreateOrderResponse, body=body, retry=RetryMode.ORDER, client_order_id=client_order_id
        )
        if not response.success:
            raise rejection(response, client_order_id, trace_id=raw.headers.get("trace-id"))
        return response

    async def _candles(
        self, path: str, start: datetime, end: datetime, granularity: Granularity, *, limit: int | None, public: bool
    ) -> CandlesResponse:
        params = {
            "start": str(int(start.timestamp())), "end": str(int(end.timestamp())),
            "granularity": granularity.value, "limit": limit,
        }  # fmt: skip
        return await self._session.call("GET", path, CandlesResponse, params=params, public=public)
