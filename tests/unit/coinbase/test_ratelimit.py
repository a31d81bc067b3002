"""The client-side limiter: bursts, then paces at the configured rate; holds when the venue says so."""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import Counter
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest

from cryptoj.coinbase._ratelimit import TokenBucket
from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.limits import VenueLimits
from tests.unit.coinbase.conftest import MakeClient, Script, json_response, server_time
from tests.utils.fixtures.coinbase import FakeTime

ACCOUNTS = {"accounts": [], "has_next": False}


def _bucket(fake_time: FakeTime, *, rate: float = 10.0, burst: int = 3) -> TokenBucket:
    return TokenBucket(rate=rate, burst=burst, clock=fake_time.monotonic, sleep=fake_time.sleep)


async def test_a_burst_goes_at_once_then_requests_are_paced(fake_time: FakeTime) -> None:
    bucket = _bucket(fake_time)
    for _ in range(3):
        await bucket.acquire()
    assert fake_time.sleeps == []
    await bucket.acquire()
    await bucket.acquire()
    assert fake_time.sleeps == pytest.approx([0.1, 0.1], abs=1e-5)


async def test_a_hundred_requests_take_as_long_as_the_rate_demands(fake_time: FakeTime) -> None:
    bucket = _bucket(fake_time, rate=30.0, burst=5)
    start = fake_time.now
    for _ in range(100):
        await bucket.acquire()
    assert fake_time.now - start == pytest.approx((100 - 5) / 30.0, abs=1e-4)


async def test_quiet_time_refills_the_burst(fake_time: FakeTime) -> None:
    bucket = _bucket(fake_time)
    for _ in range(3):
        await bucket.acquire()
    fake_time.now += 10
    for _ in range(3):
        await bucket.acquire()
    assert fake_time.sleeps == []


async def test_concurrent_waiters_get_distinct_slots(fake_time: FakeTime) -> None:
    bucket = _bucket(fake_time, burst=1)
    start = fake_time.now
    await asyncio.gather(*(bucket.acquire() for _ in range(4)))
    # the fake sleep advances one shared clock, so distinct slots add up to three intervals
    assert fake_time.now - start == pytest.approx(0.3, abs=1e-5)


async def test_hold_waits_then_resumes_from_empty(fake_time: FakeTime) -> None:
    bucket = _bucket(fake_time)
    bucket.hold(5.0)
    bucket.hold(1.0)  # a shorter hold never shortens a longer one
    bucket.hold(0.0)
    await bucket.acquire()
    await bucket.acquire()
    assert fake_time.sleeps == pytest.approx([5.0, 0.1], abs=1e-5)


def test_a_bucket_needs_a_positive_rate(fake_time: FakeTime) -> None:
    with pytest.raises(ValueError, match="rate"):
        _bucket(fake_time, rate=0)


async def test_a_backfill_never_exceeds_the_private_budget(make_client: MakeClient, fake_time: FakeTime) -> None:
    script = Script(*[json_response(ACCOUNTS) for _ in range(40)])
    limits = VenueLimits(private_requests_per_second=20.0, burst=4)
    start = fake_time.now
    async with make_client(script, limits=limits) as client:
        for _ in range(40):
            await client.list_accounts()
    # A second's budget (20) in each second and its 0.05 s margin: the burst then the rate, twice over.
    assert fake_time.now - start == pytest.approx(1.05 + (20 - 4) / 20.0, abs=1e-4)


async def test_public_and_private_budgets_are_separate(make_client: MakeClient, fake_time: FakeTime) -> None:
    script = Script(*[json_response(ACCOUNTS) for _ in range(4)])
    async with make_client(script, limits=VenueLimits(burst=4)) as client:
        for _ in range(4):
            await client.list_accounts()
        for _ in range(3):  # the clock check before the first signed request took the fourth public slot
            await client.get_server_time()
    assert len(script.time_requests) == 4
    assert fake_time.sleeps == []


