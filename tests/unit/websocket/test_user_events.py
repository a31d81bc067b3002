"""User channel -> domain order events: statuses, sides, and fill increments from cumulative totals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

from cryptoj.coinbase.ws_models import UserEvent, UserMessage, UserOrder
from cryptoj.coinbase.ws_user import LookAgain, LookAgainReason, UserOrderEvent, UserOrderTracker
from cryptoj.domain.orders import Order, OrderIntent, OrderStatus, OrderType
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
def test_a_malformed_order_becomes_a_look_again_marker_naming_it(change: dict[str, str]) -> None:
    (marker,) = UserOrderTracker().events(message("update", user_order("o1") | change))
    assert isinstance(marker, LookAgain)
    assert (marker.reason, marker.order_id) == (LookAgainReason.MALFORMED_ORDER, "o1")


def domain_order(client_order_id: str = "coid-o1") -> Order:
    intent = OrderIntent(
        product_id="BTC-USD",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        base_size=Decimal("1"),
        limit_price=Decimal("50000"),
    )
    order = Order(client_order_id=client_order_id, intent=intent, created_at=NOW)
    order.transition(OrderStatus.SUBMITTING, at=NOW)
    return order


def test_events_drive_a_domain_order_through_its_statuses() -> None:
    tracker, order = UserOrderTracker(), domain_order()
    (opened,) = tracker.events(message("update", user_order("o1")))
    (cancelled,) = tracker.events(
        message("update", user_order("o1", status="CANCELLED") | {"cancel_reason": "User requested"})
    )
    assert opened.apply_to(order)
    assert cancelled.apply_to(order)
    assert order.status is OrderStatus.CANCELLED
    assert order.exchange_order_id == "o1"
    assert order.reason == "User requested"
    assert [change.status for change in order.history][-2:] == [OrderStatus.OPEN, OrderStatus.CANCELLED]


def test_a_late_report_after_a_terminal_status_is_refused_quietly() -> None:
    order = domain_order()
    (filled,) = UserOrderTracker().events(message("update", user_order("o1", status="FILLED", filled="1", value="1")))
    (late_open,) = UserOrderTracker().events(message("update", user_order("o1")))
    assert filled.apply_to(order)
    assert not late_open.apply_to(order)
    assert order.status is OrderStatus.FILLED


def _without_filled_value(order: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in order.items() if key != "filled_value"}


def test_a_fill_reported_without_filled_value_is_priced_from_avg_price_not_at_zero() -> None:
    # Some real user frames carry avg_price but no filled_value; a missing value must not mean a fill at 0.
    tracker = UserOrderTracker()
    tracker.events(message("snapshot", _without_filled_value(user_order("o1", filled="0.4", value="20000"))))
    update = _without_filled_value(user_order("o1", filled="1", value="50600"))  # avg_price 50600
    (event,) = tracker.events(message("update", update))
    assert event.new_fill is not None
    assert event.new_fill.size == Decimal("0.6")
    assert event.new_fill.value == Decimal("50600") - Decimal("0.4") * Decimal("50000")
    assert event.filled_value == Decimal("50600")


def test_a_fill_with_neither_filled_value_nor_avg_price_is_refused_not_booked_at_zero() -> None:
    order = _without_filled_value(user_order("o1", filled="0.5", value="25000")) | {"avg_price": ""}
    (marker,) = UserOrderTracker().events(message("update", order))
    assert isinstance(marker, LookAgain)
    assert marker.order_id == "o1"
    assert "neither filled_value nor avg_price" in marker.detail


def test_a_malformed_order_costs_only_itself_and_the_fill_before_it_in_the_frame_survives() -> None:
    tracker = UserOrderTracker()
    tracker.events(message("snapshot", user_order("o1"), user_order("o3")))
    bad = user_order("o2") | {"cumulative_quantity": "lots"}
    first, marker, third = tracker.events(
        message("update", user_order("o1", filled="0.5", value="25000"), bad, user_order("o3", status="CANCELLED"))
    )
    assert isinstance(first, UserOrderEvent)
    assert first.new_fill is not None
    assert first.new_fill.size == Decimal("0.5")
    assert marker == LookAgain(LookAgainReason.MALFORMED_ORDER, order_id="o2", detail=marker.detail)  # type: ignore[union-attr]
    assert isinstance(third, UserOrderEvent)
    assert third.status is OrderStatus.CANCELLED
    # The fill was reported once: the next report of the same totals is no new fill.
    (again,) = tracker.events(message("update", user_order("o1", filled="0.5", value="25000")))
    assert isinstance(again, UserOrderEvent)
    assert again.new_fill is None


def test_a_malformed_order_leaves_its_own_baseline_untouched() -> None:
    tracker = UserOrderTracker()
    tracker.events(message("snapshot", user_order("o1", filled="0.2", value="10000")))
    (marker,) = tracker.events(message("update", user_order("o1") | {"cumulative_quantity": "lots"}))
    assert isinstance(marker, LookAgain)
    (event,) = tracker.events(message("update", user_order("o1", filled="0.5", value="25000")))
    assert isinstance(event, UserOrderEvent)
    assert event.new_fill is not None
    assert event.new_fill.size == Decimal("0.3")  # measured from the last good report, not lost


def test_look_again_says_why_in_its_text() -> None:
    assert "3" in str(LookAgain(LookAgainReason.LAGGED, dropped=3))
    assert "o2" in str(LookAgain(LookAgainReason.MALFORMED_ORDER, order_id="o2", detail="bad amount"))
