"""The placement protocol under faults, and across a process killed between send and store.

Against a sandbox that fails requests on purpose (5xx, 429, dropped answers after an accepted order,
reset connections, latency), hundreds of intents end as exactly one exchange order each, none lost, and
the store equals the exchange after reconciliation. A process killed after the exchange accepted its
order but before it stored the answer leaves an intent that the next run adopts, never sends again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.errors import CoinbaseError
from cryptoj.domain.orders import OrderStatus
from cryptoj.domain.side import Side
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.faults import FaultConfig, FaultPlan
from cryptoj.sandbox.ratelimit import RateLimiter
from cryptoj.services.executor import OrderKey, Placement
from cryptoj.services.runtime import open_runtime
from cryptoj.store import UnitOfWork, open_store
from tests.utils.fixtures.sandbox import SandboxHandle, serve
from tests.utils.fixtures.services import market, service_settings
from tests.utils.helpers.kill_after_send import PRODUCT, intent_for

pytestmark = pytest.mark.integration

# 200 in the default run; FAULT_RUN_INTENTS=500 (or more) on demand.
INTENTS = int(os.environ.get("FAULT_RUN_INTENTS", "200"))
FAULTS = FaultConfig(
    seed=5,
    latency_ms=20,
    latency_rate=0.04,
    error_5xx_rate=0.04,
    error_429_rate=0.01,
    drop_after_accept_rate=0.05,
    reset_rate=0.02,
)
UNLIMITED: dict[str, Any] = {
    "risk_max_order_notional": None,
    "risk_max_position_notional": None,
    "risk_max_gross_exposure": None,
    "risk_max_open_orders": None,
    "risk_max_orders_per_minute": None,
}


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts every attempt the client makes (a reset connection counts too)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport(retries=0)
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def faulty_sandbox(sandbox_key: tuple[CdpKey, Path]) -> Iterator[SandboxHandle]:
    """A sandbox with budgets high enough for a burst of intents; faults are switched on by the test."""
    exchange = SandboxExchange(
        seed=3,
        clock=SimClock(),
        limiter=RateLimiter(private_per_second=5_000, public_per_second=5_000),
        faults=FaultPlan(FaultConfig(seed=5)),
    )
    yield from serve(exchange, sandbox_key)


@pytest.mark.system  # a minute of CPU: run by .ci/run after the default suite, or with `-m system`
async def test_under_faults_every_intent_is_exactly_one_order_and_the_store_equals_the_exchange(
    faulty_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    settings = service_settings(
        tmp_path, faulty_sandbox, execution="live", max_retries=6, private_requests_per_second=1_000, **UNLIMITED
    )
    transport = CountingTransport()
    faulty_sandbox.exchange.faults.configure(FAULTS)
    async with open_runtime(settings, transport=transport) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        marks = {"BTC-USD": (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].mid or Decimal(1)}
        gate = asyncio.Semaphore(48)

        async def place(index: int) -> Placement | None:
            side = Side.BUY if index % 2 == 0 else Side.SELL
            key = OrderKey("fault-run", "faults", index)
            async with gate:
                for _ in range(5):  # a failure that surely sent nothing is retried, as a Prefect task retry would
                    try:
                        return await rt.executor.place(
                            market(side=side, size="0.001"), key=key, rules=rules, marks=marks
                        )
                    except CoinbaseError:
                        continue
            return None

        placements = await asyncio.gather(*(place(i) for i in range(INTENTS)))
        attempts, fired = transport.attempts, dict(faulty_sandbox.exchange.faults.fired)
        faulty_sandbox.exchange.faults.configure(FaultConfig())
        report = await rt.executor.refresh()

    owner = faulty_sandbox.key.name.get_secret_value()
    on_exchange = Counter(order.client_order_id for order in faulty_sandbox.exchange.engine.orders(owner))
    wanted = {OrderKey("fault-run", "faults", i).client_order_id(PRODUCT) for i in range(INTENTS)}
    duplicates = sum(count - 1 for count in on_exchange.values() if count > 1)
    lost = len(wanted - set(on_exchange))
    mismatches = _store_against_exchange(settings, faulty_sandbox, owner, wanted) + report.mismatches
    disturbed = sum(fired.values())
    unresolved = sum(p is None or p.order.status is OrderStatus.UNKNOWN_OUTCOME for p in placements)
    print(
        f"\nfault run: intents={INTENTS} requests={attempts} disturbed={disturbed} ({disturbed / attempts:.1%}) "
        f"faults={fired} duplicates={duplicates} lost={lost} mismatches={len(mismatches)} "
        f"unresolved_before_reconcile={unresolved}"
    )
    assert disturbed / attempts >= 0.1, "fewer than one request in ten was disturbed"
    assert set(fired) >= {"latency", "error_5xx", "error_429", "drop_after_accept", "reset"}
    assert duplicates == 0
    assert lost == 0
    assert mismatches == []
    assert set(on_exchange) == wanted


def _store_against_exchange(settings: Any, handle: SandboxHandle, owner: str, wanted: set[str]) -> list[str]:
    """Each intent's stored status, exchange id and filled size against the exchange's order."""
    exchange_orders = {order.client_order_id: order for order in handle.exchange.engine.orders(owner)}
    engine = open_store(settings)
    problems = []
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            for coid in sorted(wanted):
                stored, real = uow.orders.get(coid), exchange_orders.get(coid)
                if stored is None or real is None:
                    problems.append(f"{coid}: stored={stored is not None} on exchange={real is not None}")
                    continue
                if (stored.exchange_order_id, stored.status.value, stored.filled_size) != (
                    real.order_id,
                    real.status,
                    real.filled_size,
                ):
                    problems.append(
                        f"{coid}: store {stored.status.value} {stored.filled_size} {stored.exchange_order_id}, "
                        f"exchange {real.status} {real.filled_size} {real.order_id}"
                    )
    finally:
        engine.dispose()
    return problems


def test_a_process_killed_between_send_and_store_is_adopted_by_the_next_run(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    settings = service_settings(tmp_path, sandbox, execution="live")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.utils.helpers.kill_after_send",
            str(tmp_path),
            sandbox.base_url,
            str(sandbox.key_file),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    coid = OrderKey("restart", "test", 0).client_order_id(PRODUCT)
    owner = sandbox.key.name.get_secret_value()
    assert [o.client_order_id for o in sandbox.exchange.engine.orders(owner)] == [coid]  # the exchange has it

    engine = open_store(settings)
    with UnitOfWork(engine, read_only=True) as uow:
        orphan = uow.orders.get(coid)
    engine.dispose()
    assert orphan is not None
    assert orphan.status is OrderStatus.SUBMITTING  # stored before the send, never answered
    assert orphan.exchange_order_id is None

    async def resume() -> Placement:
        async with open_runtime(settings) as rt:
            rules = (await rt.exchange.product_rules([PRODUCT]))[PRODUCT]
            marks = {PRODUCT: (await rt.exchange.best_bid_ask([PRODUCT]))[PRODUCT].mid or Decimal(1)}
            return await rt.executor.place(intent_for(), key=OrderKey("restart", "test", 0), rules=rules, marks=marks)

    adopted = asyncio.run(resume())
    assert not adopted.sent  # adopted by lookup, not sent again
    assert adopted.order.status is OrderStatus.FILLED
    assert adopted.order.filled_size == intent_for().base_size
    assert [o.client_order_id for o in sandbox.exchange.engine.orders(owner)] == [coid]  # still exactly one
