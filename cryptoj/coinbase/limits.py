"""Coinbase's venue limits in one typed table: page sizes, candles per call, request budgets."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COINBASE_LIMITS", "VenueLimits"]


@dataclass(frozen=True, slots=True)
class VenueLimits:
    """Limits the client pages and throttles by.

    Parameters:
        accounts_page_max: most accounts per `GET /accounts` page (documented max 250).
        orders_page_size: orders per `GET /orders/historical/batch` page (no documented default).
        fills_page_size: fills per `GET /orders/historical/fills` page (documented default 100).
        products_page_size: products per `GET /products` page.
        candles_per_request: buckets one candles call may span; Coinbase answers 400 past 350, never truncates.
        batch_cancel_max: order ids per `POST /orders/batch_cancel` (observed cap 100).
        public_requests_per_second: budget for unauthenticated `/market` and `/time` calls (10/s per IP).
        private_requests_per_second: budget for authenticated calls (30/s per user).
        burst: requests a bucket may send back to back before pacing starts.
        window_margin: seconds added to the one second a budget is counted over, client side: no span of a
            second and this margin holds more than a second's budget, so requests whose latencies differ by
            up to this margin never put more than the budget into one of the venue's one-second windows.
    """

    accounts_page_max: int = 250
    orders_page_size: int = 100
    fills_page_size: int = 100
    products_page_size: int = 250
    candles_per_request: int = 350
    batch_cancel_max: int = 100
    public_requests_per_second: float = 10.0
    private_requests_per_second: float = 30.0
    burst: int = 5
    window_margin: float = 0.05


COINBASE_LIMITS = VenueLimits()
"""The documented limits of api.coinbase.com (the client stays just under them)."""
