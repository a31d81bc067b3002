"""Recovery on a live connection, pinned by replayed frames: frames that fail to decode, snapshots that never come."""

from __future__ import annotations

from typing import Any

import pytest

from cryptoj.coinbase.websocket import WebSocketHandler
from cryptoj.coinbase.ws_recording import ReplayServer
from tests.utils.fixtures.websocket import (
    eventually,
    heartbeat_event,
    l2_event,
    no_wait,
    opening_frames,
    synced,
    ws_frame,
)

pytestmark = pytest.mark.integration


def replaying(frames: list[str]) -> ReplayServer:
    return ReplayServer([(0.0, f) for f in frames])


def handler_for(url: str, **options: Any) -> WebSocketHandler:
    settings: dict[str, Any] = {"heartbeat_timeout": 30.0, "ack_timeout": 2.0, "sleep": no_wait}
    settings.update(options)
    return WebSocketHandler(url=url, **settings)


def level2_requests(server: ReplayServer) -> list[str]:
    return [m["type"] for m in server.received if m.get("channel") == "level2"]


# --- a frame's sequence number counts whether or not its body decodes -------------------------------------


async def test_a_frame_whose_body_fails_to_decode_still_counts_its_sequence_number() -> None:
    ticker = {"type": "ticker", "product_id": "BTC-USD", "price": "not a price"}
    ticker |= {"volume_24_h": "1", "low_24_h": "1", "high_24_h": "2"}
    frames = [
        *opening_frames(),
        ws_frame("ticker", 3, [{"type": "update", "tickers": [ticker]}]),
        ws_frame("heartbeats", 4, [heartbeat_event(2)]),
    ]
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.frames == len(frames))
        assert synced(handler, "BTC-USD")  # no false gap withdrew the book
    assert handler.stats.decode_errors == 1
    assert handler.stats.sequence_gaps == 0
    assert handler.stats.resyncs == 0
    assert level2_requests(server) == []  # nothing but the heartbeats subscribe went out


async def test_a_level2_frame_that_fails_to_decode_resyncs_its_book_without_a_gap() -> None:
    # The update is lost, so the book is stale: it is withdrawn and asked for afresh, and only it.
    frames = [
        *opening_frames(),
        ws_frame("l2_data", 3, [l2_event("update", "BTC-USD", [("bid", "abc", "1")])]),
        ws_frame("heartbeats", 4, [heartbeat_event(2)]),
    ]
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.frames == len(frames) and handler.stats.resyncs == 1)
        assert not synced(handler, "BTC-USD")
        await eventually(lambda: level2_requests(server) == ["unsubscribe", "subscribe"])
    assert handler.stats.sequence_gaps == 0
    assert server.received[-1]["product_ids"] == ["BTC-USD"]


async def test_a_refused_frame_with_a_stale_sequence_number_is_dropped_like_any_stale_frame() -> None:
    frames = [
        *opening_frames(),
        ws_frame("l2_data", 1, [l2_event("update", "BTC-USD", [("bid", "abc", "1")])]),  # stale and unreadable
        ws_frame("heartbeats", 3, [heartbeat_event(2)]),
    ]
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.frames == len(frames))
        assert synced(handler, "BTC-USD")
    assert (handler.stats.out_of_order, handler.stats.sequence_gaps, handler.stats.resyncs) == (1, 0, 0)


# --- a resync that no snapshot answers is asked again, then the connection is replaced ---------------------


async def test_a_resync_that_no_snapshot_answers_is_retried_then_the_connection_is_replaced() -> None:
    frames = [*opening_frames(), ws_frame("heartbeats", 4, [heartbeat_event(2)])]  # 3 never came; nor will a snapshot
    async with replaying(frames) as server, handler_for(server.url, snapshot_timeout=0.2) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.connects >= 2, within=5)
    first_connection = server.received[: [m["channel"] for m in server.received].index("heartbeats", 1)]
    assert [(m["type"], m["channel"]) for m in first_connection] == [
        ("subscribe", "heartbeats"),
        ("unsubscribe", "level2"),
        ("subscribe", "level2"),  # the resync
        ("unsubscribe", "level2"),
        ("subscribe", "level2"),  # asked once more after the timeout
    ]
    assert handler.stats.snapshot_timeouts >= 1
    assert handler.stats.heartbeat_timeouts == 0


async def test_a_resync_answered_by_its_snapshot_is_no_longer_waited_for() -> None:
    snapshot = l2_event("snapshot", "BTC-USD", [("bid", "100", "2"), ("offer", "101", "2")])
    frames = [*opening_frames(), ws_frame("heartbeats", 4, [heartbeat_event(2)]), ws_frame("l2_data", 5, [snapshot])]
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.frames == len(frames) and synced(handler, "BTC-USD"))
        assert handler._snapshots.next_due() is None  # no deadline left to ask again or give up at
    assert handler.stats.resyncs == 1
    assert level2_requests(server) == ["unsubscribe", "subscribe"]
