"""The sandbox feed speaks the way real Coinbase traffic shows (facts 1-9 of real-traffic.md), seen raw.

A plain websockets client talks to serve_feed over loopback, so these tests see the bytes a real client sees.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from cryptoj.coinbase.auth import build_ws_jwt
from cryptoj.coinbase.ws_models import parse_go_time
from tests.utils.fixtures.websocket import FeedServer, make_key, user_order

pytestmark = pytest.mark.integration

ENVELOPE = {"channel", "client_id", "timestamp", "sequence_num", "events"}


async def send(ws: ClientConnection, **body: Any) -> None:
    await ws.send(json.dumps(body))


async def frames_until(ws: ClientConnection, predicate: Any, *, within: float = 3.0) -> list[dict[str, Any]]:
    """Every frame received up to and including the first one matching `predicate`."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            frame = json.loads(await ws.recv())
            seen.append(frame)
            if predicate(frame):
                return seen


def is_ack(frame: dict[str, Any]) -> bool:
    return frame.get("channel") == "subscriptions"


async def test_fact_01_one_sequence_counter_per_connection_across_channels(feed_server: FeedServer) -> None:
    async with connect(feed_server.url, max_size=None) as ws:
        await send(ws, type="subscribe", channel="heartbeats")
        await send(ws, type="subscribe", channel="level2", product_ids=["BTC-USD"])
        await send(ws, type="subscribe", channel="ticker", product_ids=["ETH-USD"])
        frames = await frames_until(ws, lambda f: f.get("channel") == "heartbeats", within=3)
        frames += await frames_until(ws, lambda f: f.get("channel") == "heartbeats")
    channels = {f["channel"] for f in frames}
    assert {"subscriptions", "l2_data", "ticker", "heartbeats"} <= channels
    assert [f["sequence_num"] for f in frames] == list(range(len(frames)))


async def test_fact_01_a_new_connection_starts_its_counter_at_zero(feed_server: FeedServer) -> None:
    for _ in range(2):
        async with connect(feed_server.url) as ws:
            await send(ws, type="subscribe", channel="heartbeats")
            (ack,) = await frames_until(ws, is_ack)
            assert ack["sequence_num"] == 0


async def test_fact_02_client_id_may_be_missing_and_the_other_envelope_keys_never_are(feed_server: FeedServer) -> None:
    # Real frames mostly lack client_id (fact 2); the test asked for all five keys while the feed was tidy.
    async with connect(feed_server.url, max_size=None) as ws:
        await send(ws, type="subscribe", channel="heartbeats")
        await send(ws, type="subscribe", channel="candles", product_ids=["BTC-USD"])
        frames = await frames_until(ws, lambda f: f.get("channel") == "heartbeats")
        frames += await frames_until(ws, lambda f: f.get("channel") == "heartbeats" and "client_id" in f, within=10)
    assert all(ENVELOPE - {"client_id"} <= set(f) <= ENVELOPE for f in frames)
    assert {"client_id" in f for f in frames} == {True, False}


async def test_fact_02_the_documented_forms_carry_all_five_envelope_keys(feed_server: FeedServer) -> None:
    feed_server.source.forms.configure("documented")
    async with connect(feed_server.url, max_size=None) as ws:
        await send(ws, type="subscribe", channel="heartbeats")
        await send(ws, type="subscribe", channel="candles", product_ids=["BTC-USD"])
        frames = await frames_until(ws, lambda f: f.get("channel") == "heartbeats")
    assert all(set(f) == ENVELOPE for f in frames)


async def test_fact_03_each_subscribe_and_unsubscribe_is_answered_with_the_whole_set(feed_server: FeedServer) -> None:
    async with connect(feed_server.url, max_size=None) as ws:
        await send(ws, type="subscribe", channel="heartbeats")
        first = (await frames_until(ws, is_ack))[-1]
        await send(ws, type="subscribe", channel="level2", product_ids=["ETH-USD", "BTC-USD"])
        second = (await frames_until(ws, is_ack))[-1]
        await send(ws, type="unsubscribe", channel="level2", product_ids=["ETH-USD"])
        third = (await frames_until(ws, is_ack))[-1]
    assert first["events"][0]["subscriptions"] == {"heartbeats": ["heartbeats"]}
    assert second["events"][0]["subscriptions"] == {"heartbeats": ["heartbeats"], "level2": ["BTC-USD", "ETH-USD"]}
    assert third["events"][0]["subscriptions"] == {"heartbeats": ["heartbeats"], "level2": ["BTC-USD"]}


