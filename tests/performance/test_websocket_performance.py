"""Level2 handling speed and memory: parse + validate + apply, beside bare `json.loads` of the same frames.

Run: uv run pytest -m performance tests/performance/test_websocket_performance.py --no-cov -s
The ratios are printed and stored in each benchmark's extra_info; docs/performance.md quotes them.
"""

from __future__ import annotations

import gc
import json
import random
import time
from collections.abc import Callable

import psutil
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cryptoj.coinbase.ws_books import BookKeeper
from cryptoj.coinbase.ws_decode import FrameDecoder
from cryptoj.coinbase.ws_models import L2Message
from cryptoj.domain.book import BookSide
from tests.utils.fixtures.websocket import big_snapshot_frame, l2_event, ws_frame

pytestmark = pytest.mark.performance

SNAPSHOT_LEVELS = 2_000  # the book the update frames move (1,000 per side)


def update_frames(count: int, *, mean_levels: float = 5, seed: int = 7) -> list[bytes]:
    """Level2 update frames like real traffic: 1 to 60 levels (median about `mean_levels`), near the touch."""
    rng = random.Random(seed)
    frames = []
    for seq in range(count):
        n = min(60, max(1, int(rng.expovariate(1 / mean_levels))))
        levels = []
        for _ in range(n):
            side = rng.choice(("bid", "offer"))
            offset = rng.randint(1, 400)
            price = 50000 - offset / 100 if side == "bid" else 50000 + offset / 100
            size = "0" if rng.random() < 0.3 else f"{rng.uniform(0.001, 3):.8f}"
            levels.append((side, f"{price:.2f}", size))
        frames.append(ws_frame("l2_data", seq + 1, [l2_event("update", "BTC-USD", levels)]).encode())
    return frames


def synced_books(decoder: FrameDecoder) -> BookKeeper:
    books = BookKeeper()
    books.expect(["BTC-USD"])
    snapshot = decoder.decode(big_snapshot_frame(levels=SNAPSHOT_LEVELS))
    assert isinstance(snapshot, L2Message)
    books.apply(snapshot)
    return books


def best_of(runs: int, work: Callable[[], object], baseline: Callable[[], object]) -> tuple[float, float]:
    """The fastest of `runs` timings of `work` and of `baseline`, taken in turns so both see the same load."""
    best_work = best_base = float("inf")
    for _ in range(runs):
        for fn, is_work in ((work, True), (baseline, False)):
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
            if is_work:
                best_work = min(best_work, elapsed)
            else:
                best_base = min(best_base, elapsed)
    return best_work, best_base


def test_level2_updates_parse_validate_apply_beside_json_loads(benchmark: BenchmarkFixture) -> None:
    frames = update_frames(5_000)
    decoder = FrameDecoder()
    books = synced_books(decoder)
    decode, apply = decoder.decode, books.apply

    def handle() -> None:
        for frame in frames:
            message = decode(frame)
            apply(message)  # type: ignore[arg-type]

    def bare() -> None:
        for frame in frames:
            json.loads(frame)

    benchmark(handle)
    handled, parsed = best_of(7, handle, bare)
    ratio = handled / parsed
    benchmark.extra_info.update(
        frames_per_second=round(len(frames) / handled), json_loads_per_second=round(len(frames) / parsed), ratio=ratio
    )
    print(
        f"\nlevel2 updates: {len(frames) / handled:,.0f} frames/s handled, "
        f"{len(frames) / parsed:,.0f}/s json.loads, ratio {ratio:.2f}x"
    )
    assert books.book("BTC-USD").best_bid is not None


def test_a_46000_level_snapshot_frame_is_applied_and_compared_with_json_loads(benchmark: BenchmarkFixture) -> None:
    frame = big_snapshot_frame(levels=46_000).encode()
    decoder = FrameDecoder()

    def handle() -> BookKeeper:
        books = BookKeeper()
        books.expect(["BTC-USD"])
        books.apply(decoder.decode(frame))  # type: ignore[arg-type]
        return books

    books = benchmark(handle)
    handled, parsed = best_of(5, handle, lambda: json.loads(frame))
    ratio = handled / parsed
    benchmark.extra_info.update(apply_seconds=handled, json_loads_seconds=parsed, ratio=ratio, bytes=len(frame))
    print(
        f"\n46,000-level snapshot ({len(frame) / 1e6:.1f} MB): {handled * 1000:.0f} ms handled, "
        f"{parsed * 1000:.0f} ms json.loads, ratio {ratio:.2f}x"
    )
    assert books.book("BTC-USD").level_count(BookSide.BID) == 23_000


