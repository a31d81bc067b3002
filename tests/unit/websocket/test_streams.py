"""MessageStream: the producer never waits; the overflow policy decides what gives way, and counts it."""

from __future__ import annotations

import asyncio

import pytest

from cryptoj.coinbase.ws_streams import MessageStream, OverflowPolicy, StreamClosed
from cryptoj.errors import ConfigurationError


def filled(policy: OverflowPolicy, items: list[str], *, maxsize: int = 2) -> MessageStream[str]:
    stream: MessageStream[str] = MessageStream(maxsize=maxsize, policy=policy, key=lambda s: s[0])
    for item in items:
        stream.put(item)
    return stream


async def drain(stream: MessageStream[str]) -> list[str]:
    stream.close()
    return [item async for item in stream]


async def test_drop_oldest_keeps_the_newest() -> None:
    stream = filled(OverflowPolicy.DROP_OLDEST, ["a1", "b1", "c1"])
    assert await drain(stream) == ["b1", "c1"]
    assert stream.dropped == 1


async def test_drop_newest_keeps_what_is_queued() -> None:
    stream = filled(OverflowPolicy.DROP_NEWEST, ["a1", "b1", "c1"])
    assert await drain(stream) == ["a1", "b1"]
    assert stream.dropped == 1


async def test_coalesce_replaces_the_queued_message_with_the_same_key() -> None:
    stream = filled(OverflowPolicy.COALESCE, ["a1", "b1", "a2", "c1"])
    # a2 replaced a1 (same key); c1 had no twin, so the oldest (b1) gave way.
    assert await drain(stream) == ["a2", "c1"]
    assert (stream.coalesced, stream.dropped) == (1, 1)


async def test_a_waiting_consumer_wakes_on_put_and_ends_on_close() -> None:
    stream: MessageStream[int] = MessageStream()
    consumer = asyncio.create_task(anext(stream))
    await asyncio.sleep(0)
    stream.put(5)
    assert await consumer == 5
    stream.close()
    stream.put(6)  # ignored once closed
    with pytest.raises(StreamClosed):
        await stream.get()
    assert stream.delivered == 1


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="maxsize"):
        MessageStream(maxsize=0)


async def test_a_bad_stream_size_asked_of_the_handler_is_a_configuration_error() -> None:
    from cryptoj.coinbase.websocket import WebSocketHandler

    with pytest.raises(ConfigurationError, match="maxsize"):
        WebSocketHandler(url="ws://127.0.0.1:1").stream("ticker", maxsize=0)


async def test_close_cancels_a_callback_still_stuck_after_the_grace_period() -> None:
    from cryptoj.coinbase.ws_dispatch import Dispatcher
    from cryptoj.coinbase.ws_policy import HandlerStats

    dispatcher = Dispatcher(HandlerStats())
    started = asyncio.Event()

    async def stuck(_: object) -> None:
        started.set()
        await asyncio.Event().wait()  # a consumer that never returns

    dispatcher.on("ticker", stuck, maxsize=10, policy=OverflowPolicy.DROP_OLDEST)
    dispatcher.publish("ticker", "m1")
    await started.wait()
    async with asyncio.timeout(2):
        await dispatcher.close(grace=0.05)
    assert all(task.done() for task in asyncio.all_tasks() if task is not asyncio.current_task())


async def test_close_lets_a_callback_finish_what_is_queued_within_the_grace_period() -> None:
    from cryptoj.coinbase.ws_dispatch import Dispatcher
    from cryptoj.coinbase.ws_policy import HandlerStats

    dispatcher = Dispatcher(HandlerStats())
    seen: list[object] = []

    async def slow(message: object) -> None:
        await asyncio.sleep(0.01)
        seen.append(message)

    dispatcher.on("ticker", slow, maxsize=10, policy=OverflowPolicy.DROP_OLDEST)
    for n in range(3):
        dispatcher.publish("ticker", n)
    await dispatcher.close(grace=2.0)
    assert seen == [0, 1, 2]


def marked(items: list[str], *, maxsize: int = 2) -> MessageStream[str]:
    stream: MessageStream[str] = MessageStream(
        maxsize=maxsize, policy=OverflowPolicy.MARK_GAP, marker=lambda missed: f"missed {missed}"
    )
    for item in items:
        stream.put(item)
    return stream


async def test_mark_gap_keeps_the_queue_then_says_how_many_were_missed() -> None:
    stream = marked(["a1", "b1", "c1", "d1"])
    assert [await stream.get() for _ in range(3)] == ["a1", "b1", "missed 2"]
    assert stream.dropped == 2


async def test_mark_gap_refuses_everything_until_the_consumer_reaches_the_marker() -> None:
    # A message after the gap must not overtake the marker: the consumer learns of the gap where it begins.
    stream = marked(["a1", "b1", "c1"])
    assert await stream.get() == "a1"
    stream.put("d1")  # there is room again, but the gap is still open
    assert await drain(stream) == ["b1", "missed 2"]


async def test_mark_gap_lets_messages_flow_again_once_the_marker_is_delivered() -> None:
    stream = marked(["a1", "b1", "c1"])
    assert [await stream.get() for _ in range(3)] == ["a1", "b1", "missed 1"]
    stream.put("d1")
    assert await drain(stream) == ["d1"]


def test_mark_gap_needs_a_marker() -> None:
    with pytest.raises(ConfigurationError, match="marker"):
        MessageStream(policy=OverflowPolicy.MARK_GAP)


async def test_a_stream_ended_by_an_error_delivers_what_is_queued_then_raises_it() -> None:
    stream: MessageStream[int] = MessageStream()
    stream.put(1)
    failure = RuntimeError("gave up")
    stream.close(failure)
    stream.close()  # a later plain close does not hide the error
    assert [await stream.get()] == [1]
    with pytest.raises(RuntimeError, match="gave up"):
        await anext(stream)
    assert stream.closed


async def test_a_consumer_waiting_on_a_stream_wakes_with_the_error_that_ends_it() -> None:
    stream: MessageStream[int] = MessageStream()
    consumer = asyncio.create_task(anext(stream))
    await asyncio.sleep(0)
    stream.close(RuntimeError("gave up"))
    with pytest.raises(RuntimeError, match="gave up"):
        await consumer


async def test_order_callbacks_refuse_a_policy_that_would_drop_events_silently() -> None:
    from cryptoj.coinbase.ws_dispatch import ORDERS, Dispatcher
    from cryptoj.coinbase.ws_policy import HandlerStats

    dispatcher = Dispatcher(HandlerStats())
    with pytest.raises(ConfigurationError, match="never dropped silently"):
        dispatcher.on(ORDERS, lambda item: asyncio.sleep(0), maxsize=10, policy=OverflowPolicy.DROP_OLDEST)
    stream = dispatcher.on(ORDERS, lambda item: asyncio.sleep(0), maxsize=10, policy=None)
    assert stream.policy is OverflowPolicy.MARK_GAP
    await dispatcher.close()
