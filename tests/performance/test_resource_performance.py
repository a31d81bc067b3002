"""Resource use (issue 19): peak memory, CPU time and bytes on the network of one paper trading cycle, and of
an hour of streamed market data.

Memory is measured twice over: `tracemalloc`'s peak of what Python allocated during the run (in a second run
of its own, as tracing slows Python several times over), and the growth of the process's resident set
(RSS, psutil) across the untraced run. CPU is the process's time (`time.process_time`: every thread).
Bytes are counted at `ByteRelay`, a TCP relay between the code under test and its server, both ways, as the
sockets carry them.

- The cycle: `flows.trading.trading_cycle` under the session's Prefect harness (its server up before), on
  paper, over the default products (BTC-USD, ETH-USD), against a sandbox in its own process (so its work is
  not in our CPU or memory), an hour of candles already stored, rebalancing weights that make both trade.
  The Prefect API's own traffic (to the harness's server) is not counted: only the exchange's.
- The stream: `WebSocketHandler` subscribed to level2 for BTC-USD and ETH-USD, fed by the in-process
  `ReplayServer` through the relay. The frames are a replay of the real shape (`tests.utils.fixtures.level2`:
  the 2026 recording's snapshots, 46,000 and 23,328 levels, then updates of 1 to 60 levels every 1 to 60 ms,
  about 33 a second), plus a heartbeat for each second of the frames' own clock: 118,000 updates are one hour
  and five seconds of that traffic, compressed in time (sent as fast as the handler takes them). The replay
  server shares the process: its CPU (sending, permessage-deflate) is in the figure. A run with
  --benchmark-disable streams a minute.
"""

from __future__ import annotations

import asyncio
import gc
import re
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.websocket import WebSocketHandler
from cryptoj.coinbase.ws_models import L2Message
from cryptoj.coinbase.ws_policy import HandlerStats
from cryptoj.coinbase.ws_recording import ReplayServer
from cryptoj.config import Settings
from tests.utils.fixtures import level2
from tests.utils.fixtures.sandbox import sandbox_process
from tests.utils.fixtures.websocket import heartbeat_event, ws_frame
from tests.utils.helpers.wire import ByteRelay

pytestmark = pytest.mark.performance

HOUR_OF_UPDATES = 118_000  # at 1 to 60 ms apart: 1 h 0 min 5 s of the frames' own time
MINUTE_OF_UPDATES = 1_970
MB = 2**20


@dataclass
class Usage:
    """What one run took."""

    seconds: float  # wall
    cpu_seconds: float
    rss_growth_mb: float
    bytes_up: int
    bytes_down: int
    traced_peak_mb: float = 0.0


def measure(run: Callable[[], object], relay: ByteRelay) -> Usage:
    """Run once untraced (wall, CPU, RSS growth, bytes), then once under tracemalloc (its peak)."""
    process = psutil.Process()
    gc.collect()
    rss, cpu, started = process.memory_info().rss, time.process_time(), time.perf_counter()
    relay.reset()
    run()
    usage = Usage(
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu,
        rss_growth_mb=(process.memory_info().rss - rss) / MB,
        bytes_up=relay.up,
        bytes_down=relay.down,
    )
    gc.collect()
    tracemalloc.start()
    try:
        run()
        usage.traced_peak_mb = tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()
    return usage


def record(benchmark: BenchmarkFixture, usage: Usage, **more: Any) -> None:
    benchmark.extra_info.update(
        wall_seconds=round(usage.seconds, 2),
        cpu_seconds=round(usage.cpu_seconds, 2),
        rss_growth_mb=round(usage.rss_growth_mb, 1),
        tracemalloc_peak_mb=round(usage.traced_peak_mb, 1),
        bytes_up=usage.bytes_up,
        bytes_down=usage.bytes_down,
        **more,
    )


# --- an hour of streaming ---------------------------------------------------------------------------------

_SEQUENCE = re.compile(rb'"sequence_num":\d+')
_SECOND = re.compile(rb'"timestamp":"[^"]*T(\d\d):(\d\d):(\d\d)')


def stream(updates: int) -> tuple[list[tuple[float, str]], int]:
    """The replay: an ack, both snapshots, `updates` update frames and a heartbeat each second; (frames, last
    sequence number). One sequence counter across channels, as Coinbase's."""
    snapshots, frames = level2.update_frames((level2.BTC_USD, level2.ETH_USD), count=updates, seed=18)
    ack = {"subscriptions": {"heartbeats": ["heartbeats"], "level2": ["BTC-USD", "ETH-USD"]}}
    out = [ws_frame("subscriptions", 0, [ack])]
    sequence, second, beats = 0, None, 0
    for frame in [*snapshots, *frames]:
        found = _SECOND.search(frame)
        assert found is not None
        now = found.groups()
        if second is not None and now != second:
            beats += 1
            sequence += 1
            out.append(ws_frame("heartbeats", sequence, [heartbeat_event(beats)]))
        second = now
        sequence += 1
        out.append(_SEQUENCE.sub(b'"sequence_num":%d' % sequence, frame, count=1).decode())
    return [(0.0, text) for text in out], sequence


@pytest.fixture(scope="module")
def hour_of_frames() -> tuple[list[tuple[float, str]], int]:
    return stream(HOUR_OF_UPDATES)


