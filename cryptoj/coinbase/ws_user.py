"""The `user` channel turned into domain order events for the executor: a trigger to look, never the truth.

Coinbase reports each order's cumulative totals, not individual fills, so the tracker remembers the last
totals per order and reports the increase as a `FillDelta`. An order first seen in the open-orders snapshot
sets the baseline without a fill (what filled before we watched is the executor's to reconcile over REST);
one first seen in a live update was placed while we watched, so everything it reports filled is new.

The channel carries no trade ids, so a `FillDelta` can never be deduplicated: fills are read over REST by
order and deduplicated by trade id. Wherever the channel may have missed something, the order stream carries
a `LookAgain` marker instead (see `LookAgainReason`), which the consumer answers by reconciling over REST.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from cryptoj.coinbase.ws_errors import FrameError
from cryptoj.coinbase.ws_models import UserMessage, UserOrder
from cryptoj.domain.money import ZERO, InvalidAmount, parse_decimal
from cryptoj.domain.orders import Order, OrderStatus, can_transition
from cryptoj.domain.side import Side

__all__ = ["FillDelta", "LookAgain", "LookAgainReason", "OrderFeedItem", "UserOrderEvent", "UserOrderTracker"]

_log = logging.getLogger(__name__)


class LookAgainReason(StrEnum):
    """Why an order stream may be missing something."""

    LAGGED = "consumer lagged"  # the consumer fell behind and `dropped` events (or markers) were dropped
    MALFORMED_ORDER = "malformed order"  # one order of a frame could not be read (`order_id` names it if known)
    MALFORMED_FRAME = "malformed frame"  # a whole user frame could not be read
    SEQUENCE_GAP = "sequence gap"  # frames were lost on the connection; the user channel is resubscribed
    RECONNECT = "reconnect"  # the user channel is subscribed again on a new connection after one was lost


@dataclass(frozen=True, slots=True)
class LookAgain:
    """A marker in an order stream: something may have been missed, so reconcile open orders and fills over REST.

    It comes after every event that was delivered before the gap, and before any event after it, so a
    reconciliation started when the marker arrives covers everything the stream may have lost.
    """

    reason: LookAgainReason
    dropped: int = 0  # LAGGED: how many items the consumer missed
    order_id: str | None = None  # MALFORMED_ORDER: the order that could not be read, when its id could be
    detail: str = ""  # what was wrong, for the log (public data only)

    def __str__(self) -> str:
        parts = [self.reason.value]
        if self.dropped:
            parts.append(f"{self.dropped} dropped")
        if self.order_id:
            parts.append(f"order {self.order_id}")
        if self.detail:
            parts.append(self.detail)
        return "look again: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class FillDelta:
    """What filled since the previous report of an order (the channel gives totals, not trades).

    A hint, not a fill to book: it has no trade id, so it cannot be deduplicated. Read the order's fills over REST.
    """

    size: Decimal
    value: Decimal  # quote currency, before fees
    fees: Decimal

    @property
    def average_price(self) -> Decimal:
        """Volume-weighted price of this increment."""
        return self.value / self.size


@dataclass(frozen=True, slots=True)
class UserOrderEvent:
    """One order's state as the `user` channel reported it, with the fill increment since the last report."""

    order_id: str
    client_order_id: str
    product_id: str
    side: Side
    status: OrderStatus
    filled_size: Decimal
    leaves_size: Decimal
    filled_value: Decimal
    fees: Decimal
    average_price: Decimal | None
    limit_price: Decimal | None
    snapshot: bool  # part of the open-orders snapshot rather than a live update
    time: datetime
    new_fill: FillDelta | None = None
    reason: str | None = None  # the cancel or reject reason, when the exchange gave one

    def apply_to(self, order: Order) -> bool:
        """Move a domain order to the reported status; False when the status machine refuses a late report.

        Fills are not applied here: the channel reports totals, not trades (no trade id, no maker/taker),
        so the executor reads the order's fills over REST and books them by trade id; `new_fill` says when.
        """
        if order.exchange_order_id is None:
            order.exchange_order_id = self.order_id
        if not can_transition(order.status, self.status):
            return False
        order.transition(self.status, at=self.time, reason=self.reason)
        return True


# What an order stream yields: an order event, or a marker saying to reconcile over REST.
OrderFeedItem = UserOrderEvent | LookAgain

