"""Frame decoding into typed messages: documented examples, real-traffic shapes, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from cryptoj.coinbase.ws_decode import FrameDecoder
from cryptoj.coinbase.ws_errors import FrameError
from cryptoj.coinbase.ws_models import (
    CandlesMessage,
    ErrorFrame,
    HeartbeatsMessage,
    L2Message,
    MarketTradesMessage,
    StatusMessage,
    SubscriptionsMessage,
    TickerMessage,
    UserMessage,
    parse_go_time,
)

decoder = FrameDecoder()


def frame(channel: str, events: list[object], **envelope: object) -> bytes:
    body: dict[str, object] = {
        "channel": channel,
        "client_id": "",
        "timestamp": "2026-11-25T03:00:00.123456789Z",
        "sequence_num": 7,
        "events": events,
    }
    body.update(envelope)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ws_heartbeats.json", HeartbeatsMessage),
        ("ws_level2.json", L2Message),
        ("ws_market_trades.json", MarketTradesMessage),
        ("ws_ticker.json", TickerMessage),
    ],
)
def test_documented_examples_decode_into_their_message_type(ws_examples_dir: Path, name: str, kind: type) -> None:
    assert isinstance(decoder.decode((ws_examples_dir / name).read_bytes()), kind)


def test_level2_prices_and_sizes_are_exact_decimals(ws_examples_dir: Path) -> None:
    message = decoder.decode((ws_examples_dir / "ws_level2.json").read_bytes())
    assert isinstance(message, L2Message)
    update = message.events[0].updates[0]
    assert update.price_level == Decimal("21921.73")
    assert update.new_quantity == Decimal("0.06317902")
    assert message.timestamp == datetime(2023, 2, 9, 20, 32, 50, 714965, tzinfo=UTC)


def test_level2_keeps_the_wire_text_of_prices_and_sizes(ws_examples_dir: Path) -> None:
    # No Decimal per level at decode time: the book reads the text itself (46,000 levels in a snapshot).
    message = decoder.decode((ws_examples_dir / "ws_level2.json").read_bytes())
    assert isinstance(message, L2Message)
    update = message.events[0].updates[1]
    assert (update.side, update.price_text, update.size_text) == ("bid", "21921.3", "0.02")


def test_a_level2_price_that_is_no_number_raises_frame_error_when_read_as_decimal() -> None:
    # The frame decodes (texts are kept as sent); the book refuses it when applied (tests/unit/websocket/
    # test_books.py), and asking for the Decimal is a typed error, never decimal.InvalidOperation.
    update = {"side": "bid", "event_time": "", "price_level": "abc", "new_quantity": "NaN"}
    message = decoder.decode(frame("l2_data", [{"type": "snapshot", "product_id": "X", "updates": [update]}]))
    assert isinstance(message, L2Message)
    level = message.events[0].updates[0]
    with pytest.raises(FrameError, match="price_level is not a decimal number: 'abc'"):
        _ = level.price_level
    with pytest.raises(FrameError, match="new_quantity is not a decimal number: 'NaN'"):
        _ = level.new_quantity


def test_fact_02_client_id_may_be_absent() -> None:
    raw = json.loads(frame("heartbeats", [{"current_time": "x", "heartbeat_counter": "1"}]))
    del raw["client_id"]
    message = decoder.decode(json.dumps(raw))
    assert isinstance(message, HeartbeatsMessage)
    assert message.client_id == ""


def test_fact_04_absurd_far_levels_stay_exact() -> None:
    update = {"side": "offer", "event_time": "2026-11-25T03:00:00Z", "price_level": "138991023.41", "new_quantity": "1"}
    message = decoder.decode(frame("l2_data", [{"type": "snapshot", "product_id": "BTC-USD", "updates": [update]}]))
    assert isinstance(message, L2Message)
    assert message.events[0].updates[0].price_level == Decimal("138991023.41")


def test_fact_05_a_level2_frame_may_hold_several_events() -> None:
    events = [
        {
            "type": "update",
            "product_id": p,
            "updates": [{"side": "bid", "event_time": "", "price_level": "1", "new_quantity": "2"}],
        }
        for p in ("BTC-USD", "ETH-USD")
    ]
    message = decoder.decode(frame("l2_data", events))
    assert isinstance(message, L2Message)
    assert [e.product_id for e in message.events] == ["BTC-USD", "ETH-USD"]


def test_fact_06_ticker_extra_fields_are_parsed(ws_examples_dir: Path) -> None:
    message = decoder.decode((ws_examples_dir / "ws_ticker.json").read_bytes())
    assert isinstance(message, TickerMessage)
    ticker = message.events[0].tickers[0]
    assert ticker.best_bid == Decimal("21931.98")
    assert ticker.best_ask_quantity == Decimal("8038.07770938")
    assert ticker.high_52_w == Decimal("48240")
    assert ticker.price_percent_chg_24_h == Decimal("-4.15775596190603")


def test_fact_07_candle_start_is_epoch_seconds_text() -> None:
    candle = {
        "start": "1764039600",
        "high": "2",
        "low": "1",
        "open": "1.5",
        "close": "1.7",
        "volume": "9",
        "product_id": "BTC-USD",
    }
    message = decoder.decode(frame("candles", [{"type": "snapshot", "candles": [candle]}]))
    assert isinstance(message, CandlesMessage)
    assert message.events[0].candles[0].start_time == datetime(2025, 11, 25, 3, 0, tzinfo=UTC)


def test_fact_08_heartbeat_go_time_parses_and_the_counter_may_be_a_number() -> None:
    body = {"current_time": "2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105", "heartbeat_counter": 3049}
    message = decoder.decode(frame("heartbeats", [body]))
    assert isinstance(message, HeartbeatsMessage)
    assert message.events[0].time == datetime(2023, 6, 23, 20, 31, 56, 121961, tzinfo=UTC)
    assert message.events[0].heartbeat_counter == 3049


def test_go_time_keeps_its_offset_and_refuses_other_shapes() -> None:
    parsed = parse_go_time("2026-01-02 03:04:05 -0130 XYZ")
    assert parsed == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(-timedelta(hours=1, minutes=30)))
    assert parse_go_time("2026-01-02T03:04:05Z") is None
    assert parse_go_time("2026-13-40 03:04:05 +0000 UTC") is None


def test_fact_03_subscriptions_ack_reports_the_whole_set() -> None:
    message = decoder.decode(
        frame("subscriptions", [{"subscriptions": {"level2": ["ETH-USD", "BTC-USD"], "heartbeats": ["heartbeats"]}}])
    )
    assert isinstance(message, SubscriptionsMessage)
    assert message.current == {"level2": frozenset({"BTC-USD", "ETH-USD"}), "heartbeats": frozenset({"heartbeats"})}


def test_fact_09_error_frames_decode_as_error_frames() -> None:
    message = decoder.decode('{"type":"error","message":"authentication failure"}')
    assert message == ErrorFrame(type="error", message="authentication failure")


def test_status_and_user_frames_decode() -> None:
    product = {
        "id": "BTC-USD",
        "base_increment": "0.00000001",
        "quote_increment": "0.01",
        "status": "online",
        "min_market_funds": "1",
    }
    status = decoder.decode(frame("status", [{"type": "snapshot", "products": [product]}]))
    assert isinstance(status, StatusMessage)
    assert status.events[0].products[0].base_increment == Decimal("0.00000001")
    order = {
        "order_id": "1",
        "product_id": "BTC-USD",
        "order_side": "BUY",
        "status": "OPEN",
        "post_only": "false",
        "stop_price": "",
    }
    user = decoder.decode(frame("user", [{"type": "snapshot", "orders": [order]}]))
    assert isinstance(user, UserMessage)
    assert user.events[0].orders[0].stop_price == ""


def test_unknown_fields_are_ignored() -> None:
    message = decoder.decode(
        frame("heartbeats", [{"current_time": "x", "heartbeat_counter": "1", "new": 1}], extra={"a": 1})
    )
    assert isinstance(message, HeartbeatsMessage)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"channel":"mystery","sequence_num":1}', "mystery"),
        (
            frame(
                "l2_data",
                [
                    {
                        "type": "snapshot",
                        "product_id": "X",
                        "updates": [{"side": "ask", "event_time": "", "price_level": "1", "new_quantity": "1"}],
                    }
                ],
            ),
            "side",
        ),
        (frame("heartbeats", [], sequence_num="seven"), "int"),
    ],
    ids=["not-json", "unknown-channel", "bad-side", "bad-sequence"],
)
def test_bad_frames_raise_frame_error_with_an_excerpt(raw: bytes, reason: str) -> None:
    with pytest.raises(FrameError) as caught:
        decoder.decode(raw)
    assert reason.lower() in caught.value.reason.lower()
    assert caught.value.excerpt
