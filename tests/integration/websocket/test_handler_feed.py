"""The handler against the real sandbox feed (serve_feed) over loopback, fed by a small fake exchange."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from cryptoj.coinbase.websocket import ReconnectPolicy, WebSocketHandler
from cryptoj.coinbase.ws_errors import BookUnavailable, ReconnectExhausted, SubscriptionError
from cryptoj.coinbase.ws_models import (
    CandlesMessage,
    HeartbeatsMessage,
    MarketTradesMessage,
    StatusMessage,
    TickerBatchMessage,
    TickerMessage,
)
from cryptoj.coinbase.ws_streams import OverflowPolicy
from cryptoj.domain.book import BookSide
from cryptoj.domain.orders import OrderStatus
from cryptoj.errors import ConfigurationError
from cryptoj.sandbox.events import BookChanged, OrderUpdated
from tests.utils.fixtures.websocket import (
    FIXED_NOW,
    KEY_NAME,
    FeedServer,
    eventually,
    first_of_each,
    make_key,
    next_message,
    no_wait,
    synced,
    user_order,
)

pytestmark = pytest.mark.integration


def handler_for(server: FeedServer, **options: Any) -> WebSocketHandler:
    settings: dict[str, Any] = {"heartbeat_timeout": 2.0, "ack_timeout": 2.0, "sleep": no_wait}
    settings.update(options)
    return WebSocketHandler(url=server.url, **settings)


async def test_level2_snapshot_builds_the_book_and_updates_move_it(feed_server: FeedServer) -> None:
    async with handler_for(feed_server) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: synced(handler, "BTC-USD"))
        book = handler.books.book("BTC-USD")
        assert book.best_bid is not None
        assert book.best_bid.price == Decimal("49999.99")
        assert book.level_count(BookSide.ASK) == 50
        stream = handler.stream("level2")
        feed_server.source.hub.publish(
            BookChanged("BTC-USD", ((BookSide.BID, Decimal("49999.99"), Decimal("0")),), FIXED_NOW)
        )
        await next_message(stream, lambda m: m.events[0].type == "update")
        best = handler.books.book("BTC-USD").best_bid
        assert best is not None
        assert best.price == Decimal("49999.98")


async def test_every_public_channel_arrives_as_typed_messages(feed_server: FeedServer) -> None:
    expected = {
        "heartbeats": HeartbeatsMessage,
        "ticker": TickerMessage,
        "ticker_batch": TickerBatchMessage,
        "market_trades": MarketTradesMessage,
        "candles": CandlesMessage,
        "status": StatusMessage,
    }
    async with handler_for(feed_server) as handler:
        received = await first_of_each(handler, list(expected), "ETH-USD")
    for channel, message in received.items():
        assert isinstance(message, expected[channel])
    ticker = received["ticker"].events[0].tickers[0]
    assert ticker.best_ask == Decimal("3000.01")
    assert received["ticker_batch"].events[0].tickers[0].best_ask is None
    assert received["status"].events[0].products[0].id == "ETH-USD"
    assert handler.server_subscriptions["ticker"] == frozenset({"ETH-USD"})


async def test_fact_09_a_refused_subscription_raises_a_typed_error_and_is_not_kept(feed_server: FeedServer) -> None:
    async with handler_for(feed_server) as handler:
        await handler.wait_connected()
        with pytest.raises(SubscriptionError, match="authentication failure") as caught:
            await handler.subscribe("not_a_channel", ["BTC-USD"])
        assert caught.value.channel == "not_a_channel"
        assert "not_a_channel" not in handler.subscriptions


async def test_a_refused_level2_product_is_dropped_and_the_synced_books_stay(feed_server: FeedServer) -> None:
    async with handler_for(feed_server) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: synced(handler, "BTC-USD"))
        with pytest.raises(SubscriptionError, match="unknown product"):
            await handler.subscribe("level2", ["NOPE-USD"])
        assert handler.books.state("NOPE-USD") is None  # no book waits forever for a snapshot
        assert handler.subscriptions["level2"] == frozenset({"BTC-USD"})  # nor is it resubscribed later
        assert synced(handler, "BTC-USD")


async def test_fact_09_a_bad_jwt_raises_subscription_error(feed_server: FeedServer) -> None:
    # A key the exchange does not know: even the heartbeats subscribe (signed like every other) is refused.
    handler = handler_for(feed_server, key=make_key())
    handler.start()
    with pytest.raises(SubscriptionError, match="authentication failure") as caught:
        await handler.wait_connected()
    assert caught.value.channel == "heartbeats"
    assert await handler.close() is caught.value


async def test_user_channel_without_a_key_is_a_configuration_error(feed_server: FeedServer) -> None:
    handler = handler_for(feed_server)
    with pytest.raises(ConfigurationError):
        await handler.subscribe("user")


async def test_sequence_gap_resyncs_level2_with_a_fresh_snapshot(feed_server: FeedServer) -> None:
    # That the book is withheld between the gap and the fresh snapshot is pinned deterministically by
    # test_replay.py::test_fact_01_a_gap_on_another_channel_resyncs_level2; here the real feed answers.
    source = feed_server.source
    async with handler_for(feed_server) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: synced(handler, "BTC-USD"))
        snapshots = handler.books.snapshots
        source.faults["sequence_gap"] = [source.checks.get("sequence_gap", 0) + 1]
        source.hub.publish(BookChanged("BTC-USD", ((BookSide.BID, Decimal("49999.99"), Decimal("2")),), FIXED_NOW))
        await eventually(lambda: handler.stats.sequence_gaps == 1)
        await eventually(lambda: handler.books.snapshots > snapshots and synced(handler, "BTC-USD"))
        book = handler.books.book("BTC-USD")
        assert handler.stats.resyncs == 1
        assert not book.is_crossed
        assert book.size_at(BookSide.BID, Decimal("49999.99")) == Decimal("0.5")  # the exchange's book, afresh


async def test_reconnects_after_a_drop_and_resubscribes_everything(feed_server: FeedServer) -> None:
    source = feed_server.source
    async with handler_for(feed_server) as handler:
        await handler.subscribe("level2", ["ETH-USD"])
        await handler.subscribe("ticker", ["BTC-USD"])
        await eventually(lambda: synced(handler, "ETH-USD"))
        source.faults["drop"] = [source.checks.get("drop", 0) + 1]
        await eventually(lambda: handler.stats.connects == 2 and synced(handler, "ETH-USD"))
        await eventually(lambda: set(handler.server_subscriptions) == {"heartbeats", "level2", "ticker"})
    assert feed_server.connections == 2


async def test_a_disconnected_book_is_not_served(feed_server: FeedServer) -> None:
    source = feed_server.source
    policy = ReconnectPolicy(base_delay=10.0, max_attempts=3)
    waits: list[float] = []
    reconnect_gate = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        waits.append(seconds)
        await reconnect_gate.wait()

    async with handler_for(feed_server, reconnect=policy, sleep=held_sleep) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: synced(handler, "BTC-USD"))
        source.faults["drop"] = [source.checks.get("drop", 0) + 1]
        await eventually(lambda: bool(waits))
        with pytest.raises(BookUnavailable, match="disconnected"):
            handler.books.book("BTC-USD")
        reconnect_gate.set()
        await eventually(lambda: synced(handler, "BTC-USD"))
    assert 5.0 <= waits[0] <= 10.0  # the first wait: base delay with up to half of it as jitter


async def test_reconnect_gives_up_after_the_cap_with_a_typed_error() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    handler = WebSocketHandler(
        url="ws://127.0.0.1:9",  # discard port: nothing listens, every attempt is refused
        reconnect=ReconnectPolicy(base_delay=1.0, max_delay=4.0, max_attempts=4, jitter=0.0),
        sleep=record,
    )
    with pytest.raises(ReconnectExhausted) as caught:
        await handler.run()
    assert caught.value.attempts == 4
    assert waits == [1.0, 2.0, 4.0]  # doubling, capped at max_delay; no jitter asked for


async def test_user_channel_drives_order_events_with_fill_increments(feed_server: FeedServer) -> None:
    source = feed_server.source
    source.orders[KEY_NAME] = [user_order(f"o{i}") for i in range(60)]
    called: list[str] = []

    async def on_order(event: Any) -> None:
        called.append(event.order_id)

    async with handler_for(feed_server, key=source.key) as handler:
        events = handler.order_events()
        handler.on("orders", on_order)
        await handler.wait_connected()
        await handler.subscribe("user")
        snapshot = [await next_message(events, lambda e: True) for _ in range(60)]
        assert all(e.snapshot and e.status is OrderStatus.OPEN for e in snapshot)
        source.hub.publish(
            OrderUpdated(
                owner=KEY_NAME,
                order=user_order("o7", status="FILLED", filled="1", value="50000", fees="25"),
                time=FIXED_NOW,
            )
        )
        source.hub.publish(
            OrderUpdated(owner="someone-else", order=user_order("x1", status="FILLED", filled="1"), time=FIXED_NOW)
        )
        update = await next_message(events, lambda e: not e.snapshot)
        await eventually(lambda: "o7" in called)
    assert update.order_id == "o7"
    assert update.status is OrderStatus.FILLED
    assert update.new_fill is not None
    assert update.new_fill.size == Decimal("1")
    assert update.new_fill.average_price == Decimal("50000")
    assert update.new_fill.fees == Decimal("25")


async def test_a_slow_consumer_loses_old_messages_and_never_stalls_the_reader(feed_server: FeedServer) -> None:
    async with handler_for(feed_server, heartbeat_timeout=0.5) as handler:
        slow = handler.stream("heartbeats", maxsize=2, policy=OverflowPolicy.DROP_OLDEST)
        await eventually(lambda: slow.dropped >= 3)  # nobody reads it; heartbeats keep coming
        assert handler.stats.heartbeat_timeouts == 0
        assert len(slow) == 2


async def test_callbacks_run_apart_from_the_reader_and_a_failing_one_is_counted(feed_server: FeedServer) -> None:
    seen: list[int] = []

    async def remember(message: HeartbeatsMessage) -> None:
        seen.append(message.sequence_num)

    async def explode(message: HeartbeatsMessage) -> None:
        raise RuntimeError("consumer bug")

    async with handler_for(feed_server) as handler:
        handler.on("heartbeats", remember)
        handler.on("heartbeats", explode)
        await eventually(lambda: len(seen) >= 2 and handler.stats.callback_errors >= 2)
    assert seen == sorted(seen)


async def test_close_ends_streams_and_run(feed_server: FeedServer) -> None:
    handler = handler_for(feed_server)
    stream = handler.stream("heartbeats")
    task = handler.start()
    await handler.wait_connected()
    await handler.close()
    assert task.done()
    leftover = [m async for m in stream]  # ends: close() ended the stream after what was queued
    assert all(isinstance(m, HeartbeatsMessage) for m in leftover)
    assert stream.closed
    assert not handler.connected


async def test_unsubscribe_drops_the_book_and_updates_the_server_set(feed_server: FeedServer) -> None:
    async with handler_for(feed_server) as handler:
        await handler.subscribe("level2", ["BTC-USD", "ETH-USD"])
        await eventually(lambda: synced(handler, "ETH-USD"))
        await handler.unsubscribe("level2", ["ETH-USD"])
        assert handler.server_subscriptions["level2"] == frozenset({"BTC-USD"})
        with pytest.raises(BookUnavailable, match="not subscribed"):
            handler.books.book("ETH-USD")
        await handler.unsubscribe("level2")
        assert "level2" not in handler.server_subscriptions
