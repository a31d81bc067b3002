"""Fuzzing WebSocket frames through the connection reader: a bad frame is skipped with its reason counted (or
becomes a `LookAgain`), the connection goes on, and the good frames after it are all processed.

The reader is driven directly (no socket): a fake connection hands out a script of frames and then raises
`ScriptDone`, which is the only exception allowed out of `ConnectionReader.run`. Each script opens as a real
connection does (ack, BTC-USD snapshot, heartbeat), then one bad frame (a documented frame with parts deleted,
retyped or made hostile; truncated; or garbage), then good frames that must all arrive.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptoj.coinbase.ws_books import BookKeeper, BookState
from cryptoj.coinbase.ws_decode import FrameDecoder
from cryptoj.coinbase.ws_dispatch import Dispatcher
from cryptoj.coinbase.ws_errors import FrameError
from cryptoj.coinbase.ws_models import HeartbeatsMessage
from cryptoj.coinbase.ws_orders import OrderFeed
from cryptoj.coinbase.ws_policy import HandlerStats
from cryptoj.coinbase.ws_reader import ConnectionReader, ReaderParts
from cryptoj.coinbase.ws_resync import SnapshotWatch
from cryptoj.coinbase.ws_salvage import salvage
from cryptoj.coinbase.ws_streams import MessageStream, OverflowPolicy
from cryptoj.coinbase.ws_subscriptions import Subscriber
from cryptoj.coinbase.ws_user import LookAgain, LookAgainReason, OrderFeedItem, UserOrderEvent
from tests.utils.fixtures.websocket import heartbeat_event, l2_event, opening_frames, user_order, ws_frame
from tests.utils.helpers.hostile import FUZZ, dumps, mutated

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "coinbase" / "examples"
BAD_SEQ = 3  # the bad frame's number: right after the opening frames (0, 1, 2)


class ScriptDone(Exception):
    """The script ran out: the one way a fuzzed connection may end."""


class ScriptedConnection:
    """Hands out frames in order, then raises `ScriptDone`; records what the reader sends (resync requests)."""

    def __init__(self, frames: list[str | bytes]) -> None:
        self._frames = list(frames)
        self.sent: list[str] = []

    async def recv(self) -> str | bytes:
        if not self._frames:
            raise ScriptDone
        return self._frames.pop(0)

    async def send(self, message: str) -> None:
        self.sent.append(message)


@dataclass
class Outcome:
    """What a script delivered."""

    stats: HandlerStats
    books: BookKeeper
    sent: list[str]
    heartbeats: list[HeartbeatsMessage] = field(default_factory=list)
    orders: list[OrderFeedItem] = field(default_factory=list)


async def _drain(stream: MessageStream[Any]) -> list[Any]:
    items: list[Any] = []
    stream.close(None)
    async for item in stream:
        items.append(item)
    return items


async def _read(frames: list[str | bytes]) -> Outcome:
    stats = HandlerStats()
    dispatch = Dispatcher(stats)
    books = BookKeeper(clock=lambda: 0.0)
    books.expect(["BTC-USD"])
    subs = Subscriber(key=None, ack_timeout=1.0, before_send=lambda *_: None)
    subs.wanted.add("user", ["BTC-USD"])
    parts = ReaderParts(
        decoder=FrameDecoder(), books=books, snapshots=SnapshotWatch(timeout=5.0), subs=subs,
        orders=OrderFeed(dispatch, stats), dispatch=dispatch, stats=stats, recorder=None, heartbeat_timeout=30.0,
        on_ack=subs.acks.on_ack,
    )  # fmt: skip
    heartbeats = dispatch.stream("heartbeats", maxsize=100, policy=OverflowPolicy.DROP_OLDEST)
    orders = dispatch.order_events(maxsize=100)
    connection = ScriptedConnection(frames)
    with pytest.raises(ScriptDone):  # anything else escaping would end a live connection
        await ConnectionReader(connection, parts).run()  # type: ignore[arg-type]  # the two methods it uses
    return Outcome(stats, books, connection.sent, await _drain(heartbeats), await _drain(orders))


def read(frames: list[str | bytes]) -> Outcome:
    return asyncio.run(_read(frames))


def _example(name: str) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    frame["sequence_num"] = BAD_SEQ
    return frame


def _frame(channel: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws_frame(channel, BAD_SEQ, events))
    return frame


FILLED = {**user_order("o1"), "cumulative_quantity": "0.5", "filled_value": "25000", "avg_price": "50000"}
GOOD_FRAMES: list[dict[str, Any]] = [
    _example("ws_ticker.json"),
    _example("ws_level2.json"),
    _example("ws_market_trades.json"),
    _example("ws_heartbeats.json"),
    _frame("l2_data", [l2_event("update", "BTC-USD", [("bid", "99.5", "2"), ("offer", "101", "0")])]),
    _frame("user", [{"type": "update", "orders": [FILLED, user_order("o2")]}]),
    _frame("subscriptions", [{"subscriptions": {"heartbeats": ["heartbeats"], "level2": ["BTC-USD"]}}]),
]
# The sequence number is left alone: a frame that claims a later number than it has makes every frame after it
# stale by design (the counter is the connection's), so "the frames after it arrive" would not hold.
KEEP = frozenset({("sequence_num",)})


def after_the_bad_frame() -> list[str | bytes]:
    """Good frames that must all be processed whatever came before: a fresh snapshot, an order, a heartbeat."""
    snapshot = l2_event("snapshot", "BTC-USD", [("bid", "200", "3"), ("offer", "201", "4")])
    keeper = {**user_order("keep-1"), "cumulative_quantity": "0.25", "filled_value": "50", "avg_price": "200"}
    return [
        ws_frame("l2_data", BAD_SEQ + 1, [snapshot]),
        ws_frame("user", BAD_SEQ + 2, [{"type": "update", "orders": [keeper]}]),
        ws_frame("heartbeats", BAD_SEQ + 3, [heartbeat_event(99)]),
    ]


def assert_the_good_frames_after_it_arrived(outcome: Outcome, frames: list[str | bytes]) -> None:
    assert outcome.stats.frames == len(frames)
    book = outcome.books.book("BTC-USD")  # BookUnavailable if the last snapshot was lost
    assert book.best_bid is not None
    assert book.best_bid.price == Decimal("200")
    assert book.best_ask is not None
    assert book.best_ask.size == Decimal("4")
    events = [item for item in outcome.orders if isinstance(item, UserOrderEvent)]
    keeper = [event for event in events if event.order_id == "keep-1"]
    assert len(keeper) == 1
    assert keeper[0].new_fill is not None
    assert keeper[0].new_fill.size == Decimal("0.25")
    assert outcome.heartbeats[-1].sequence_num == BAD_SEQ + 3


def assert_skipped_with_a_reason(outcome: Outcome, bad: str | bytes) -> None:
    """A frame the decoder refuses is counted as a decode error (its reason is logged), never silently lost."""
    refusal = _refusal(bad)
    if refusal is None:
        return  # a frame the mutation left valid
    assert refusal.reason
    assert len(str(refusal)) < 2_000  # an excerpt, never the whole 10 kB frame
    assert outcome.stats.decode_errors >= 1
    found = salvage(bad)
    if found is not None and found.channel == "user":
        # Orders that may be in it are marked for a look over REST, never dropped quietly.
        assert any(isinstance(item, LookAgain) for item in outcome.orders)


def _refusal(frame: str | bytes) -> FrameError | None:
    try:
        FrameDecoder().decode(frame)
    except FrameError as exc:
        return exc
    return None


@FUZZ
@given(data=st.data())
def test_a_documented_frame_with_parts_deleted_retyped_or_made_hostile_costs_only_itself(data: st.DataObject) -> None:
    good = data.draw(st.sampled_from(GOOD_FRAMES), label="frame")
    bad = dumps(mutated(data, good, keep=KEEP))
    frames: list[str | bytes] = [*opening_frames(), bad, *after_the_bad_frame()]
    outcome = read(frames)
    assert_skipped_with_a_reason(outcome, bad)
    assert_the_good_frames_after_it_arrived(outcome, frames)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_a_truncated_frame_costs_only_itself(data: st.DataObject) -> None:
    good = dumps(data.draw(st.sampled_from(GOOD_FRAMES), label="frame"))
    cut = data.draw(st.integers(min_value=0, max_value=len(good) - 1), label="cut")
    as_bytes = data.draw(st.booleans(), label="bytes")
    bad: str | bytes = good[:cut].encode() if as_bytes else good[:cut]
    frames: list[str | bytes] = [*opening_frames(), bad, *after_the_bad_frame()]
    outcome = read(frames)
    assert outcome.stats.decode_errors == 1  # a cut JSON text never decodes
    assert_the_good_frames_after_it_arrived(outcome, frames)


@settings(FUZZ, max_examples=40)
@given(garbage=st.binary(max_size=300) | st.text(max_size=300))
def test_garbage_costs_only_itself(garbage: str | bytes) -> None:
    frames: list[str | bytes] = [*opening_frames(), garbage, *after_the_bad_frame()]
    outcome = read(frames)
    assert_skipped_with_a_reason(outcome, garbage)
    assert_the_good_frames_after_it_arrived(outcome, frames)


# --- what the fuzzing found, pinned ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        '{"channel":"l2_data","sequence_num":3,"events":' + "[" * 100_000,
        '{"channel":"user","sequence_num":3,"timestamp":"2026-11-25T03:00:00Z","events":'
        + "[" * 50_000
        + "]" * 50_000
        + "}",
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["deep-truncated", "deep-user", "deep-list"],
)
def test_a_frame_nested_past_the_recursion_limit_is_a_frame_error_not_the_end_of_the_connection(bad: str) -> None:
    # msgspec raised RecursionError, out of the decoder and the salvage both: the reader ended the connection.
    with pytest.raises(FrameError):
        FrameDecoder().decode(bad)
    frames: list[str | bytes] = [*opening_frames(), bad, *after_the_bad_frame()]
    outcome = read(frames)
    assert outcome.stats.decode_errors == 1
    assert_the_good_frames_after_it_arrived(outcome, frames)


@pytest.mark.parametrize(
    "change",
    [
        {"cumulative_quantity": "1e9999999"},
        {"filled_value": "1e9999999"},
        {"total_fees": "-1e9999999"},
        {"filled_value": "", "avg_price": "1e999999", "cumulative_quantity": "1e999999"},
    ],
    ids=["size", "value", "fees", "size-times-price"],
)
def test_user_amounts_too_large_for_arithmetic_cost_only_their_order(change: dict[str, str]) -> None:
    # They parse as Decimals, but the fill increment's arithmetic raised decimal.Overflow out of the reader.
    bad = {**FILLED, "order_id": "huge", **change}
    frame = ws_frame("user", BAD_SEQ, [{"type": "update", "orders": [bad, FILLED]}])
    outcome = read([*opening_frames(), frame, *after_the_bad_frame()])
    marker = next(item for item in outcome.orders if isinstance(item, LookAgain))
    assert (marker.reason, marker.order_id) == (LookAgainReason.MALFORMED_ORDER, "huge")
    assert "out of range" in marker.detail
    assert [event.order_id for event in outcome.orders if isinstance(event, UserOrderEvent)] == ["o1", "keep-1"]


@pytest.mark.parametrize("price", ["1" + "0" * 5000, "0." + "0" * 5000 + "1", "9" * 4301 + ".5"])
def test_a_level2_price_of_thousands_of_digits_breaks_only_its_book_which_is_asked_for_again(price: str) -> None:
    # int() refuses more than 4300 digits: its ValueError escaped the book and ended the connection.
    update = ws_frame("l2_data", BAD_SEQ, [l2_event("update", "BTC-USD", [("bid", price, "1")])])
    outcome = read([*opening_frames(), update])
    assert outcome.books.state("BTC-USD") is BookState.AWAITING_SNAPSHOT
    assert outcome.stats.resyncs == 1
    assert [json.loads(sent)["type"] for sent in outcome.sent] == ["unsubscribe", "subscribe"]
