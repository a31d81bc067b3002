"""Order execution timing (issue 19): from the signal to the request on the wire, and to the stored fill.

The signal is the moment an intent is handed to the executor (`OrderExecutor.place`, which
`TradingService.place` calls with the product's stored rules). Each placement is a market IOC buy or sell of
0.001 BTC (alternating, so the account stays flat) against the in-process sandbox on loopback, through
`open_runtime`'s real parts: SQLite store, risk checks, the client with its real request budget (30/s
private), and `RecordingTransport` under the client, which notes when each request is written.

- Live on the sandbox: "on the wire" is when `POST /orders` is written; the stored fill is when `place`
  returns, the order and its fills read back over REST and committed.
- Paper: nothing is sent. The equivalent of the create is the book read the fill is priced on (`GET
  /product_book`, the last one before the fill): the moment the order meets the market. The stored fill is
  when `place` returns (the fill and positions committed with the order).

Before the send both modes commit the intent durably (the write that makes a crash after the send
recoverable); live also reads the balances for the risk check. Placements are spaced by 0.25 s so the
client's budget is not what is measured (a cycle places a few orders, not a stream).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cryptoj.domain.orders import OrderStatus
from cryptoj.domain.side import Side
from cryptoj.services.executor import OrderKey, Outcome
from cryptoj.services.runtime import open_runtime
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.fixtures.services import NO_RISK_LIMITS, market, service_settings
from tests.utils.helpers.wire import RecordingTransport, median_p95

pytestmark = pytest.mark.performance

SPACING = 0.25  # seconds between placements


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


@pytest.mark.parametrize("execution", ["paper", "live"])
def test_signal_to_wire_and_to_stored_fill(
    benchmark: BenchmarkFixture, sandbox: SandboxHandle, tmp_path: Path, execution: str
) -> None:
    transport = RecordingTransport()
    settings = service_settings(tmp_path, sandbox, execution=execution, paper_cash={"USD": "100000"}, **NO_RISK_LIMITS)
    wire_path = "/orders" if execution == "live" else "/product_book"
    wire_method = "POST" if execution == "live" else "GET"
    to_wire: list[float] = []
    to_fill: list[float] = []
    sequence: list[str] = []  # the requests of the last placement, in order
    loop = asyncio.new_event_loop()
    runtime = open_runtime(settings, transport=transport)
    rt = loop.run_until_complete(runtime.__aenter__())
    try:
        rules = loop.run_until_complete(rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        mid = loop.run_until_complete(rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].mid
        assert mid is not None
        marks = {"BTC-USD": mid}
        count = iter(range(10_000))

        def place() -> None:
            index = next(count)
            side = Side.BUY if index % 2 == 0 else Side.SELL
            intent = market(side=side, size="0.001")
            signal = time.perf_counter()
            placed = loop.run_until_complete(
                rt.executor.place(intent, key=OrderKey("bench", execution, index), rules=rules, marks=marks)
            )
            stored = time.perf_counter()
            assert placed.outcome is Outcome.ACCEPTED, placed.order.reason
            assert placed.order.status is OrderStatus.FILLED
            assert placed.new_fills
            wire = [e for e in transport.matching(wire_method, wire_path) if e.sent >= signal]
            # Live: the one create. Paper: the last book read, which the fill was priced on.
            assert len(wire) == 1 if execution == "live" else len(wire) >= 1
            sequence[:] = [
                f"{e.method} {e.path.removeprefix('/api/v3/brokerage')}"
                for e in transport.exchanges
                if e.sent >= signal
            ]
            to_wire.append(wire[-1].sent - signal)
            to_fill.append(stored - signal)

        place()  # warm up: the paper fee tier is read once, connections open, the store's first writes
        to_wire.clear()
        to_fill.clear()
        rounds = 2 if benchmark.disabled else 40
        benchmark.pedantic(place, setup=lambda: time.sleep(SPACING), rounds=rounds)
    finally:
        loop.run_until_complete(runtime.__aexit__(None, None, None))
        loop.close()
    (wire_median, wire_p95), (fill_median, fill_p95) = median_p95(to_wire), median_p95(to_fill)
    benchmark.extra_info.update(
        mode=execution,
        wire_is=f"{wire_method} {wire_path}",
        signal_to_wire_median_ms=ms(wire_median),
        signal_to_wire_p95_ms=ms(wire_p95),
        signal_to_stored_fill_median_ms=ms(fill_median),
        signal_to_stored_fill_p95_ms=ms(fill_p95),
        placements=len(to_fill),
        requests_of_a_placement=sequence,
    )
    print(
        f"\n{execution}: signal to {wire_method} {wire_path} {wire_median * 1000:.1f} ms median, "
        f"{wire_p95 * 1000:.1f} ms p95; signal to stored fill {fill_median * 1000:.1f} ms median, "
        f"{fill_p95 * 1000:.1f} ms p95 ({len(to_fill)} placements); requests: {', '.join(sequence)}"
    )
    assert all(wire <= fill for wire, fill in zip(to_wire, to_fill, strict=True))
