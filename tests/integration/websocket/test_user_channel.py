"""The user channel as a trigger to look: order events, and a `LookAgain` marker whenever one may be missing."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from cryptoj.coinbase.websocket import WebSocketHandler
from cryptoj.coinbase.ws_recording import ReplayServer
from cryptoj.coinbase.ws_streams import MessageStream
from cryptoj.coinbase.ws_user import LookAgain, LookAgainReason, OrderFeedItem, UserOrderEvent
from cryptoj.domain.orders import OrderStatus
from cryptoj.sandbox.events import OrderUpdated
from tests.utils.fixtures.websocket import (
    FIXED_NOW,
    KEY_NAME,
    FeedServer,
    eventually,
    heartbeat_event,
    make_key,
    no_wait,
    user_order,
    ws_frame,
)

pytestmark = pytest.mark.integration

USER_ACK = {"subscriptions": {"heartbeats": ["heartbeats"], "user": ["a1b2c3"]}}


def handler_for(url: str, **options: Any) -> WebSocketHandler:
    settings: dict[str, Any] = {"heartbeat_timeout": 2.0, "ack_timeout": 2.0, "sleep": no_wait}
    settings.update(options)
    return WebSocketHandler(url=url, **settings)


def replaying(frames: list[str]) -> ReplayServer:
    return ReplayServer([(0.0, f) for f in frames])


async def take(stream: MessageStream[OrderFeedItem], count: int, *, within: float = 3.0) -> list[OrderFeedItem]:
    async with asyncio.timeout(within):
        return [await anext(stream) for _ in range(count)]


def user_frame(seq: int, kind: str, *orders: dict[str, Any]) -> str:
    return ws_frame("user", seq, [{"type": kind, "orders": list(orders)}])


# --- never silence: a marker wherever something may have been missed -------------------------------------


async def test_a_lagging_consumer_gets_a_look_again_marker_with_the_count_instead_of_silence(
    feed_server: FeedServer,
) -> None:
    source = feed_server.source
    source.orders[KEY_NAME] = [user_order(f"o{i}") for i in range(5)]
    async with handler_for(feed_server.url, key=source.key) as handler:
        events = handler.order_events(maxsize=2)
        await handler.subscribe("user")  # the snapshot's five orders arrive at once; two fit
        first, second, marker = await take(events, 3)
        source.hub.publish(OrderUpdated(owner=KEY_NAME, order=user_order("o1", status="CANCELLED"), time=FIXED_NOW))
        (after,) = await take(events, 1)
    assert [first.order_id, second.order_id] == ["o0", "o1"]  # type: ignore[union-attr]
    assert marker == LookAgain(LookAgainReason.LAGGED, dropped=3)
    assert isinstance(after, UserOrderEvent)  # once the consumer has caught up, events flow again
    assert after.status is OrderStatus.CANCELLED


async def test_a_reconnect_tells_the_consumer_to_look_again_so_an_order_finished_meanwhile_is_found(
    feed_server: FeedServer,
) -> None:
    source = feed_server.source
    source.orders[KEY_NAME] = [user_order("o1")]
    gate = asyncio.Event()

    async def held(seconds: float) -> None:
        await gate.wait()

    async with handler_for(feed_server.url, key=source.key, sleep=held) as handler:
        events = handler.order_events()
        await handler.subscribe("user")
        (opened,) = await take(events, 1)
        source.faults["drop"] = [source.checks.get("drop", 0) + 1]
        await eventually(lambda: not handler.connected)
        source.orders[KEY_NAME] = []  # o1 fills while we are away: the next snapshot does not list it
        gate.set()
        (marker,) = await take(events, 1)
    assert isinstance(opened, UserOrderEvent)
    assert opened.order_id == "o1"
    assert marker == LookAgain(LookAgainReason.RECONNECT)


async def test_a_sequence_gap_tells_the_consumer_to_look_again_and_resubscribes_the_user_channel(
    feed_server: FeedServer,
) -> None:
    source = feed_server.source
    source.orders[KEY_NAME] = [user_order("o1")]
    async with handler_for(feed_server.url, key=source.key) as handler:
        events = handler.order_events()
        await handler.subscribe("user")
        (first,) = await take(events, 1)
        source.faults["sequence_gap"] = [source.checks.get("sequence_gap", 0) + 1]  # the next frame is lost
        marker, again = await take(events, 2)
        assert handler.stats.connects == 1  # the resubscribe, not a reconnect, brought the snapshot again
    assert isinstance(first, UserOrderEvent)
    assert first.snapshot
    assert marker == LookAgain(LookAgainReason.SEQUENCE_GAP)
    assert isinstance(again, UserOrderEvent)
    assert (again.order_id, again.snapshot) == ("o1", True)
    assert handler.stats.resyncs == 0  # no level2 book to resynchronise


# --- one bad order costs only itself ---------------------------------------------------------------------


async def test_an_unreadable_amount_costs_only_its_order_and_the_fill_before_it_in_the_frame_survives() -> None:
    bad = user_order("o2") | {"cumulative_quantity": "lots"}
    frames = [
        ws_frame("subscriptions", 0, [USER_ACK]),
        user_frame(1, "update", user_order("o1", filled="0.5", value="25000"), bad, user_order("o3")),
        user_frame(2, "update", user_order("o4", filled="1", value="50000")),
    ]
    async with replaying(frames) as server, handler_for(server.url, key=make_key()) as handler:
        events = handler.order_events()
        await handler.subscribe("user")
        items = await take(events, 4)
    first, marker, third, fourth = items
    assert isinstance(first, UserOrderEvent)
    assert first.order_id == "o1"
    assert first.new_fill is not None
    assert first.new_fill.size == Decimal("0.5")
    assert isinstance(marker, LookAgain)
    assert (marker.reason, marker.order_id) == (LookAgainReason.MALFORMED_ORDER, "o2")
    assert "lots" in marker.detail
    assert [third.order_id, fourth.order_id] == ["o3", "o4"]  # type: ignore[union-attr]
    assert handler.stats.decode_errors == 1
    assert handler.stats.connects == 1


async def test_an_order_the_frame_decoder_refuses_costs_only_itself_and_keeps_the_sequence() -> None:
    # No product_id: the typed decode of the whole frame fails, but the other orders are read one by one.
    bad = {key: value for key, value in user_order("o2").items() if key != "product_id"}
    frames = [
        ws_frame("subscriptions", 0, [USER_ACK]),
        user_frame(1, "update", user_order("o1", filled="0.5", value="25000"), bad),
        ws_frame("heartbeats", 2, [heartbeat_event(1)]),
    ]
    async with replaying(frames) as server, handler_for(server.url, key=make_key()) as handler:
        events = handler.order_events()
        await handler.subscribe("user")
        first, marker = await take(events, 2)
        await eventually(lambda: handler.stats.frames == len(frames))
    assert isinstance(first, UserOrderEvent)
    assert first.new_fill is not None
    assert marker == LookAgain(LookAgainReason.MALFORMED_ORDER, order_id="o2", detail=marker.detail)  # type: ignore[union-attr]
    assert handler.stats.sequence_gaps == 0


async def test_a_user_frame_that_cannot_be_read_at_all_tells_the_consumer_to_look_again() -> None:
    frames = [
        ws_frame("subscriptions", 0, [USER_ACK]),
        ws_frame("user", 1, [{"type": "update", "orders": "not a list"}]),
        ws_frame("heartbeats", 2, [heartbeat_event(1)]),
    ]
    async with replaying(frames) as server, handler_for(server.url, key=make_key()) as handler:
        events = handler.order_events()
        await handler.subscribe("user")
        (marker,) = await take(events, 1)
        await eventually(lambda: handler.stats.frames == len(frames))
    assert isinstance(marker, LookAgain)
    assert marker.reason is LookAgainReason.MALFORMED_FRAME
    assert handler.stats.sequence_gaps == 0