def test_rss_after_a_million_frames_stays_within_20_mb_of_the_start(benchmark: BenchmarkFixture) -> None:
    frames = update_frames(1_000, mean_levels=1)  # small frames keep a million of them to seconds
    decoder = FrameDecoder()
    books = synced_books(decoder)
    process = psutil.Process()

    def run(rounds: int) -> None:
        for _ in range(rounds):
            for frame in frames:
                books.apply(decoder.decode(frame))  # type: ignore[arg-type]

    run(5)  # warm up: the book reaches its working size, caches fill
    gc.collect()
    start = process.memory_info().rss
    benchmark.pedantic(run, args=(1_000,), rounds=1, iterations=1)
    gc.collect()
    grown_mb = (process.memory_info().rss - start) / 2**20
    benchmark.extra_info.update(frames=1_000_000, rss_growth_mb=grown_mb)
    print(f"\nRSS growth after 1,000,000 frames: {grown_mb:.2f} MB")
    assert grown_mb < 20


def test_why_msgspec_pydantic_validate_json_of_the_same_update_frames(benchmark: BenchmarkFixture) -> None:
    """The same frames through equivalent pydantic models (the REST models' library), for the record."""
    from decimal import Decimal
    from typing import Literal

    from pydantic import BaseModel, TypeAdapter

    class Update(BaseModel):
        side: Literal["bid", "offer"]
        event_time: str
        price_level: Decimal
        new_quantity: Decimal

    class Event(BaseModel):
        type: Literal["snapshot", "update"]
        product_id: str
        updates: list[Update]

    class Frame(BaseModel):
        channel: Literal["l2_data"]
        client_id: str = ""
        timestamp: str
        sequence_num: int
        events: list[Event]

    frames = update_frames(5_000)
    adapter = TypeAdapter(Frame)
    decoder = FrameDecoder()

    def with_pydantic() -> None:
        for frame in frames:
            adapter.validate_json(frame)

    def with_msgspec() -> None:
        for frame in frames:
            decoder.decode(frame)

    def bare() -> None:
        for frame in frames:
            json.loads(frame)

    benchmark(with_pydantic)
    pydantic_time, parsed = best_of(5, with_pydantic, bare)
    msgspec_time, parsed_again = best_of(5, with_msgspec, bare)
    parsed = min(parsed, parsed_again)
    benchmark.extra_info.update(pydantic_ratio=pydantic_time / parsed, msgspec_ratio=msgspec_time / parsed)
    print(
        f"\ndecode only, vs json.loads: pydantic validate_json {pydantic_time / parsed:.2f}x, "
        f"msgspec {msgspec_time / parsed:.2f}x"
    )


def test_the_whole_handler_over_loopback_beside_a_bare_client(benchmark: BenchmarkFixture) -> None:
    """Frames/s through WebSocketHandler (recv, sequence check, decode, books, streams) from a local server."""
    import asyncio

    from websockets.asyncio.client import connect

    from cryptoj.coinbase.websocket import WebSocketHandler
    from cryptoj.coinbase.ws_recording import ReplayServer

    count = 20_000
    # The ack that answers the handler's subscribes (it waits for one), then the snapshot and the updates.
    ack = ws_frame("subscriptions", 0, [{"subscriptions": {"heartbeats": ["heartbeats"], "level2": ["BTC-USD"]}}])
    snapshot = big_snapshot_frame(levels=SNAPSHOT_LEVELS, sequence_num=1)
    updates = [f.decode() for f in update_frames(count)][1:]  # sequence 2..count
    recording = [(0.0, ack), (0.0, snapshot), *((0.0, u) for u in updates)]

    async def through_handler() -> float:
        async with ReplayServer(recording) as server:
            handler = WebSocketHandler(url=server.url, heartbeat_timeout=60)
            handler.stream("level2", maxsize=1_000)  # a consumer that never reads: bounded, dropping
            last = asyncio.Event()

            async def watch(message: L2Message) -> None:
                if message.sequence_num == count:
                    last.set()

            loop = asyncio.get_running_loop()
            started = loop.time()
            async with handler:
                handler.on("level2", watch)  # a callback consumer; its stream keeps the newest frames
                await handler.subscribe("level2", ["BTC-USD"])
                await last.wait()
                elapsed = loop.time() - started
            assert handler.stats.sequence_gaps == 0
            return elapsed

    async def bare_client() -> float:
        async with ReplayServer(recording) as server:
            loop = asyncio.get_running_loop()
            started = loop.time()
            async with connect(server.url, max_size=None) as ws:
                await ws.send('{"type":"subscribe","channel":"level2","product_ids":["BTC-USD"]}')
                for _ in range(count + 1):
                    json.loads(await ws.recv())
            return loop.time() - started

    handled = benchmark.pedantic(lambda: asyncio.run(through_handler()), rounds=1, iterations=1)
    bare = min(asyncio.run(bare_client()) for _ in range(2))
    handled = min(handled, asyncio.run(through_handler()))
    benchmark.extra_info.update(frames_per_second=round(count / handled), bare_per_second=round(count / bare))
    print(
        f"\nover loopback: handler {count / handled:,.0f} frames/s, bare websockets client + json.loads "
        f"{count / bare:,.0f} frames/s, ratio {handled / bare:.2f}x"
    )