_TOTALS = tuple[Decimal, Decimal, Decimal]  # filled size, filled value, fees


class UserOrderTracker:
    """Turns user-channel frames into `UserOrderEvent`s, remembering totals per order until it ends.

    An order that cannot be read becomes a `LookAgain` marker in its place and changes nothing the tracker
    remembers: it costs only itself, never the events of the other orders in its frame.
    """

    def __init__(self) -> None:
        self._totals: dict[str, _TOTALS] = {}

    @property
    def tracked(self) -> int:
        """How many live orders the tracker remembers."""
        return len(self._totals)

    def events(self, message: UserMessage) -> list[OrderFeedItem]:
        """The order events of one frame, in order, with a `LookAgain` in place of each order that cannot be read."""
        result: list[OrderFeedItem] = []
        for event in message.events:
            for order in event.orders:
                try:
                    result.append(self._event(order, snapshot=event.type == "snapshot", time=message.timestamp))
                except FrameError as exc:
                    result.append(
                        LookAgain(LookAgainReason.MALFORMED_ORDER, order_id=order.order_id, detail=exc.reason)
                    )
                except ArithmeticError:
                    # decimal.Overflow: amounts such as 1e9999999 parse, but no difference or product of them does.
                    detail = f"user order {order.order_id}: amounts out of range"
                    result.append(LookAgain(LookAgainReason.MALFORMED_ORDER, order_id=order.order_id, detail=detail))
        return result

    def _event(self, order: UserOrder, *, snapshot: bool, time: datetime) -> UserOrderEvent:
        try:
            side = Side(order.order_side.upper())
            filled = _amount(order.cumulative_quantity) or ZERO
            reported_value = _amount(order.filled_value)
            fees = _amount(order.total_fees) or ZERO
            leaves = _amount(order.leaves_quantity) or ZERO
            average = _amount(order.avg_price)
            limit = _amount(order.limit_price)
        except (ValueError, InvalidAmount) as exc:
            raise FrameError(f"user order {order.order_id}: {exc}") from None
        status = _status(order.status)
        previous = self._totals.get(order.order_id)
        if previous is None and not snapshot:
            # A live update of an order not seen before: it was placed while we watched, so all of it is new.
            previous = (ZERO, ZERO, ZERO)
        filling = previous is not None and filled > previous[0]
        value = _filled_value(reported_value, filled, average)
        if value is None:
            if filling:
                # Booking it at zero would corrupt PnL; the executor reads this fill over REST instead.
                raise FrameError(f"user order {order.order_id}: a fill came with neither filled_value nor avg_price")
            value = ZERO
        new_fill = None
        if previous is not None and filling:
            new_fill = FillDelta(size=filled - previous[0], value=value - previous[1], fees=fees - previous[2])
        if status.is_terminal:
            self._totals.pop(order.order_id, None)
        else:
            self._totals[order.order_id] = (filled, value, fees)
        return UserOrderEvent(
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            product_id=order.product_id,
            side=side,
            status=status,
            filled_size=filled,
            leaves_size=leaves,
            filled_value=value,
            fees=fees,
            average_price=average if average else None,
            limit_price=limit if limit else None,
            snapshot=snapshot,
            time=time,
            new_fill=new_fill,
            reason=order.cancel_reason or order.reject_reason or None,
        )


def _filled_value(reported: Decimal | None, filled: Decimal, average: Decimal | None) -> Decimal | None:
    """The quote value filled so far: as reported, else size times average price (some frames omit it)."""
    if reported is not None:
        return reported
    if not filled:
        return ZERO
    return filled * average if average else None


def _amount(text: str) -> Decimal | None:
    # The channel sends "" for amounts that do not apply (a market order's limit price).
    return parse_decimal(text) if text.strip() else None


def _status(text: str) -> OrderStatus:
    try:
        status = OrderStatus(text.upper())
    except ValueError:
        _log.warning("user channel sent an unknown order status %r; treating it as UNKNOWN_ORDER_STATUS", text)
        return OrderStatus.UNKNOWN_ORDER_STATUS
    if status in (OrderStatus.CREATED, OrderStatus.SUBMITTING, OrderStatus.UNKNOWN_OUTCOME, OrderStatus.DENIED):
        # Local-only statuses can never come from the exchange.
        return OrderStatus.UNKNOWN_ORDER_STATUS
    return status