async def test_remaining_zero_holds_until_the_reset(make_client: MakeClient, fake_time: FakeTime) -> None:
    reset = str(int(fake_time.now) + 3)
    script = Script(
        json_response(ACCOUNTS, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}),
        json_response(ACCOUNTS, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2"}),
        json_response(ACCOUNTS, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"}),
        json_response(ACCOUNTS),
    )
    async with make_client(script) as client:
        for _ in range(4):
            await client.list_accounts()
    # an epoch reset, then a delta reset, then one paced slot (the bucket restarts empty); "soon" is ignored
    assert fake_time.sleeps == pytest.approx([3.0, 2.0, 1 / 30], abs=1e-5)


async def test_429_html_then_success_is_transparent(make_client: MakeClient, fake_time: FakeTime) -> None:
    script = Script(httpx.Response(429, text="<html><title>429</title></html>"), json_response(ACCOUNTS))
    async with make_client(script) as client:
        await client.list_accounts()
    assert len(script.requests) == 2
    assert fake_time.sleeps == [0.25]


class VirtualTime:
    """Virtual time for real concurrency: sleepers really wait, and time jumps to the next wake-up only
    once every task is blocked (so concurrent requests interleave as they would on a real loop)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(0.0, seconds), self._seq, future))
        self._seq += 1
        await future

    async def run(self, *coroutines: Coroutine[Any, Any, Any]) -> None:
        tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
        while not all(task.done() for task in tasks):
            for _ in range(50):  # let every task run until it waits on a timer
                await asyncio.sleep(0)
            if self._timers:
                deadline, _, future = heapq.heappop(self._timers)
                self.now = max(self.now, deadline)
                future.set_result(None)
            elif not all(task.done() for task in tasks):
                raise AssertionError("tasks blocked on something other than virtual time")
        for task in tasks:
            task.result()


def _venue(clock: VirtualTime, *, latency: float, first_headers: dict[str, str] | None = None) -> Any:
    """An async transport handler answering after `latency` virtual seconds; records arrival times."""
    arrivals: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/time"):  # the clock check: public, not in the private budget
            return server_time(clock.now)
        arrivals.append(clock.now)
        headers = first_headers if len(arrivals) == 1 and first_headers else {}
        await clock.sleep(latency)
        return json_response(ACCOUNTS, headers=headers)

    handler.arrivals = arrivals  # type: ignore[attr-defined]
    return handler


def _client(ec_key: CdpKey, clock: VirtualTime, handler: Any, limits: VenueLimits) -> CoinbaseAdvancedClient:
    return CoinbaseAdvancedClient(
        key=ec_key, transport=httpx.MockTransport(handler), limits=limits,
        clock=clock.monotonic, sleep=clock.sleep, wall_clock=clock.monotonic, jitter=lambda: 0.5,
    )  # fmt: skip


async def test_concurrent_requests_stay_within_the_budget_in_every_window(ec_key: CdpKey) -> None:
    clock = VirtualTime()
    handler = _venue(clock, latency=0.03)
    rate, burst = 20.0, 4
    async with _client(ec_key, clock, handler, VenueLimits(private_requests_per_second=rate, burst=burst)) as client:
        await clock.run(*(client.list_accounts() for _ in range(60)))
    times = sorted(handler.arrivals)
    assert len(times) == 60
    # GCRA's promise: any run of n requests spans at least (n - burst) intervals.
    for i in range(len(times)):
        for j in range(i + burst, len(times)):
            assert times[j] - times[i] >= (j - i - (burst - 1)) / rate - 1e-9, (i, j)
    # No second (and its 0.05 s margin) holds more than a second's budget, and each takes all of it.
    for i in range(len(times) - int(rate)):
        assert times[i + int(rate)] - times[i] >= 1.05 - 1e-9, i
    assert times[-1] == pytest.approx(2 * 1.05 + (rate - burst) / rate, abs=1e-6)


async def test_a_spent_budget_also_holds_requests_already_waiting_for_a_slot(ec_key: CdpKey) -> None:
    clock = VirtualTime()
    # The first answer (at t=0.01) says the budget is spent until 2 s later.
    handler = _venue(clock, latency=0.01, first_headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2"})
    limits = VenueLimits(private_requests_per_second=20.0, burst=4)
    async with _client(ec_key, clock, handler, limits) as client:
        await clock.run(*(client.list_accounts() for _ in range(10)))
    early = [when for when in handler.arrivals if when < 2.01 - 1e-9]
    assert early == [0.0] * 4  # only the burst that left before Coinbase spoke


async def test_a_429_holds_every_caller_so_concurrent_requests_do_not_storm(ec_key: CdpKey) -> None:
    clock = VirtualTime()
    arrivals: list[float] = []

    async def venue(request: httpx.Request) -> httpx.Response:
        # The venue's budget is spent until t=3: everything before draws a 429 saying so.
        if request.url.path.endswith("/time"):
            return server_time(clock.now)
        arrivals.append(clock.now)
        await clock.sleep(0.01)
        if clock.now < 3.0:
            return httpx.Response(429, headers={"Retry-After": str(3.0 - clock.now)})
        return json_response(ACCOUNTS)

    limits = VenueLimits(private_requests_per_second=20.0, burst=4)
    async with _client(ec_key, clock, venue, limits) as client:
        await clock.run(*(client.list_accounts() for _ in range(12)))
    refused = [when for when in arrivals if when < 3.0]
    assert refused == [0.0] * 4  # only the burst in flight when the first 429 came back
    assert len(arrivals) == 12 + 4


async def test_a_backfill_never_overfills_a_venues_one_second_window(ec_key: CdpKey) -> None:
    """Coinbase counts 30 a second; the sandbox in fixed one-second windows. A burst then the full rate put
    34 requests in the first window (a 429 in the issue-19 backfill benchmark): wherever the venue's windows
    fall, and with latencies 0 to 40 ms, none may hold more than the budget, and the budget is still used."""
    clock = VirtualTime()
    arrivals: list[float] = []
    latencies = iter([0.0, 0.04] * 100)

    async def venue(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/time"):
            return server_time(clock.now)
        await clock.sleep(next(latencies))  # the way there: arrival is when the venue counts it
        arrivals.append(clock.now)
        return json_response(ACCOUNTS)

    async def backfill(client: CoinbaseAdvancedClient) -> None:
        for _ in range(150):  # one request at a time, as a backfill sends its windows
            await client.list_accounts()

    async with _client(ec_key, clock, venue, VenueLimits(private_requests_per_second=30.0, burst=5)) as client:
        await clock.run(backfill(client))
    for tenth in range(10):  # the venue's windows start at any tenth of a second
        windows = Counter(math.floor(at + tenth / 10) for at in arrivals)
        assert max(windows.values()) <= 30, (tenth, sorted(windows.items()))
    assert (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) >= 0.9 * 30