@contextmanager
def replay_server(recording: list[tuple[float, str]]) -> Iterator[int]:
    """`ReplayServer` on a loop in its own thread (the handler's runs in the test's); yields its port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="replay-server", daemon=True)
    thread.start()
    server = ReplayServer(recording)
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(30)
    try:
        yield int(server.url.rsplit(":", 1)[1])
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def test_an_hour_of_level2_streaming(benchmark: BenchmarkFixture, request: pytest.FixtureRequest) -> None:
    if benchmark.disabled:
        recording, last = stream(MINUTE_OF_UPDATES)  # CI checks that it works: a minute
    else:
        recording, last = request.getfixturevalue("hour_of_frames")
    stats: list[HandlerStats] = []

    async def consume(port: int) -> None:
        handler = WebSocketHandler(url=f"ws://127.0.0.1:{port}", heartbeat_timeout=60)
        handler.stream("level2", maxsize=1_000)  # a consumer that never reads: bounded, dropping
        done = asyncio.Event()

        async def watch(message: L2Message) -> None:
            if message.sequence_num == last:
                done.set()

        async with handler:
            handler.on("level2", watch)
            await handler.subscribe("level2", ["BTC-USD", "ETH-USD"])
            await done.wait()
            stats.append(handler.stats)

    with replay_server(recording) as port, ByteRelay(port) as relay:
        usage = measure(lambda: asyncio.run(consume(relay.port)), relay)
    benchmark.pedantic(lambda: None, rounds=1)  # the figures are the measured runs above
    frames = len(recording)
    # Under tracemalloc the handler can fall 20 s behind the replay server's keepalive ping, which then drops
    # the connection (the handler reconnects and is sent everything again): noted, not failed.
    connects = [s.connects for s in stats]
    record(benchmark, usage, frames=frames, frames_per_second=round(frames / usage.seconds), connects=connects)
    print(
        f"\nstreamed {frames:,} frames ({frames / usage.seconds:,.0f}/s): CPU {usage.cpu_seconds:.1f} s, wall "
        f"{usage.seconds:.1f} s, RSS +{usage.rss_growth_mb:.1f} MB, tracemalloc peak {usage.traced_peak_mb:.1f} MB, "
        f"bytes in {usage.bytes_down / MB:.1f} MB, out {usage.bytes_up:,}"
    )
    assert connects[0] == 1  # the measured run: one connection, every frame handled in order
    assert (stats[0].sequence_gaps, stats[0].resyncs, stats[0].decode_errors) == (0, 0, 0)
    assert stats[0].frames >= frames


# --- one trading cycle ------------------------------------------------------------------------------------


def test_one_paper_trading_cycle_over_the_default_products(
    benchmark: BenchmarkFixture,
    prefect_harness: None,
    sandbox_key: tuple[CdpKey, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.market_data import market_data
    from flows.trading import trading_cycle

    products = Settings().products  # the defaults a new user has
    with sandbox_process(sandbox_key[1], tmp_path) as url, ByteRelay(int(url.rsplit(":", 1)[1])) as relay:
        monkeypatch.setenv("CRYPTOJ_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("CRYPTOJ_REST_URL", f"http://127.0.0.1:{relay.port}")
        monkeypatch.setenv("CRYPTOJ_API_KEY_FILE", str(sandbox_key[1]))
        monkeypatch.setenv("CRYPTOJ_STRATEGY", "rebalance")
        monkeypatch.setenv("CRYPTOJ_PAPER_CASH", '{"USD": "1000000"}')
        for name in ("MAX_ORDER_NOTIONAL", "MAX_POSITION_NOTIONAL", "MAX_GROSS_EXPOSURE", "MAX_ORDERS_PER_MINUTE"):
            monkeypatch.setenv(f"CRYPTOJ_RISK_{name}", "")
        weights = iter(["0.04", "0.08"] * 10)
        keys = iter(range(100))
        summaries: list[dict[str, Any]] = []
        loop = asyncio.new_event_loop()

        def cycle() -> None:
            # Each cycle's weights differ from the last's by far more than the band: every product trades.
            weight = next(weights)
            monkeypatch.setenv(
                "CRYPTOJ_REBALANCE_WEIGHTS", "{" + ",".join(f'"{p}": "{weight}"' for p in products) + "}"
            )
            summaries.append(loop.run_until_complete(trading_cycle(key=f"resources-{next(keys)}")))

        try:
            loop.run_until_complete(market_data(lookback_minutes=60))  # the store holds history, as when running
            cycle()  # warm up: imports, connections, the fee tier, the store's first writes
            usage = measure(cycle, relay)
        finally:
            loop.close()
    benchmark.pedantic(lambda: None, rounds=1)  # the figures are the measured runs above
    record(benchmark, usage, products=products)
    print(
        f"\none paper cycle over {', '.join(products)}: CPU {usage.cpu_seconds:.2f} s, wall {usage.seconds:.2f} s, "
        f"RSS +{usage.rss_growth_mb:.1f} MB, tracemalloc peak {usage.traced_peak_mb:.1f} MB, bytes to the exchange "
        f"{usage.bytes_up:,}, from it {usage.bytes_down:,}"
    )
    for summary in summaries:
        assert [row["outcome"] for row in summary["orders"]] == ["accepted"] * len(products)
