"""`CoinbaseAdvancedClient`: one async method per Advanced Trade REST endpoint, on one pooled connection.

Reference: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api (routes under
``/api/v3/brokerage``). Retries, rate limits and error mapping live in `cryptoj.coinbase._http`;
paging iterators in `cryptoj.coinbase.pagination`.

Unknown outcomes: `create_order` and `close_position` are retried on transient failures under the same
`client_order_id` (Coinbase then returns the existing order rather than a duplicate). If retries run out
after an attempt that may have reached Coinbase (timeout after send, broken connection, 5xx), or if a 2xx
answer cannot be read, the call raises `UnknownOutcomeError` carrying the `client_order_id`; the executor
resolves it by looking the order up, never by sending a new one. A connect failure (surely never sent)
stays a `TransportError`. A `success: false` answer is a definite `OrderRejectedError` only when no
earlier attempt may have reached Coinbase; after one that may have, any later failure (a rejection, a
4xx) is `UnknownOutcomeError` keeping that failure in `last_error`. Edits are never repeated and cancels
only while surely unsent, so no later answer can follow an ambiguous attempt of theirs: an ambiguous end
of either is `UnknownOutcomeError` too (with `order_ids`), never a retryable `TransportError` a Prefect
task would resend.

Clock: before its first signed request the client reads Coinbase's clock (`GET /time`, one public request)
and signs JWTs on it when ours is off by more than a few seconds; a 401 reads it again and signs once more
(`cryptoj.coinbase._clock`). Retries stop at `retry_deadline`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

import httpx

from cryptoj.coinbase import pagination
from cryptoj.coinbase._clock import SigningClock
from cryptoj.coinbase._http import Backoff, CdpAuth, NoCookies, RestSession
from cryptoj.coinbase._jitter import jitter as own_jitter
from cryptoj.coinbase._market import MarketDataEndpoints
from cryptoj.coinbase._outcome import RetryMode
from cryptoj.coinbase._ratelimit import TokenBucket
from cryptoj.coinbase._wire import path_id, query_list, rejection, rfc3339
from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.errors import EditRejectedError, InvalidArgumentError
from cryptoj.coinbase.limits import COINBASE_LIMITS, VenueLimits
from cryptoj.coinbase.models import (
    Account,
    BatchCancelRequest,
    BatchCancelResponse,
    ClosePositionRequest,
    CreateOrderRequest,
    CreateOrderResponse,
    EditOrderPreviewResponse,
    EditOrderRequest,
    EditOrderResponse,
    Fill,
    GetAccountResponse,
    GetOrderResponse,
    KeyPermissions,
    ListAccountsResponse,
    ListFillsResponse,
    ListOrdersResponse,
    ListPortfoliosResponse,
    Order,
    PortfolioBreakdownResponse,
    PreviewOrderRequest,
    PreviewOrderResponse,
    TransactionSummary,
)
from cryptoj.coinbase.tls import default_tls
from cryptoj.config import COINBASE_REST_URL
from cryptoj.errors import ConfigurationError

__all__ = ["USER_AGENT", "CoinbaseAdvancedClient"]

USER_AGENT = "cryptoj-trader/0.1"


class CoinbaseAdvancedClient(MarketDataEndpoints):
    """Async client for Coinbase Advanced Trade REST (or the local sandbox, which speaks the same).

    Parameters:
        base_url: scheme and host[:port]; the JWT `uri` signs its host[:port].
        key: a CDP key; without one only `/time` and the `/market` endpoints work.
        transport: an httpx transport (tests pass a MockTransport; None means real network).
        timeout: seconds per attempt.
        max_retries: retries after the first attempt of a request that is safe to repeat.
        retry_deadline: seconds from a call's start within which its retries run; none starts later, and a
            retry's timeout is cut to the time left (the first attempt always has the full `timeout`).
        limits: venue limits (page sizes, candles per call, request budgets).
        backoff: retry delay policy.
        verify: TLS verification: True, an SSLContext, or a CA file path (a local TLS sandbox's).
        clock, sleep, jitter, wall_clock: monotonic time, waiting, a [0, 1) draw and epoch time (JWTs are
            signed on `wall_clock`, corrected by Coinbase's); tests inject fakes so nothing really waits.
    """

    def __init__(
        self,
        *,
        base_url: str = COINBASE_REST_URL,
        key: CdpKey | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        max_retries: int = 4,
        retry_deadline: float = 30.0,
        limits: VenueLimits = COINBASE_LIMITS,
        backoff: Backoff | None = None,
        verify: ssl.SSLContext | str | bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = own_jitter,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL:
            url = httpx.URL()  # unreadable (a control character, a bad port): refused below like any other
        port = 443 if url.port is None else url.port
        if url.scheme not in ("http", "https") or not url.host or not 0 < port < 65536:
            raise ConfigurationError(f"base_url must be http(s)://host[:port], not {base_url!r}")
        if not retry_deadline > 0:
            raise ConfigurationError(f"retry_deadline must be a positive number of seconds, not {retry_deadline!r}")
        self.limits = limits
        if isinstance(verify, str):
            verify = ssl.create_default_context(cafile=verify)  # a CA file, e.g. a local TLS sandbox's
        elif verify is True:
            verify = default_tls()
        http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            verify=verify,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            cookies=NoCookies(),
        )
        authority = url.host if url.port is None else f"{url.host}:{url.port}"
        self._session = RestSession(
            client=http,
            auth=CdpAuth(key, host=authority, clock=SigningClock(wall_clock)) if key is not None else None,
            public_bucket=TokenBucket(
                rate=limits.public_requests_per_second,
                burst=limits.burst,
                clock=clock,
                sleep=sleep,
                margin=limits.window_margin,
            ),
            private_bucket=TokenBucket(
                rate=limits.private_requests_per_second,
                burst=limits.burst,
                clock=clock,
                sleep=sleep,
                margin=limits.window_margin,
            ),
            timeout=timeout,
            max_retries=max_retries,
            retry_deadline=retry_deadline,
            backoff=backoff or Backoff(),
            clock=clock,
            sleep=sleep,
            jitter=jitter,
            wall_clock=wall_clock,
        )

    def __repr__(self) -> str:
        return f"CoinbaseAdvancedClient(base_url={str(self._session.client.base_url)!r})"

    @property
    def clock_offset(self) -> float | None:
        """Coinbase's clock minus ours in seconds, read from `GET /time` before the first signed request.

        JWTs are signed with Coinbase's time when the two disagree by more than a few seconds (a warning
        says so); None until a signed request was made, or when Coinbase's clock could not be read.
        """
        return self._session.clock_offset

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._session.client.aclose()

    # Accounts ------------------------------------------------------------------------------------

    async def list_accounts(self, *, limit: int | None = None, cursor: str | None = None) -> ListAccountsResponse:
        """`GET /accounts`: one page (see `iter_accounts` for all).

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/accounts/list-accounts
        """
        params = {"limit": limit, "cursor": cursor}
        return await self._session.call("GET", "/accounts", ListAccountsResponse, params=params)

    def iter_accounts(self) -> AsyncIterator[Account]:
        """Every account, following `cursor` while `has_next`."""
        return pagination.accounts(self)

    async def get_account(self, account_uuid: str) -> Account:
        """`GET /accounts/{account_uuid}`."""
        response = await self._session.call("GET", f"/accounts/{path_id(account_uuid)}", GetAccountResponse)
        return response.account

    async def get_key_permissions(self) -> KeyPermissions:
        """`GET /key_permissions`: what this key may do (view, trade, transfer)."""
        return await self._session.call("GET", "/key_permissions", KeyPermissions)

    # Orders --------------------------------------------------------------------------------------

    async def create_order(self, request: CreateOrderRequest) -> CreateOrderResponse:
        """`POST /orders`. Raises `OrderRejectedError` for `success: false`, `UnknownOutcomeError` if unanswered.

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/create-order
        """
        return await self._place("/orders", request.to_wire(), request.client_order_id)

    async def close_position(self, request: ClosePositionRequest) -> CreateOrderResponse:
        """`POST /orders/close_position`: same answers and guarantees as `create_order`."""
        return await self._place("/orders/close_position", request.to_wire(), request.client_order_id)

    async def preview_order(self, request: PreviewOrderRequest) -> PreviewOrderResponse:
        """`POST /orders/preview`: cost and `errs` without placing anything."""
        return await self._session.call("POST", "/orders/preview", PreviewOrderResponse, body=request.to_wire())

    async def edit_order(self, request: EditOrderRequest) -> EditOrderResponse:
        """`POST /orders/edit` (never retried). Raises `EditRejectedError` for `success: false`."""
        answer = await self._session.exchange(
            "POST", "/orders/edit", EditOrderResponse, body=request.to_wire(), retry=RetryMode.NEVER,
            order_ids=(request.order_id,),
        )  # fmt: skip
        response = answer.value
        if not response.success:
            first = response.errors[0] if response.errors else None
            reason = first.edit_failure_reason if first else None
            raise answer.settle(
                EditRejectedError(
                    f"edit of order {request.order_id} rejected: {reason or 'no reason given'}",
                    order_id=request.order_id,
                    edit_failure_reason=reason,
                    preview_failure_reason=first.preview_failure_reason if first else None,
                    code=reason,
                    status=200,
                    trace_id=answer.trace_id,
                )
            )
        return response

    async def preview_edit_order(self, request: EditOrderRequest) -> EditOrderPreviewResponse:
        """`POST /orders/edit_preview`."""
        return await self._session.call(
            "POST", "/orders/edit_preview", EditOrderPreviewResponse, body=request.to_wire()
        )

    async def cancel_orders(self, order_ids: Sequence[str]) -> BatchCancelResponse:
        """`POST /orders/batch_cancel`: HTTP 200 even when some ids fail; read each result's `success`.

        Retried only while no attempt may have reached Coinbase; otherwise `UnknownOutcomeError` (with
        `order_ids`): a repeated cancel would report orders it already cancelled as failures.

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/cancel-order
        """
        if len(order_ids) > self.limits.batch_cancel_max:
            raise InvalidArgumentError(f"at most {self.limits.batch_cancel_max} order ids per batch cancel")
        ids = tuple(order_ids)
        body = BatchCancelRequest(order_ids=list(ids)).to_wire()
        return await self._session.call(
            "POST", "/orders/batch_cancel", BatchCancelResponse, body=body, retry=RetryMode.UNSENT, order_ids=ids
        )

    async def get_order(self, order_id: str) -> Order:
        """`GET /orders/historical/{order_id}`.

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/get-order
        """
        response = await self._session.call("GET", f"/orders/historical/{path_id(order_id)}", GetOrderResponse)
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
        """`GET /orders/historical/batch`: one page. Coinbase refuses OPEN combined with other statuses.

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/list-orders
        """
        if order_status and "OPEN" in order_status and len(set(order_status)) > 1:
            raise InvalidArgumentError("Coinbase refuses OPEN combined with other statuses: list them separately")
        params = {
            "product_ids": query_list(product_ids), "order_status": query_list(order_status),
            "order_ids": query_list(order_ids),
            "start_date": rfc3339(start_date), "end_date": rfc3339(end_date), "order_side": order_side,
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
        """`GET /orders/historical/fills`: one page (no `has_next`: an empty cursor ends it).

        https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/list-fills
        """
        params = {
            "order_ids": query_list(order_ids), "product_ids": query_list(product_ids),
            "start_sequence_timestamp": rfc3339(start_sequence_timestamp),
            "end_sequence_timestamp": rfc3339(end_sequence_timestamp), "limit": limit, "cursor": cursor,
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
        path = f"/portfolios/{path_id(portfolio_uuid)}"
        return await self._session.call("GET", path, PortfolioBreakdownResponse, params={"currency": currency})

    async def get_transaction_summary(
        self, *, product_type: str | None = None, product_venue: str | None = None
    ) -> TransactionSummary:
        """`GET /transaction_summary`: fee tier, volume and fees paid."""
        params = {"product_type": product_type, "product_venue": product_venue}
        return await self._session.call("GET", "/transaction_summary", TransactionSummary, params=params)

    # Private steps -------------------------------------------------------------------------------

    async def _place(self, path: str, body: dict[str, object], client_order_id: str) -> CreateOrderResponse:
        answer = await self._session.exchange(
            "POST", path, CreateOrderResponse, body=body, retry=RetryMode.ORDER, client_order_id=client_order_id
        )
        if not answer.value.success:
            # Definite only if no earlier attempt may have placed the order: else UnknownOutcomeError.
            raise answer.settle(rejection(answer.value, client_order_id, trace_id=answer.trace_id))
        return answer.value