async def test_fact_04_a_level2_snapshot_is_one_frame_with_the_whole_book(feed_server: FeedServer) -> None:
    feed_server.source.levels = 0
    source = feed_server.source
    from decimal import Decimal

    from tests.utils.fixtures.websocket import make_book

    source.books["BTC-USD"] = make_book("BTC-USD", mid=Decimal("50000"), levels=23_000)
    async with connect(feed_server.url, max_size=16 * 1024 * 1024) as ws:
        await send(ws, type="subscribe", channel="level2", product_ids=["BTC-USD"])
        frames = await frames_until(ws, is_ack, within=10)
    (snapshot,) = [f for f in frames if f["channel"] == "l2_data"]
    event = snapshot["events"][0]
    assert event["type"] == "snapshot"
    assert len(event["updates"]) == 46_000
    assert {u["side"] for u in event["updates"]} == {"bid", "offer"}
    assert all("event_time" in u for u in event["updates"][:10])


async def test_fact_04_the_snapshot_comes_before_the_ack_and_updates_after(feed_server: FeedServer) -> None:
    from decimal import Decimal

    from cryptoj.domain.book import BookSide
    from cryptoj.sandbox.events import BookChanged
    from tests.utils.fixtures.websocket import FIXED_NOW

    async with connect(feed_server.url, max_size=None) as ws:
        await send(ws, type="subscribe", channel="level2", product_ids=["ETH-USD"])
        frames = await frames_until(ws, is_ack)
        feed_server.source.hub.publish(
            BookChanged("ETH-USD", ((BookSide.ASK, Decimal("3000.01"), Decimal("7")),), FIXED_NOW)
        )
        update = (await frames_until(ws, lambda f: f["channel"] == "l2_data"))[-1]
    assert [f["channel"] for f in frames] == ["l2_data", "subscriptions"]
    assert update["events"][0]["type"] == "update"
    assert update["events"][0]["updates"][0] == {
        "side": "offer",
        "event_time": update["events"][0]["updates"][0]["event_time"],
        "price_level": "3000.01",
        "new_quantity": "7",
    }


async def test_fact_06_ticker_carries_best_bid_ask_and_52_week_fields(feed_server: FeedServer) -> None:
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="ticker", product_ids=["BTC-USD"])
        frames = await frames_until(ws, is_ack)
    ticker = frames[0]["events"][0]["tickers"][0]
    for name in ("best_bid", "best_ask", "best_bid_quantity", "best_ask_quantity", "low_52_w", "high_52_w"):
        assert name in ticker
    assert "price_percent_chg_24_h" in ticker


async def test_fact_07_market_trades_snapshot_is_100_newest_first(feed_server: FeedServer) -> None:
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="market_trades", product_ids=["BTC-USD"])
        frames = await frames_until(ws, is_ack)
    trades = frames[0]["events"][0]["trades"]
    assert len(trades) == 100
    times = [t["time"] for t in trades]
    assert times == sorted(times, reverse=True)


async def test_fact_07_candles_snapshot_is_oldest_first_with_empty_buckets_absent(feed_server: FeedServer) -> None:
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="candles", product_ids=["BTC-USD"])
        frames = await frames_until(ws, is_ack)
    candles = frames[0]["events"][0]["candles"]
    starts = [int(c["start"]) for c in candles]
    assert all(isinstance(c["start"], str) for c in candles)
    assert starts == sorted(starts)
    assert [b - a for a, b in itertools.pairwise(starts)] == [300, 600, 300]  # one bucket missing


async def test_fact_08_heartbeats_carry_go_time_text_and_a_counter(feed_server: FeedServer) -> None:
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="heartbeats")
        frames = await frames_until(ws, lambda f: f["channel"] == "heartbeats")
        frames += await frames_until(ws, lambda f: f["channel"] == "heartbeats")
    beats = [f["events"][0] for f in frames if f["channel"] == "heartbeats"]
    assert " +0000 UTC m=+" in beats[0]["current_time"]
    assert parse_go_time(beats[0]["current_time"]) is not None
    assert int(beats[1]["heartbeat_counter"]) == int(beats[0]["heartbeat_counter"]) + 1


@pytest.mark.parametrize(
    "body",
    [
        {"type": "subscribe", "channel": "not_a_channel", "product_ids": ["BTC-USD"]},
        {"type": "subscribe", "channel": "user", "jwt": "not-a-jwt"},
        {"type": "subscribe", "channel": "user"},
    ],
    ids=["unknown-channel", "bad-jwt", "no-jwt"],
)
async def test_fact_09_unknown_channel_and_bad_jwt_get_authentication_failure(
    feed_server: FeedServer, body: dict[str, Any]
) -> None:
    async with connect(feed_server.url) as ws:
        await ws.send(json.dumps(body))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 3))
    assert frame == {"type": "error", "message": "authentication failure"}


