"""What the handler promises its callers: answered subscribes, failures that end every waiter, kept heartbeats."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cryptoj.coinbase.websocket import ReconnectPolicy, WebSocketHandler
from cryptoj.coinbase.ws_errors import HandlerClosed, ReconnectExhausted, SubscriptionError
from cryptoj.coinbase.ws_recording import ReplayServer
from cryptoj.coinbase.ws_streams import MessageStream
from cryptoj.errors import ConfigurationError
from tests.utils.fixtures.websocket import (
    FeedServer,
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

NOWHERE = "ws://127.0.0.1:9"  # the discard port: nothing listens, every attempt is refused


def handler_for(url: str, **options: Any) -> WebSocketHandler:
    settings: dict[str, Any] = {"heartbeat_timeout": 2.0, "ack_timeout": 2.0, "sleep": no_wait}
    settings.update(options)
    return WebSocketHandler(url=url, **settings)


async def ending(stream: MessageStream[Any]) -> BaseException:
    """Read a stream to its end and return the error that ended it."""
    try:
        async for _ in stream:
            pass
    except Exception as exc:
        return exc
    raise AssertionError("the stream ended without an error")


def drop_next_frame(server: FeedServer) -> None:
    source = server.source
    source.faults["drop"] = [source.checks.get("drop", 0) + 1]


# --- a handler that gives up ends whatever waits on it ----------------------------------------------


async def test_exhausted_reconnects_end_every_stream_waiter_and_callback_with_the_error() -> None:
    handler = handler_for(NOWHERE, reconnect=ReconnectPolicy(max_attempts=2))
    heartbeats = handler.stream("heartbeats")
    orders = handler.order_events()
    handler.on("ticker", lambda message: asyncio.sleep(0))
    handler.start()
    async with asyncio.timeout(5):
        with pytest.raises(ReconnectExhausted):
            await handler.wait_connected()
        with pytest.raises(ReconnectExhausted):
            async for _ in heartbeats:
                pass
        with pytest.raises(ReconnectExhausted):
            await anext(orders)
        with pytest.raises(ReconnectExhausted):
            await handler.subscribe("ticker", ["BTC-USD"])
        with pytest.raises(ReconnectExhausted):
            await anext(handler.stream("ticker"))  # a stream asked for afterwards ends at once
        failure = await handler.close()
    assert isinstance(failure, ReconnectExhausted)
    assert failure.attempts == 2


async def test_a_handler_that_gave_up_stays_ended() -> None:
    handler = handler_for(NOWHERE, reconnect=ReconnectPolicy(max_attempts=1))
    with pytest.raises(ReconnectExhausted) as first:
        await handler.run()
    with pytest.raises(ReconnectExhausted) as again:
        await handler.run()  # no new attempt: its streams have ended with the first error already
    assert again.value is first.value


async def test_a_subscribe_waiting_for_the_connection_ends_when_the_handler_gives_up() -> None:
    handler = handler_for(NOWHERE, reconnect=ReconnectPolicy(max_attempts=3))
    async with asyncio.timeout(5):
        with pytest.raises(ReconnectExhausted):
            async with handler:
                await handler.subscribe("level2", ["BTC-USD"])
    assert handler.books.state("BTC-USD") is None  # no book waits for a snapshot that cannot come


async def test_waiting_on_a_closed_handler_raises_instead_of_hanging(feed_server: FeedServer) -> None:
    async with handler_for(feed_server.url) as handler:
        await handler.wait_connected()
    async with asyncio.timeout(5):
        with pytest.raises(HandlerClosed):
            await handler.wait_connected()
        with pytest.raises(HandlerClosed):
            await handler.subscribe("ticker", ["BTC-USD"])


# --- subscribe() answers, whenever it is called --------------------------------------------------------


async def test_a_subscribe_made_before_the_connection_opens_returns_once_the_server_confirms_it(
    feed_server: FeedServer,
) -> None:
    async with handler_for(feed_server.url) as handler:
        assert not handler.connected
        await handler.subscribe("ticker", ["BTC-USD"])
        assert handler.server_subscriptions["ticker"] == frozenset({"BTC-USD"})
        assert handler.subscriptions["ticker"] == frozenset({"BTC-USD"})


@pytest.mark.parametrize(
    ("channel", "products", "refusal"),
    [("level2", ["NOPE-USD"], "unknown product"), ("not_a_channel", ["BTC-USD"], "authentication failure")],
)
async def test_a_bad_subscribe_made_before_the_connection_opens_raises_and_is_never_resent(
    feed_server: FeedServer, channel: str, products: list[str], refusal: str
) -> None:
    async with handler_for(feed_server.url) as handler:
        with pytest.raises(SubscriptionError, match=refusal) as caught:
            await handler.subscribe(channel, products)
        assert caught.value.channel == channel
        assert channel not in handler.subscriptions
        assert handler.books.state("NOPE-USD") is None
        drop_next_frame(feed_server)
        await eventually(lambda: handler.stats.connects == 2 and handler.connected)
        await handler.subscribe("ticker", ["BTC-USD"])  # the new connection works and refuses nothing
    assert handler.stats.error_frames == 0


async def test_an_untrusted_key_ends_the_handler_with_the_refusal_instead_of_logging_it(
    feed_server: FeedServer,
) -> None:
    # The exchange refuses every subscribe signed by a key it does not know, heartbeats included: the handler
    # cannot keep its subscriptions, so it stops and says why rather than retrying a configuration error.
    handler = handler_for(feed_server.url, key=make_key())
    async with asyncio.timeout(5):
        with pytest.raises(SubscriptionError, match="authentication failure"):
            async with handler:
                await handler.subscribe("user")
    assert feed_server.connections == 1


async def test_a_subscribe_whose_connection_drops_before_the_answer_is_asked_again_on_the_next() -> None:
    # The first server closes right after the heartbeats ack, so the ticker subscribe gets no answer there;
    # it is asked again on the next connection, whose server answers it.
    heartbeats_only = {"subscriptions": {"heartbeats": ["heartbeats"]}}
    with_ticker = {"subscriptions": {"heartbeats": ["heartbeats"], "ticker": ["BTC-USD"]}}
    first = [(0.0, ws_frame("subscriptions", 0, [heartbeats_only]))]
    second = [
        (0.0, ws_frame("subscriptions", 0, [with_ticker])),
        (0.0, ws_frame("heartbeats", 1, [heartbeat_event(1)])),
    ]
    gate, waits = asyncio.Event(), []

    async def held(seconds: float) -> None:
        waits.append(seconds)
        await gate.wait()

    async with (
        ReplayServer(first, close_after=True) as closing,
        ReplayServer(second) as answering,
        handler_for(closing.url, sleep=held) as handler,
    ):
        subscribing = asyncio.create_task(handler.subscribe("ticker", ["BTC-USD"]))
        await eventually(lambda: bool(waits))  # the first connection is gone, the handler backs off
        assert not subscribing.done()
        handler.url = answering.url
        gate.set()
        async with asyncio.timeout(5):
            await subscribing
        assert handler.server_subscriptions["ticker"] == frozenset({"BTC-USD"})
    assert handler.subscriptions["ticker"] == frozenset({"BTC-USD"})


async def test_an_unsubscribe_the_server_never_answers_raises_and_is_not_kept() -> None:
    async with (
        ReplayServer([(0.0, f) for f in opening_frames()]) as server,
        handler_for(server.url, ack_timeout=0.2) as handler,
    ):
        await handler.subscribe("level2", ["BTC-USD"])
        with pytest.raises(SubscriptionError, match=r"no answer within 0\.2 s"):
            await handler.unsubscribe("level2")
        assert "level2" not in handler.subscriptions  # the next connection will not ask for it
    assert server.received[-1] == {"type": "unsubscribe", "channel": "level2"}


# --- a connection is judged by what it delivered ----------------------------------------------------------


async def test_short_connections_that_delivered_updates_do_not_exhaust_the_cap() -> None:
    # Each connection lives a moment but delivers live level2 updates: the feed works, it is just cut often.
    # Such drops restart the backoff instead of growing it to the cap (they used to end in ReconnectExhausted).
    updates = [
        ws_frame("l2_data", seq, [l2_event("update", "BTC-USD", [("bid", "99", str(seq))])]) for seq in range(3, 6)
    ]
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    policy = ReconnectPolicy(base_delay=0.01, max_attempts=3, jitter=0.0)
    async with ReplayServer([(0.0, f) for f in opening_frames() + updates], close_after=True) as server:
        handler = handler_for(server.url, reconnect=policy, sleep=record)
        async with handler:
            await eventually(lambda: server.connections >= 6)
            assert handler._run_task is not None
            assert not handler._run_task.done()
    assert set(waits) == {0.01}  # every wait is the first one: no run of failures builds up


async def test_connections_that_die_before_delivering_any_update_still_exhaust_the_cap() -> None:
    # An ack, a snapshot and a heartbeat, then a close, every time: nothing live ever arrives.
    async with ReplayServer([(0.0, f) for f in opening_frames()], close_after=True) as server:
        handler = handler_for(server.url, reconnect=ReconnectPolicy(max_attempts=3))
        heartbeats = handler.stream("heartbeats")
        handler.start()
        async with asyncio.timeout(5):
            failure = await ending(heartbeats)
        await handler.close()
    assert isinstance(failure, ReconnectExhausted)
    assert failure.attempts == 3
    assert server.connections == 3


# --- heartbeats are the liveness check ------------------------------------------------------------------


async def test_heartbeats_cannot_be_unsubscribed(feed_server: FeedServer) -> None:
    # Without heartbeats the liveness check would replace a healthy connection at every timeout.
    async with handler_for(feed_server.url) as handler:
        await handler.wait_connected()
        beats = handler.stream("heartbeats")
        with pytest.raises(ConfigurationError, match="heartbeats"):
            await handler.unsubscribe("heartbeats")
        assert "heartbeats" in handler.subscriptions
        await next_message(beats, lambda message: True)  # nothing was sent: they keep coming
        assert "heartbeats" in handler.server_subscriptions
        assert handler.stats.connects == 1


async def test_silence_replaces_the_connection() -> None:
    # The recording ends and the server keeps the connection open but says nothing more.
    async with (
        ReplayServer([(0.0, f) for f in opening_frames()]) as server,
        handler_for(server.url, heartbeat_timeout=0.3) as handler,
    ):
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: handler.stats.heartbeat_timeouts >= 1 and handler.stats.connects >= 2)
    assert "heartbeats" in handler.subscriptions
