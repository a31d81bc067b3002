"""The handler against replayed recordings: deterministic frames, real-traffic shapes, and bad input."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from cryptoj.coinbase.websocket import DEFAULT_MAX_SIZE, ReconnectPolicy, WebSocketHandler
from cryptoj.coinbase.ws_books import BookState
from cryptoj.coinbase.ws_errors import BookUnavailable, ReconnectExhausted, SubscriptionError
from cryptoj.coinbase.ws_models import ErrorFrame, L2Message
from cryptoj.coinbase.ws_recording import FrameRecorder, RecordingError, ReplayServer, read_recording
from cryptoj.domain.book import BookSide
from tests.utils.fixtures.websocket import (
    KEY_NAME,
    LEVEL2_ACK,
    FeedServer,
    big_snapshot_frame,
    eventually,
    heartbeat_event,
    l2_event,
    make_key,
    next_message,
    no_wait,
    opening_frames,
    ws_frame,
)

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[2] / "data" / "ws"


def replaying(frames: list[str], **options: Any) -> ReplayServer:
    return ReplayServer([(0.0, f) for f in frames], **options)


def handler_for(url: str, **options: Any) -> WebSocketHandler:
    settings: dict[str, Any] = {"heartbeat_timeout": 2.0, "ack_timeout": 2.0, "sleep": no_wait}
    settings.update(options)
    return WebSocketHandler(url=url, **settings)


async def test_a_recorded_session_replays_into_the_same_book(feed_server: FeedServer, tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    with FrameRecorder(path) as recorder:
        async with handler_for(feed_server.url, key=feed_server.source.key, recorder=recorder) as live:
            await live.subscribe("level2", ["BTC-USD"])
            await live.subscribe("ticker", ["BTC-USD"])
            await eventually(lambda: live.books.state("BTC-USD") is BookState.SYNCED and live.stats.frames >= 6)
            live_levels = list(live.books.book("BTC-USD").levels(BookSide.BID))
    text = path.read_text()
    first = json.loads(text.splitlines()[0])
    assert set(first) == {"t", "at", "frame"}
    assert first["t"] == 0.0
    assert KEY_NAME not in text
    assert '"jwt"' not in text  # only received frames are recorded
    async with ReplayServer(read_recording(path)) as server, handler_for(server.url) as replayed:
        await replayed.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: replayed.books.state("BTC-USD") is BookState.SYNCED)
        assert list(replayed.books.book("BTC-USD").levels(BookSide.BID)) == live_levels
    assert server.received[0]["type"] == "subscribe"


async def test_the_committed_sandbox_recording_decodes_every_frame_without_gaps() -> None:
    frames = read_recording(DATA / "sandbox_btc_eth_session.jsonl")
    channels = ("ticker", "ticker_batch", "market_trades", "candles", "status", "heartbeats", "user")
    async with ReplayServer(frames) as server, handler_for(server.url) as handler:
        streams = {c: handler.stream(c) for c in channels}
        orders = handler.order_events()
        await handler.subscribe("level2", ["BTC-USD", "ETH-USD"])
        await eventually(lambda: handler.stats.frames == len(frames))
        for stream in streams.values():
            await next_message(stream, lambda m: True)
        fill = await next_message(orders, lambda e: e.new_fill is not None)
        assert (fill.order_id, fill.new_fill.size) == ("o1", Decimal("1"))
        assert handler.stats.decode_errors == 0
        assert handler.stats.sequence_gaps == 0
        assert handler.books.book("ETH-USD").best_ask is not None
        assert not handler.books.book("BTC-USD").is_crossed


async def test_fact_01_interleaved_channels_share_one_counter_and_raise_no_false_gap() -> None:
    frames = opening_frames()
    frames += [
        ws_frame("heartbeats", 3, [heartbeat_event(2)]),
        ws_frame("l2_data", 4, [l2_event("update", "BTC-USD", [("bid", "100", "3")])]),
        ws_frame("heartbeats", 5, [heartbeat_event(3)]),
        ws_frame("l2_data", 6, [l2_event("update", "BTC-USD", [("offer", "101", "0"), ("offer", "102", "2")])]),
    ]
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.frames == len(frames))
        book = handler.books.book("BTC-USD")
    assert handler.stats.sequence_gaps == 0
    assert book.best_bid == (Decimal("100"), Decimal("3"))
    assert book.best_ask == (Decimal("102"), Decimal("2"))


async def test_fact_01_a_gap_on_another_channel_resyncs_level2() -> None:
    frames = [*opening_frames(), ws_frame("heartbeats", 4, [heartbeat_event(2)])]  # 3 never came
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.sequence_gaps == 1)
        with pytest.raises(BookUnavailable, match="awaiting snapshot"):
            handler.books.book("BTC-USD")
        await eventually(lambda: any(m.get("type") == "unsubscribe" for m in server.received))
    kinds = [(m["type"], m["channel"]) for m in server.received]
    assert kinds[-2:] == [("unsubscribe", "level2"), ("subscribe", "level2")]
    assert handler.stats.resyncs == 1


async def test_a_crossing_update_resyncs_instead_of_serving_a_crossed_book() -> None:
    frames = [*opening_frames(), ws_frame("l2_data", 3, [l2_event("update", "BTC-USD", [("bid", "105", "1")])])]
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.resyncs == 1)
        with pytest.raises(BookUnavailable):
            handler.books.book("BTC-USD")
    assert handler.stats.sequence_gaps == 0


async def test_fact_04_a_46000_level_snapshot_in_one_5_mb_frame_is_applied() -> None:
    big = big_snapshot_frame(sequence_num=1)
    assert len(big) > 5_000_000
    assert DEFAULT_MAX_SIZE >= 16 * 1024 * 1024
    frames = [ws_frame("subscriptions", 0, [LEVEL2_ACK]), big, ws_frame("heartbeats", 2, [heartbeat_event(1)])]
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.frames == 3, within=10)
        book = handler.books.book("BTC-USD")
    assert book.level_count(BookSide.BID) == 23_000
    assert book.level_count(BookSide.ASK) == 23_000
    assert handler.stats.connects == 1


async def test_fact_04_with_the_1_mib_default_the_snapshot_frame_kills_the_connection() -> None:
    frames = [ws_frame("subscriptions", 0, [LEVEL2_ACK]), big_snapshot_frame(sequence_num=1)]
    async with replaying(frames) as server:
        handler = handler_for(server.url, max_size=2**20, reconnect=ReconnectPolicy(max_attempts=1))
        subscribing = asyncio.create_task(handler.subscribe("level2", ["BTC-USD"]))
        with pytest.raises(ReconnectExhausted) as caught:
            await handler.run()
        await asyncio.gather(subscribing, return_exceptions=True)
    assert "1009" in caught.value.last_error  # "message too big"
    assert handler.books.state("BTC-USD") is not BookState.SYNCED


async def test_a_connection_that_stayed_up_resets_the_run_of_failures() -> None:
    class Jumping:
        """A monotonic clock that moves 11 s on every reading: each connection outlives stable_after."""

        def __init__(self) -> None:
            self.now = 0.0

        def __call__(self) -> float:
            self.now += 11.0
            return self.now

    policy = ReconnectPolicy(max_attempts=2, stable_after=10.0)
    async with replaying(opening_frames(), close_after=True) as server:
        handler = handler_for(server.url, reconnect=policy, clock=Jumping())
        task = handler.start()
        await eventually(lambda: server.connections >= 4)
        assert not task.done()
        assert await handler.close() is None


async def test_exhausted_reconnects_surface_from_the_context_manager() -> None:
    with pytest.raises(ReconnectExhausted):
        async with handler_for("ws://127.0.0.1:9", reconnect=ReconnectPolicy(max_attempts=2)) as handler:
            await eventually(lambda: handler._run_task is not None and handler._run_task.done())


async def test_undecodable_frames_are_counted_and_skipped() -> None:
    frames = [
        *opening_frames()[:2],
        "garbage",
        '{"channel":"mystery"}',
        ws_frame("heartbeats", 2, [heartbeat_event(1)]),
    ]
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.frames == 5)
        assert handler.books.book("BTC-USD").best_bid is not None
    assert handler.stats.decode_errors == 2
    assert handler.stats.connects == 1


async def test_out_of_order_frames_are_dropped() -> None:
    stale = ws_frame("l2_data", 1, [l2_event("update", "BTC-USD", [("bid", "100", "9")])])
    frames = [*opening_frames(), stale]
    async with replaying(frames) as server, handler_for(server.url) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.frames == 4)
        assert handler.books.book("BTC-USD").best_bid == (Decimal("100"), Decimal("1"))
    assert handler.stats.out_of_order == 1


async def test_an_unsolicited_error_frame_is_counted_and_published() -> None:
    frames = [*opening_frames(), '{"type":"error","message":"authentication failure"}']
    async with replaying(frames) as server, handler_for(server.url) as handler:
        errors = handler.stream("error")
        message = await next_message(errors, lambda m: True)
    assert message == ErrorFrame(type="error", message="authentication failure")
    assert handler.stats.error_frames == 1


async def test_a_server_close_is_followed_by_a_reconnect_and_resubscribe() -> None:
    # Each connection closes (code 1000) 0.2 s after its opening frames, so each counts against the cap:
    # allow plenty. Every new connection brings the book back from its own snapshot.
    ack, snapshot, heartbeat = opening_frames()
    recording = [(0.0, ack), (0.0, snapshot), (0.2, heartbeat)]
    policy = ReconnectPolicy(max_attempts=1000)
    async with (
        ReplayServer(recording, speed=1.0, close_after=True) as server,
        handler_for(server.url, reconnect=policy) as handler,
    ):
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.connects >= 3 and handler.books.snapshots >= 3)
    assert handler.subscriptions["level2"] == frozenset({"BTC-USD"})
    assert [m["channel"] for m in server.received].count("heartbeats") >= 3


async def test_the_replayer_closes_a_client_that_never_subscribes() -> None:
    async with replaying(opening_frames(), subscribe_timeout=0.05) as server, connect(server.url) as ws:
        with pytest.raises(ConnectionClosed) as caught:
            await asyncio.wait_for(ws.recv(), 3)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1008


async def test_the_replayer_keeps_recorded_pacing_when_asked() -> None:
    frames = [
        (0.0, ws_frame("heartbeats", 0, [heartbeat_event(1)])),
        (0.2, ws_frame("heartbeats", 1, [heartbeat_event(2)])),
    ]
    loop = asyncio.get_running_loop()
    async with ReplayServer(frames, speed=1.0) as server, connect(server.url) as ws:
        await ws.send('{"type":"subscribe","channel":"heartbeats"}')
        await ws.recv()
        started = loop.time()
        await ws.recv()
    assert loop.time() - started >= 0.15


def test_a_malformed_recording_line_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"t": 0, "frame": "{}"}\n\n{"frame": 1}\n')
    with pytest.raises(RecordingError, match="line 3"):
        read_recording(path)


def test_l2_messages_are_what_the_committed_recording_holds() -> None:
    frames = read_recording(DATA / "sandbox_btc_eth_session.jsonl")
    from cryptoj.coinbase.ws_decode import FrameDecoder

    decoder = FrameDecoder()
    kinds = {type(decoder.decode(frame)).__name__ for _, frame in frames}
    assert {"L2Message", "HeartbeatsMessage", "SubscriptionsMessage", "TickerMessage"} <= kinds
    assert L2Message.__name__ in kinds


async def test_every_subscribe_carries_a_jwt_when_a_key_is_set_and_none_reaches_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The recording answers only the heartbeats subscribe: the others are sent, go unanswered and time out.
    frames = [ws_frame("subscriptions", 0, [{"subscriptions": {"heartbeats": ["heartbeats"]}}])]
    async with replaying(frames) as server, handler_for(server.url, key=make_key(), ack_timeout=0.2) as handler:
        for channel, products in (("level2", ["BTC-USD"]), ("user", [])):
            with pytest.raises(SubscriptionError, match="no answer"):
                await handler.subscribe(channel, products)
    assert [(m["channel"], m["jwt"]) for m in server.received] == [
        ("heartbeats", "<redacted>"),
        ("level2", "<redacted>"),
        ("user", "<redacted>"),
    ]
    assert "eyJ" not in caplog.text  # no JWT (base64 JSON header) in any log line


async def test_a_subscribe_the_server_never_answers_raises_after_the_ack_timeout() -> None:
    async with replaying(opening_frames()) as server, handler_for(server.url, ack_timeout=0.2) as handler:
        await handler.wait_connected()
        with pytest.raises(SubscriptionError, match=r"no answer within 0\.2 s"):
            await handler.subscribe("ticker", ["BTC-USD"])
        assert "ticker" not in handler.subscriptions


async def test_a_malformed_url_is_a_configuration_error() -> None:
    from cryptoj.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="bad WebSocket URL"):
        await WebSocketHandler(url="http//nowhere").run()