async def test_user_snapshot_comes_in_batches_of_50_ending_short(feed_server: FeedServer) -> None:
    source = feed_server.source
    source.orders["organizations/test-org/apiKeys/test-key"] = [user_order(f"o{i}") for i in range(100)]
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="user", jwt=build_ws_jwt(source.key))
        frames = await frames_until(ws, is_ack)
    sizes = [len(f["events"][0]["orders"]) for f in frames if f["channel"] == "user"]
    assert sizes == [50, 50, 0]
    ack = frames[-1]["events"][0]["subscriptions"]
    assert "organizations" not in json.dumps(ack)  # the key's name never appears in a frame


async def test_user_channel_refuses_a_key_the_exchange_does_not_know(feed_server: FeedServer) -> None:
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="user", jwt=build_ws_jwt(make_key()))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 3))
    assert frame["message"] == "authentication failure"


async def test_feed_closes_a_connection_that_never_subscribes(feed_server: FeedServer) -> None:
    feed_server.source.subscribe_timeout = 0.05
    async with connect(feed_server.url) as ws:
        with pytest.raises(ConnectionClosed) as caught:
            await asyncio.wait_for(ws.recv(), 3)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1008


async def test_feed_answers_malformed_messages_with_error_frames(feed_server: FeedServer) -> None:
    async with connect(feed_server.url) as ws:
        await ws.send("not json")
        first = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "hello"}))
        second = json.loads(await ws.recv())
        await send(ws, type="subscribe", channel="level2", product_ids=["DOGE-USD"])
        third = json.loads(await ws.recv())
        await send(ws, type="subscribe", channel="level2", product_ids="BTC-USD")
        fourth = json.loads(await ws.recv())
        await ws.send(b"\xff\xfe binary junk")
        fifth = json.loads(await ws.recv())
        await send(ws, type="subscribe", channel="heartbeats")
        still_served = (await frames_until(ws, is_ack))[-1]
    assert {first["type"], second["type"], third["type"], fourth["type"], fifth["type"]} == {"error"}
    assert still_served["events"][0]["subscriptions"] == {"heartbeats": ["heartbeats"]}
    assert "DOGE-USD" in third["message"]


async def test_feed_fault_drop_closes_the_connection(feed_server: FeedServer) -> None:
    feed_server.source.faults["drop"] = [3]
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="heartbeats")
        with pytest.raises(ConnectionClosed) as caught:
            await frames_until(ws, lambda f: False)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1011


async def test_feed_fault_sequence_gap_skips_one_number(feed_server: FeedServer) -> None:
    feed_server.source.faults["sequence_gap"] = [2]
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="heartbeats")
        frames = await frames_until(ws, lambda f: f["sequence_num"] >= 3)
    assert [f["sequence_num"] for f in frames] == [0, 2, 3]


async def test_feed_closes_a_client_that_falls_behind_the_exchange(feed_server: FeedServer) -> None:
    from decimal import Decimal

    from cryptoj.domain.book import BookSide
    from cryptoj.sandbox.events import BookChanged, EventHub
    from tests.utils.fixtures.websocket import FIXED_NOW

    feed_server.source.hub = EventHub(max_queue=2)
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="level2", product_ids=["BTC-USD"])
        await frames_until(ws, is_ack)
        for size in range(1, 6):  # published at once: more than the connection's queue holds
            change = ((BookSide.BID, Decimal("49999.99"), Decimal(size)),)
            feed_server.source.hub.publish(BookChanged("BTC-USD", change, FIXED_NOW))
        with pytest.raises(ConnectionClosed) as caught:
            await frames_until(ws, lambda f: False)
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (1011, "client fell behind")


async def test_fact_04_far_levels_and_tiny_sizes_are_written_as_plain_decimals(feed_server: FeedServer) -> None:
    from decimal import Decimal

    from cryptoj.domain.book import OrderBook

    book = OrderBook("BTC-USD")
    book.apply_snapshot([(Decimal("0.01"), Decimal("1E+3"))], [(Decimal("138991023.41"), Decimal("1E-8"))])
    feed_server.source.books["BTC-USD"] = book
    async with connect(feed_server.url) as ws:
        await send(ws, type="subscribe", channel="level2", product_ids=["BTC-USD"])
        frames = await frames_until(ws, is_ack)
    levels = {(u["price_level"], u["new_quantity"]) for u in frames[0]["events"][0]["updates"]}
    assert levels == {("0.01", "1000"), ("138991023.41", "0.00000001")}


async def test_fact_05_the_feed_sends_one_event_per_level2_frame(feed_server: FeedServer) -> None:
    async with connect(feed_server.url, max_size=None) as ws:
        await send(ws, type="subscribe", channel="level2", product_ids=["BTC-USD", "ETH-USD"])
        frames = await frames_until(ws, is_ack)
    level2 = [f for f in frames if f["channel"] == "l2_data"]
    assert [len(f["events"]) for f in level2] == [1, 1]
    assert sorted(f["events"][0]["product_id"] for f in level2) == ["BTC-USD", "ETH-USD"]
