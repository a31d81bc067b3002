"""What can still be read from a frame the typed decoder refuses: its sequence number, channel, products, orders."""

from __future__ import annotations

import pytest

from cryptoj.coinbase.ws_decode import FrameDecoder
from cryptoj.coinbase.ws_errors import FrameError
from cryptoj.coinbase.ws_salvage import salvage
from tests.utils.fixtures.websocket import l2_event, user_order, ws_frame


def refused(frame: str) -> str:
    """The frame, after checking that the typed decoder really refuses it."""
    with pytest.raises(FrameError):
        FrameDecoder().decode(frame)
    return frame


def test_the_sequence_number_and_channel_of_a_frame_with_a_bad_body_are_read() -> None:
    found = salvage(refused(ws_frame("ticker", 7, [{"type": "update", "tickers": [{"price": "abc"}]}])))
    assert found is not None
    assert (found.sequence_num, found.channel) == (7, "ticker")


def test_a_level2_frame_names_the_products_whose_updates_were_lost() -> None:
    events = [
        l2_event("update", "BTC-USD", [("bid", "abc", "1")]),
        l2_event("update", "ETH-USD", [("bid", "1", "1")]),
    ]
    found = salvage(refused(ws_frame("l2_data", 3, events)))
    assert found is not None
    assert found.product_ids == frozenset({"BTC-USD", "ETH-USD"})


def test_products_that_cannot_be_read_are_unknown_not_none() -> None:
    found = salvage(refused(ws_frame("l2_data", 3, [{"type": "update", "product_id": 5, "updates": []}])))
    assert found is not None
    assert found.product_ids is None  # the caller must assume any product


@pytest.mark.parametrize("frame", ["garbage", '{"channel":"mystery"}', "[]", '{"sequence_num":"x","channel":"ticker"}'])
def test_a_frame_without_a_readable_sequence_number_gives_nothing(frame: str) -> None:
    assert salvage(refused(frame)) is None


def test_a_user_frame_is_split_into_the_orders_that_decode_and_those_that_do_not() -> None:
    no_product = {key: value for key, value in user_order("o2").items() if key != "product_id"}
    frame = ws_frame("user", 4, [{"type": "update", "orders": [user_order("o1"), no_product, {"order_id": 5}]}])
    found = salvage(refused(frame))
    assert found is not None
    assert found.user is not None
    assert [order.order_id for event in found.user.events for order in event.orders] == ["o1"]
    assert found.user.sequence_num == 4
    assert [bad.order_id for bad in found.bad_orders] == ["o2", ""]
    assert "product_id" in found.bad_orders[0].reason


def test_a_user_frame_whose_events_cannot_be_read_keeps_no_orders() -> None:
    found = salvage(refused(ws_frame("user", 4, [{"type": "update", "orders": "not a list"}])))
    assert found is not None
    assert (found.channel, found.user, found.bad_orders) == ("user", None, ())
