"""Sandbox speed: REST round trips over loopback and one market step.

Each REST benchmark sends a batch of requests through one keep-alive httpx client to an in-process sandbox
(uvicorn on 127.0.0.1, its market stepping in the background as when served), so a round is client and
server together on the same 2 cores: the figure is what a test or a user's bot can expect, not the
server alone. Private requests carry a fresh ES256 JWT each, as the official SDK sends them.
"""

from __future__ import annotations

import httpx
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cryptoj.domain.book import BookSide
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.ratelimit import RateLimiter
from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.performance

PREFIX = "/api/v3/brokerage"
BATCH = 50


def _unlimited(sandbox: SandboxHandle) -> None:
    # Coinbase's budgets (30/s private, 10/s public) would measure the limiter, not the server.
    sandbox.exchange.limiter = RateLimiter(private_per_second=10**9, public_per_second=10**9)


def _per_second(benchmark: BenchmarkFixture, requests: int) -> None:
    stats = benchmark.stats
    if stats is not None:  # absent under --benchmark-disable
        benchmark.extra_info["requests_per_second"] = round(requests / stats.stats.median)


def test_public_get_time_round_trips(benchmark: BenchmarkFixture, sandbox: SandboxHandle) -> None:
    _unlimited(sandbox)
    with httpx.Client(base_url=sandbox.base_url) as client:

        def batch() -> None:
            for _ in range(BATCH):
                client.get(PREFIX + "/time").raise_for_status()

        benchmark.pedantic(batch, rounds=5, warmup_rounds=1)
    _per_second(benchmark, BATCH)


def test_signed_get_accounts_round_trips(benchmark: BenchmarkFixture, sandbox: SandboxHandle) -> None:
    _unlimited(sandbox)
    with httpx.Client(base_url=sandbox.base_url) as client:

        def batch() -> None:
            for _ in range(BATCH):
                headers = sandbox.auth_headers("GET", PREFIX + "/accounts")
                client.get(PREFIX + "/accounts", headers=headers).raise_for_status()

        benchmark.pedantic(batch, rounds=5, warmup_rounds=1)
    _per_second(benchmark, BATCH)


def test_place_then_cancel_a_resting_order(benchmark: BenchmarkFixture, sandbox: SandboxHandle) -> None:
    _unlimited(sandbox)
    count = iter(range(10**9))
    with httpx.Client(base_url=sandbox.base_url) as client:

        def post(path: str, body: object) -> httpx.Response:
            response = client.post(PREFIX + path, json=body, headers=sandbox.auth_headers("POST", PREFIX + path))
            response.raise_for_status()
            return response

        def batch() -> None:
            for _ in range(BATCH // 2):
                order = {
                    "client_order_id": f"bench-{next(count)}",
                    "product_id": "BTC-USD",
                    "side": "BUY",
                    "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": "100.00"}},
                }
                order_id = post("/orders", order).json()["order_id"]
                assert post("/orders/batch_cancel", {"order_ids": [order_id]}).json()["results"][0]["success"]

        benchmark.pedantic(batch, rounds=5, warmup_rounds=1)
    _per_second(benchmark, BATCH)


def test_one_market_step_of_three_products(benchmark: BenchmarkFixture) -> None:
    """One simulated second on BTC-USD, ETH-USD (real bars) and SOL-USD (random walk), 5,000 levels a side."""
    exchange = SandboxExchange(seed=1, clock=SimClock(speed=0))
    start = exchange.now()

    benchmark.pedantic(lambda: exchange.advance(1.0), rounds=30, warmup_rounds=2)
    assert exchange.now() > start
    assert len(exchange.book("BTC-USD").depth(BookSide.ASK, 10_000)) >= 1_000
