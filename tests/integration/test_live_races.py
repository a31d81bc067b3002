"""Live placement when two sends of one order cross, or the exchange answers "not yet": the store ends as the exchange.

Seen in the fault-tolerance long run: one worker's create was still on the wire when another worker's
reconciliation found the order unsent, sent it again and was refused for funds; the first create then
landed and filled, and the store kept REJECTED over a filled order. And an order the exchange still held
QUEUED when reconciliation read it was listed as a difference, though both sides agreed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from cryptoj.coinbase.auth import CdpKey
from cryptoj.domain.orders import Order, OrderStatus
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.faults import FaultConfig, FaultPlan
from cryptoj.services.executor import OrderKey
from cryptoj.services.runtime import Runtime, open_runtime
from cryptoj.store import UnitOfWork
from tests.utils.fixtures.sandbox import SandboxHandle, serve
from tests.utils.fixtures.services import market, service_settings
from tests.utils.helpers.placing import exchange_order, place_market

pytestmark = pytest.mark.integration

# A create refused for funds, in the documented failure form (create_order_failure.json).
REFUSED_FOR_FUNDS = {
    "success": False,
    "error_response": {
        "error": "INSUFFICIENT_FUND",
        "message": "Insufficient balance in source account",
        "error_details": "Insufficient balance in source account",
        "preview_failure_reason": "PREVIEW_INSUFFICIENT_FUND",
        "new_order_failure_reason": "INSUFFICIENT_FUND",
    },
}


def _is_create(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/brokerage/orders")


class Network(httpx.AsyncBaseTransport):
    """Loopback to the sandbox, where a test can hold the first create on the wire or refuse creates.

    `hold_first_create`: the first create waits until `release` is set, then goes through; the caller
    either waits for its answer (a slow network) or, with `drop_answer`, gets a timeout at once while the
    create still lands later (a send whose outcome the sender never learns).
    """

    def __init__(self, *, hold_first_create: bool = False, drop_answer: bool = False) -> None:
        self._inner = httpx.AsyncHTTPTransport(retries=0)
        self._hold = hold_first_create
        self._drop_answer = drop_answer
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.refuse_creates = False
        self.landed: asyncio.Task[httpx.Response] | None = None
        self.order_lists = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/orders/historical/batch"):
            self.order_lists += 1
        if _is_create(request) and self._hold:
            self._hold = False
            await request.aread()
            self.holding.set()
            self.landed = asyncio.create_task(self._after_release(request))
            if self._drop_answer:
                raise httpx.ReadTimeout("the answer to the create never came", request=request)
            return await self.landed
        if _is_create(request) and self.refuse_creates:
            return httpx.Response(200, json=REFUSED_FOR_FUNDS)
        return await self._inner.handle_async_request(request)

    async def _after_release(self, request: httpx.Request) -> httpx.Response:
        await self.release.wait()
        response = await self._inner.handle_async_request(request)
        await response.aread()
        return response

    async def aclose(self) -> None:
        if self.landed is not None:
            self.release.set()  # a test that failed early still ends without waiting on it
            await asyncio.gather(self.landed, return_exceptions=True)
        await self._inner.aclose()


def _stored(rt: Runtime, client_order_id: str) -> Order:
    with UnitOfWork(rt.engine, read_only=True) as uow:
        order = uow.orders.get(client_order_id)
    assert order is not None
    return order


def _position(rt: Runtime) -> Decimal:
    with UnitOfWork(rt.engine, read_only=True) as uow:
        return uow.positions.get("BTC-USD").size


def _exchange_order(handle: SandboxHandle, client_order_id: str) -> tuple[str, str, Decimal]:
    order = exchange_order(handle, client_order_id)
    return order.order_id, str(order.status), order.filled_size


async def test_a_resend_refused_while_the_first_send_was_on_the_wire_yields_to_the_order_that_landed(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    slow, refusing = Network(hold_first_create=True), Network()
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0)
    async with open_runtime(settings, transport=slow) as trader, open_runtime(settings, transport=refusing) as other:
        placing = asyncio.create_task(place_market(trader))
        await asyncio.wait_for(slow.holding.wait(), 10)
        # Another process reconciles meanwhile: the order is stored, not on the exchange yet, so it sends it
        # again, and the exchange refuses that send.
        refusing.refuse_creates = True
        await other.executor.refresh()
        coid = OrderKey("c", "live", 0).client_order_id("BTC-USD")
        assert _stored(other, coid).status is OrderStatus.REJECTED
        slow.release.set()  # the first send lands and fills
        placed = await asyncio.wait_for(placing, 10)
        stored, position = _stored(trader, coid), _position(trader)
    exchange_id, exchange_status, filled = _exchange_order(sandbox, coid)
    assert (exchange_status, filled) == ("FILLED", market().base_size)
    assert placed.order.status is OrderStatus.FILLED
    assert (stored.exchange_order_id, stored.status.value, stored.filled_size) == (exchange_id, "FILLED", filled)
    assert position == filled  # the fill moved the position once


async def test_reconciliation_finds_the_order_of_a_send_that_landed_after_its_resend_was_refused(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    network = Network(hold_first_create=True, drop_answer=True)
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0)
    async with open_runtime(settings, transport=network) as rt:
        network.refuse_creates = True  # the resend after "not found" is refused
        placed = await place_market(rt)
        coid = placed.order.client_order_id
        assert placed.order.status is OrderStatus.REJECTED  # what the exchange answered, as far as anyone knows
        network.release.set()
        assert network.landed is not None
        await network.landed  # the first create lands after all, and fills
        report = await rt.executor.refresh()
        stored, position = _stored(rt, coid), _position(rt)
    exchange_id, exchange_status, filled = _exchange_order(sandbox, coid)
    assert exchange_status == "FILLED"
    assert (stored.exchange_order_id, stored.status.value, stored.filled_size) == (exchange_id, "FILLED", filled)
    assert position == filled  # the fill moved the position once
    assert report.updated == 1
    assert report.mismatches == []


async def test_a_refused_resend_is_looked_up_only_while_an_earlier_send_could_still_land(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    network = Network(hold_first_create=True, drop_answer=True)
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0, intent_ttl_seconds=1)
    async with open_runtime(settings, transport=network) as rt:
        network.refuse_creates = True
        placed = await place_market(rt)
        lists = network.order_lists
        await rt.executor.refresh()
        assert network.order_lists == lists + 3  # looked up, and the exchange's working orders listed twice
        await asyncio.sleep(1.1)
        lists = network.order_lists
        report = await rt.executor.refresh()
    assert network.order_lists == lists + 2  # only the exchange's working orders, twice: no lookup
    assert report.checked == 0
    assert _stored(rt, placed.order.client_order_id).status is OrderStatus.REJECTED


@pytest.fixture
def queueing_sandbox(sandbox_key: tuple[CdpKey, Path]) -> Iterator[SandboxHandle]:
    """A sandbox that queues every accepted order until its market steps, which only a test makes it do."""
    exchange = SandboxExchange(seed=5, clock=SimClock(), faults=FaultPlan(FaultConfig(seed=5, order_queued_rate=1.0)))
    yield from serve(exchange, sandbox_key, step_interval=None)


class StepAfterRead(httpx.AsyncBaseTransport):
    """Loopback to the sandbox; once armed, the market steps right after the next single-order read."""

    def __init__(self, base_url: str) -> None:
        self._inner = httpx.AsyncHTTPTransport(retries=0)
        self._advance = httpx.Request(
            "POST", f"{base_url}/sandbox/admin/advance", content=json.dumps({"seconds": 1}).encode()
        )
        self.armed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        path = request.url.path
        if self.armed and "/orders/historical/" in path and not path.endswith(("/batch", "/fills")):
            self.armed = False
            await response.aread()
            stepped = await self._inner.handle_async_request(self._advance)
            await stepped.aread()
            assert stepped.status_code == 200, stepped.content
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_an_order_the_exchange_still_queues_is_read_again_until_it_works(
    queueing_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    network = StepAfterRead(queueing_sandbox.base_url)
    settings = service_settings(tmp_path, queueing_sandbox, execution="live", max_retries=0)
    async with open_runtime(settings, transport=network) as rt:
        placed = await place_market(rt)
        assert placed.order.status is OrderStatus.QUEUED
        network.armed = True  # reconciliation's first read finds it QUEUED; the market steps just after
        report = await rt.executor.refresh()
        stored = _stored(rt, placed.order.client_order_id)
    exchange_id, exchange_status, filled = _exchange_order(queueing_sandbox, placed.order.client_order_id)
    assert (stored.exchange_order_id, stored.status.value, stored.filled_size) == (exchange_id, "FILLED", filled)
    assert exchange_status == "FILLED"
    assert (report.checked, report.updated, report.settling, report.mismatches) == (1, 1, 0, [])


async def test_an_order_still_queued_after_the_wait_is_settling_not_a_difference(
    queueing_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    settings = service_settings(tmp_path, queueing_sandbox, execution="live", max_retries=0)
    async with open_runtime(settings) as rt:
        placed = await place_market(rt)
        report = await rt.executor.refresh()
        assert (report.settling, report.mismatches) == (1, [])
        assert _stored(rt, placed.order.client_order_id).status is OrderStatus.QUEUED  # as the exchange says
        queueing_sandbox.exchange.advance(1)  # no request is in flight: the test's thread may step it
        report = await rt.executor.refresh()
        stored = _stored(rt, placed.order.client_order_id)
    assert (report.updated, report.settling, report.mismatches) == (1, 0, [])
    assert stored.status is OrderStatus.FILLED
