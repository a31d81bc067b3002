"""User channel -> domain order events: statuses, sides, and fill increments from cumulative totals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

from cryptoj.coinbase.ws_errors import FrameError
from cryptoj.coinbase.ws_models import UserEvent, UserMessage, UserOrder
from cryptoj.coinbase.ws_user import UserOrderTracker
from cryptoj.domain.orders import OrderStatus
from cryptoj.domain.side import Side
from tests.utils.fixtures.websocket import user_order

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def message(kind: str, *orders: dict[str, object]) -> UserMessage:
    decoded = [msgspec.convert(o, UserOrder) for o in orders]
    return UserMessage(timestamp=NOW, sequence_num=0, events=[UserEvent(type=kind, orders=decoded)])  # type: ignore[arg-type]


def test_first_sight_sets_the_baseline_without_a_fill() -> None:
    tracker = UserOrderTracker()
    (event,) = tracker.events(message("snapshot", user_order("o1", filled="0.4", value="20000")))
    assert event.snapshot
    assert event.new_fill is None
    assert event.filled_size == Decimal("0.4")
    assert event.side is Side.BUY
    assert event.limit_price == Decimal("50000")


def test_an_order_first_seen_in_a_live_update_reports_all_its_fills() -> None:
    (event,) = UserOrderTracker().events(
        message("update", user_order("o9", status="FILLED", filled="1", value="50000"))
    )
    assert event.new_fill is not None
    assert event.new_fill.size == Decimal("1")


def test_a_rise_in_cumulative_quantity_is_reported_as_a_fill_increment() -> None:
    tracker = UserOrderTracker()
    tracker.events(message("snapshot", user_order("o1", filled="0.4", value="20000", fees="10")))
    (event,) = tracker.events(message("update", user_order("o1", filled="1", value="50600", fees="25")))
    assert event.new_fill is not None
    assert event.new_fill.size == Decimal("0.6")
    assert event.new_fill.value == Decimal("30600")
    assert event.new_fill.average_price == Decimal("51000")
    assert event.new_fill.fees == Decimal("15")


def test_a_repeated_report_gives_no_second_fill() -> None:
    tracker = UserOrderTracker()
    tracker.events(message("snapshot", user_order("o1")))
    (first,) = tracker.events(message("update", user_order("o1", filled="0.5", value="25000")))
    assert first.new_fill is not None
    (again,) = tracker.events(message("update", user_order("o1", filled="0.5", value="25000")))
    assert again.new_fill is None


def test_a_terminal_order_is_forgotten() -> None:
    tracker = UserOrderTracker()
    tracker.events(message("snapshot", user_order("o1")))
    (event,) = tracker.events(message("update", user_order("o1", status="CANCELLED")))
    assert event.status is OrderStatus.CANCELLED
    assert tracker.tracked == 0


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        ("QUEUED", OrderStatus.QUEUED),
        ("SOMETHING_NEW", OrderStatus.UNKNOWN_ORDER_STATUS),
        ("CREATED", OrderStatus.UNKNOWN_ORDER_STATUS),
    ],
)
def test_statuses_map_to_domain_statuses_and_unknown_ones_stay_unknown(wire: str, status: OrderStatus) -> None:
    (event,) = UserOrderTracker().events(message("update", user_order("o1", status=wire)))
    assert event.status is status


def test_empty_amounts_mean_not_applicable() -> None:
    order = user_order("o1") | {"limit_price": "", "avg_price": ""}
    (event,) = UserOrderTracker().events(message("update", order))
    assert event.limit_price is None
    assert event.average_price is None


@pytest.mark.parametrize("change", [{"cumulative_quantity": "lots"}, {"order_side": "HOLD"}])
def test_a_malformed_order_raises_frame_error(change: dict[str, str]) -> None:
    with pytest.raises(FrameError, match="o1"):
        UserOrderTracker().events(message("update", user_order("o1") | change))
