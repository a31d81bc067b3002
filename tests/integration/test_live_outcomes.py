"""Live placement when the network misbehaves in a chosen way: every outcome is decided, none guessed.

A transport in front of the real sandbox fails chosen requests (a create that never gets through, a
lookup that fails, a refused key), so each branch of the protocol meets exactly the failure it handles.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from cryptoj.coinbase.errors import AuthenticationError
from cryptoj.domain.orders import OrderStatus
from cryptoj.sandbox.engine.records import FillRecord
from cryptoj.services.executor import OrderKey, Outcome
from cryptoj.services.live import NEVER_PLACED
from cryptoj.services.runtime import Runtime, open_runtime
from cryptoj.store import UnitOfWork
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.fixtures.services import market, service_settings
from tests.utils.helpers.placing import exchange_order, place_market

pytestmark = pytest.mark.integration

Rule = Callable[[httpx.Request], httpx.Response | None]


class Interceptor(httpx.AsyncBaseTransport):
    """Answers requests a rule claims (without sending them on); sends the rest to the sandbox."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport(retries=0)
        self.rules: list[Rule] = []
        self.intercepted: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for rule in self.rules:
            answer = rule(request)
            if answer is not None:
                self.intercepted.append(f"{request.method} {request.url.path} -> {answer.status_code}")
                return answer
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def creates(status: int, text: str = "") -> Rule:
    """Answer every create order with `status` (the exchange never sees it)."""

    def rule(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and request.url.path.endswith("/orders"):
            return httpx.Response(status, text=text or "upstream unavailable")
        return None

    return rule


def order_lists(status: int) -> Rule:
    """Answer every order listing with `status`."""

    def rule(request: httpx.Request) -> httpx.Response | None:
        if request.method == "GET" and request.url.path.endswith("/orders/historical/batch"):
            return httpx.Response(status, text="upstream unavailable")
        return None

    return rule


async def _place(rt: Runtime, index: int = 0) -> tuple[str, Outcome, OrderStatus, str | None]:
    placed = await place_market(rt, index)
    return placed.order.client_order_id, placed.outcome, placed.order.status, placed.order.reason


def _on_exchange(handle: SandboxHandle, client_order_id: str) -> int:
    owner = handle.key.name.get_secret_value()
    return sum(order.client_order_id == client_order_id for order in handle.exchange.engine.orders(owner))


async def test_a_create_that_never_gets_through_stays_unknown_then_reconciliation_places_it(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    transport = Interceptor()
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0)
    async with open_runtime(settings, transport=transport) as rt:
        transport.rules.append(creates(503))
        coid, outcome, status, _ = await _place(rt)
        assert outcome is Outcome.UNKNOWN  # sent, unanswered, not on the exchange: never called failed
        assert status is OrderStatus.UNKNOWN_OUTCOME
        assert _on_exchange(sandbox, coid) == 0
        transport.rules.clear()
        report = await rt.executor.refresh()  # the network is back: not found, still young, so sent again
    assert report.unresolved == 0
    assert _on_exchange(sandbox, coid) == 1


async def test_an_intent_older_than_its_time_to_live_is_recorded_as_never_placed(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    transport = Interceptor()
    transport.rules.append(creates(503))
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0, intent_ttl_seconds=0.001)
    async with open_runtime(settings, transport=transport) as rt:
        coid, outcome, status, reason = await _place(rt)
    assert (outcome, status) == (Outcome.ACCEPTED, OrderStatus.CANCELLED)
    assert reason is not None
    assert reason.startswith(NEVER_PLACED)
    assert _on_exchange(sandbox, coid) == 0


async def test_a_failed_lookup_leaves_the_outcome_unknown_for_reconciliation(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    transport = Interceptor()
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0)
    async with open_runtime(settings, transport=transport) as rt:
        transport.rules += [creates(503), order_lists(503)]
        coid, _, status, _ = await _place(rt)
        assert status is OrderStatus.UNKNOWN_OUTCOME
        assert transport.intercepted.count("GET /api/v3/brokerage/orders/historical/batch -> 503") == 3
        assert _on_exchange(sandbox, coid) == 0
        transport.rules.clear()
        report = await rt.executor.refresh()
        await rt.executor.refresh()
    assert report.unresolved == 0
    assert _on_exchange(sandbox, coid) == 1


async def test_a_refused_request_is_a_rejection_with_the_exchanges_words(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    transport = Interceptor()
    transport.rules.append(creates(400, '{"error":"unknown","error_details":"proto: unknown field \\"x\\""}'))
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0)
    async with open_runtime(settings, transport=transport) as rt:
        coid, outcome, status, reason = await _place(rt)
    assert (outcome, status) == (Outcome.REJECTED, OrderStatus.REJECTED)
    assert reason is not None
    assert "unknown field" in reason
    assert _on_exchange(sandbox, coid) == 0


async def test_a_refused_key_stops_the_run_loudly_and_stores_the_rejection(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    transport = Interceptor()
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0)
    async with open_runtime(settings, transport=transport) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        transport.rules.append(creates(401, "Unauthorized"))
        with pytest.raises(AuthenticationError):
            await rt.executor.place(
                market(), key=OrderKey("c", "live", 0), rules=rules, marks={"BTC-USD": Decimal(6800)}
            )
        coid = OrderKey("c", "live", 0).client_order_id("BTC-USD")
        transport.rules.clear()
        again = await rt.executor.place(
            market(), key=OrderKey("c", "live", 0), rules=rules, marks={"BTC-USD": Decimal(6800)}
        )
    assert again.order.status is OrderStatus.REJECTED  # stored, and a retry does not send it again
    assert not again.sent
    assert _on_exchange(sandbox, coid) == 0


def fills_listed_empty(request: httpx.Request) -> httpx.Response | None:
    """The fills of every order come back empty (Coinbase lists a fill a moment after the order says FILLED)."""
    if request.method == "GET" and request.url.path.endswith("/orders/historical/fills"):
        return httpx.Response(200, json={"fills": [], "cursor": ""})
    return None


def accepted_without_an_id(request: httpx.Request) -> httpx.Response | None:
    """A create answered `success: true` and nothing else: the order's id is not known."""
    if request.method == "POST" and request.url.path.endswith("/orders"):
        return httpx.Response(200, json={"success": True})
    return None


async def test_an_order_done_before_its_fills_are_listed_stays_working_until_they_are(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    transport = Interceptor()
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0)
    async with open_runtime(settings, transport=transport) as rt:
        transport.rules.append(fills_listed_empty)
        coid, _, status, _ = await _place(rt)
        assert status is OrderStatus.OPEN  # FILLED on the exchange, but no fill to count yet
        transport.rules.clear()
        report = await rt.executor.refresh()
        with UnitOfWork(rt.engine, read_only=True) as uow:
            stored = uow.orders.get(coid)
    # Every fill the exchange made, once: a market order takes one level of the moving book, or more.
    assert report.fills == len(_exchange_fills(sandbox, coid)) >= 1
    assert stored is not None
    assert stored.status is OrderStatus.FILLED
    assert stored.filled_size == market().base_size


def _exchange_fills(handle: SandboxHandle, client_order_id: str) -> list[FillRecord]:
    order = exchange_order(handle, client_order_id)
    return [fill for fill in handle.exchange.engine.fills(order.owner) if fill.order_id == order.order_id]


async def test_an_acceptance_without_an_order_id_is_an_unknown_outcome_not_a_success(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    transport = Interceptor()
    transport.rules.append(accepted_without_an_id)
    settings = service_settings(tmp_path, sandbox, execution="live", max_retries=0)
    async with open_runtime(settings, transport=transport) as rt:
        coid, outcome, status, _ = await _place(rt)
    assert (outcome, status) == (Outcome.UNKNOWN, OrderStatus.UNKNOWN_OUTCOME)
    assert _on_exchange(sandbox, coid) == 0
