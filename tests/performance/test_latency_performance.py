"""API latency (issue 19): the client's own cost per request, and the round trip to the sandbox on loopback,
each beside a bare httpx request to the same endpoint.

Both sides send a signed `GET /accounts` (a fresh ES256 JWT each) through one kept-alive `httpx.AsyncClient`;
ours goes through `CoinbaseAdvancedClient` (budget, retry loop, error mapping, exact-decimal JSON, pydantic
models), the bare one signs with the same function and reads the body with `json.loads`. The client's
request budget is lifted (it would measure the 30/s pacing, not the client).

- Overhead: both against an in-memory transport answering the sandbox's own `/accounts` body, so no server
  and no socket is counted: what is left is each client's work, as CPU (process time) and wall per request.
- Round trip: both against the in-process sandbox over loopback (rate limit lifted), wall per request:
  client, server and the loopback hop together, on the same two cores.

Batches of each side alternate so load from other work on the shared machine weighs on both alike.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cryptoj.coinbase.auth import CdpKey, build_rest_jwt
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.limits import VenueLimits
from cryptoj.sandbox.ratelimit import RateLimiter
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.helpers.wire import median_p95

pytestmark = pytest.mark.performance

PATH = "/api/v3/brokerage/accounts"
UNTHROTTLED = VenueLimits(private_requests_per_second=1_000_000.0, public_requests_per_second=1_000_000.0, burst=1_000)
Send = Callable[[], Awaitable[None]]


@dataclass
class Side:
    """One side's samples: wall seconds of each request, CPU seconds per request of each batch."""

    wall: list[float]
    cpu: list[float]

    def summary(self, prefix: str) -> dict[str, float]:
        median, p95 = median_p95(self.wall)
        return {
            f"{prefix}_wall_median_us": round(median * 1e6, 1),
            f"{prefix}_wall_p95_us": round(p95 * 1e6, 1),
            f"{prefix}_cpu_per_request_us": round(min(self.cpu) * 1e6, 1),  # the least disturbed batch
        }


async def side_by_side(ours: Send, bare: Send, *, batches: int, size: int) -> tuple[Side, Side]:
    """`batches` batches of `size` requests a side, alternating which side goes first, after a warm-up."""
    for send in (ours, bare):
        for _ in range(5):
            await send()
    sides = {"ours": Side([], []), "bare": Side([], [])}
    for batch in range(batches):
        order = ("ours", "bare") if batch % 2 == 0 else ("bare", "ours")
        for name in order:
            send, side = (ours if name == "ours" else bare), sides[name]
            cpu = time.process_time()
            for _ in range(size):
                started = time.perf_counter()
                await send()
                side.wall.append(time.perf_counter() - started)
            side.cpu.append((time.process_time() - cpu) / size)
    return sides["ours"], sides["bare"]


def record(benchmark: BenchmarkFixture, what: str, ours: Side, bare: Side) -> None:
    wall_ratio = statistics.median(ours.wall) / statistics.median(bare.wall)
    cpu_ratio = min(ours.cpu) / min(bare.cpu)
    benchmark.extra_info.update(
        ours.summary("ours") | bare.summary("bare"),
        wall_median_ratio=round(wall_ratio, 2),
        cpu_ratio=round(cpu_ratio, 2),
        requests_per_side=len(ours.wall),
    )
    (ours_med, ours_p95), (bare_med, bare_p95) = median_p95(ours.wall), median_p95(bare.wall)
    print(
        f"\n{what}: ours {ours_med * 1e6:.0f} us median, {ours_p95 * 1e6:.0f} us p95, "
        f"{min(ours.cpu) * 1e6:.0f} us CPU; bare httpx {bare_med * 1e6:.0f} / {bare_p95 * 1e6:.0f} us, "
        f"{min(bare.cpu) * 1e6:.0f} us CPU; ratios {wall_ratio:.2f}x wall, {cpu_ratio:.2f}x CPU"
    )


def bare_sender(http: httpx.AsyncClient, key: CdpKey, authority: str) -> Send:
    async def send() -> None:
        token = build_rest_jwt(key, method="GET", host=authority, path=PATH)
        response = await http.get(PATH, headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        json.loads(response.content)

    return send


def ours_sender(client: CoinbaseAdvancedClient) -> Send:
    async def send() -> None:
        await client.list_accounts()

    return send


def measure(
    benchmark: BenchmarkFixture, what: str, client: CoinbaseAdvancedClient, http: httpx.AsyncClient, key: CdpKey
) -> None:
    """pytest-benchmark times our requests one by one; then both sides run in alternating batches."""
    ours, bare = ours_sender(client), bare_sender(http, key, http.base_url.netloc.decode())
    loop = asyncio.new_event_loop()
    try:
        disabled = benchmark.disabled
        benchmark.pedantic(lambda: loop.run_until_complete(ours()), rounds=1 if disabled else 500, warmup_rounds=5)
        batches, size = (1, 10) if disabled else (10, 200)  # a few when CI only checks that it runs
        ours_side, bare_side = loop.run_until_complete(side_by_side(ours, bare, batches=batches, size=size))
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(http.aclose())
    finally:
        loop.close()
    record(benchmark, what, ours_side, bare_side)
    assert len(ours_side.wall) == len(bare_side.wall) == batches * size


def test_client_overhead_per_request_beside_bare_httpx(benchmark: BenchmarkFixture, sandbox: SandboxHandle) -> None:
    """No server, no socket: an in-memory transport answers the sandbox's own accounts body."""
    accounts = httpx.get(sandbox.base_url + PATH, headers=sandbox.auth_headers("GET", PATH))
    accounts.raise_for_status()
    time_body = httpx.get(sandbox.base_url + "/api/v3/brokerage/time").content

    def answer(request: httpx.Request) -> httpx.Response:
        body = time_body if request.url.path.endswith("/time") else accounts.content
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    authority = "api.coinbase.com"
    transport = httpx.MockTransport(answer)
    client = CoinbaseAdvancedClient(
        base_url=f"https://{authority}", key=sandbox.key, transport=transport, limits=UNTHROTTLED
    )
    http = httpx.AsyncClient(base_url=f"https://{authority}", transport=transport)
    measure(
        benchmark,
        "client overhead per GET /accounts (in-memory transport)",
        client,
        http,
        sandbox.key,
    )


def test_round_trip_to_the_sandbox_beside_bare_httpx(benchmark: BenchmarkFixture, sandbox: SandboxHandle) -> None:
    """Over loopback to the in-process sandbox (rate limit lifted)."""
    sandbox.exchange.limiter = RateLimiter(private_per_second=10**9, public_per_second=10**9)
    client = CoinbaseAdvancedClient(base_url=sandbox.base_url, key=sandbox.key, limits=UNTHROTTLED)
    http = httpx.AsyncClient(base_url=sandbox.base_url)
    measure(
        benchmark,
        "round trip GET /accounts to the sandbox on loopback",
        client,
        http,
        sandbox.key,
    )
