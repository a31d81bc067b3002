"""Order intents, orders, fills and the order status machine.

Three outcomes stay apart: *denied* (our own checks refused an intent, nothing was sent), *rejected*
(the exchange answered no) and *unknown outcome* (sent, no answer: look the order up by its
client_order_id, never resend blindly).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import ZERO
from cryptoj.domain.side import Side

__all__ = [
    "TERMINAL_STATUSES",
    "Fill",
    "IllegalTransition",
    "InvalidIntent",
    "Liquidity",
    "Order",
    "OrderIntent",
    "OrderStatus",
    "OrderType",
    "Side",
    "StatusChange",
    "StopDirection",
    "TimeInForce",
    "can_transition",
    "client_order_id_for",
]


class InvalidIntent(DomainError):
    """An order intent that cannot describe a real order (missing price, two sizes, bad time in force)."""


class IllegalTransition(DomainError):
    """An order status change the status machine does not allow."""


class OrderType(StrEnum):
    """The kinds of spot order CryptoJ places."""

    MARKET = "MARKET"  # takes liquidity at once; Coinbase only has IOC (and FOK) market orders
    LIMIT = "LIMIT"  # a price limit; rests (GTC/GTD) or not (IOC/FOK)
    STOP_LIMIT = "STOP_LIMIT"  # becomes a limit order once the last trade passes the stop price


class TimeInForce(StrEnum):
    """How long an order may rest, as Coinbase names it."""

    GOOD_UNTIL_CANCELLED = "GOOD_UNTIL_CANCELLED"  # rests until filled or cancelled
    GOOD_UNTIL_DATE_TIME = "GOOD_UNTIL_DATE_TIME"  # rests until end_time, then EXPIRED
    IMMEDIATE_OR_CANCEL = "IMMEDIATE_OR_CANCEL"  # fills what it can now, cancels the rest
    FILL_OR_KILL = "FILL_OR_KILL"  # fills entirely now or not at all


class StopDirection(StrEnum):
    """Which way the last trade must cross the stop price to trigger a stop-limit order."""

    STOP_UP = "STOP_DIRECTION_STOP_UP"  # triggers when the price rises to the stop (buy stops)
    STOP_DOWN = "STOP_DIRECTION_STOP_DOWN"  # triggers when the price falls to the stop (sell stops)


class Liquidity(StrEnum):
    """Whether a fill added liquidity (maker) or took it (taker): they pay different fees."""

    MAKER = "MAKER"
    TAKER = "TAKER"


class OrderStatus(StrEnum):
    """Coinbase's order statuses plus the local ones an order passes through before the exchange answers."""

    # Local: the exchange has not (knowingly) seen the order.
    CREATED = "CREATED"  # intent stored, not sent yet
    SUBMITTING = "SUBMITTING"  # the create request is in flight
    UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"  # sent, no answer (timeout, 5xx, dropped connection): look it up
    DENIED = "DENIED"  # our validation or risk check refused it; never sent
    # The exchange answered the create with success=false: no order exists there, unless another send of the
    # same client_order_id (one still on the wire) lands after it; see `can_transition`.
    REJECTED = "REJECTED"
    # Coinbase's statuses.
    PENDING = "PENDING"  # accepted, not yet open on the book
    QUEUED = "QUEUED"  # accepted and queued by the exchange
    OPEN = "OPEN"  # working on the book (possibly partly filled)
    FILLED = "FILLED"  # completely filled
    CANCEL_QUEUED = "CANCEL_QUEUED"  # a cancel was accepted and is being processed
    EDIT_QUEUED = "EDIT_QUEUED"  # an edit was accepted and is being processed
    CANCELLED = "CANCELLED"  # cancelled (by us, or the unfilled rest of an IOC/market order)
    EXPIRED = "EXPIRED"  # a GTD order reached its end time
    FAILED = "FAILED"  # the exchange failed the order after accepting it
    UNKNOWN_ORDER_STATUS = "UNKNOWN_ORDER_STATUS"  # the exchange itself does not know; ask again

    @property
    def is_terminal(self) -> bool:
        """Whether no further change can happen."""
        return self in TERMINAL_STATUSES

    @property
    def is_open(self) -> bool:
        """Whether the order may still fill (and so holds funds and counts against open-order limits)."""
        return self in _WORKING


TERMINAL_STATUSES = frozenset(
    {
        OrderStatus.DENIED,
        OrderStatus.REJECTED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.FAILED,
    }
)
_WORKING = frozenset(
    {
        OrderStatus.SUBMITTING,
        OrderStatus.UNKNOWN_OUTCOME,
        OrderStatus.PENDING,
        OrderStatus.QUEUED,
        OrderStatus.OPEN,
        OrderStatus.CANCEL_QUEUED,
        OrderStatus.EDIT_QUEUED,
        OrderStatus.UNKNOWN_ORDER_STATUS,
    }
)
_EXCHANGE_REPORTED = frozenset(
    {
        OrderStatus.PENDING,
        OrderStatus.QUEUED,
        OrderStatus.OPEN,
        OrderStatus.FILLED,
        OrderStatus.CANCEL_QUEUED,
        OrderStatus.EDIT_QUEUED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.FAILED,
        OrderStatus.UNKNOWN_ORDER_STATUS,
    }
)
_S = OrderStatus
# Which status may follow which. Staying in the same non-terminal status is always allowed (a repeated
# update, or a partial fill while OPEN).
_ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.CREATED: frozenset({_S.SUBMITTING, _S.DENIED, _S.CANCELLED}),
    # The answer to a create can be any exchange status, a rejection, or no answer at all.
    _S.SUBMITTING: _EXCHANGE_REPORTED | {_S.REJECTED, _S.UNKNOWN_OUTCOME},
    # A lookup resolves an unknown outcome; "not found" allows a resend with the same client_order_id.
    _S.UNKNOWN_OUTCOME: _EXCHANGE_REPORTED | {_S.SUBMITTING, _S.REJECTED},
    _S.PENDING: _EXCHANGE_REPORTED,
    _S.QUEUED: _EXCHANGE_REPORTED,
    _S.OPEN: _EXCHANGE_REPORTED - {_S.PENDING, _S.QUEUED},
    # A cancel can lose the race against a fill, or be refused (back to OPEN).
    _S.CANCEL_QUEUED: frozenset({_S.CANCELLED, _S.FILLED, _S.OPEN, _S.EXPIRED, _S.FAILED, _S.UNKNOWN_ORDER_STATUS}),
    _S.EDIT_QUEUED: frozenset(
        {_S.OPEN, _S.FILLED, _S.CANCEL_QUEUED, _S.CANCELLED, _S.EXPIRED, _S.FAILED, _S.UNKNOWN_ORDER_STATUS}
    ),
    _S.UNKNOWN_ORDER_STATUS: _EXCHANGE_REPORTED,
}


# A rejection answers one send. Another send of the same client_order_id can land after it: an earlier one
# still on the wire when this one was refused, or another process's resend. The exchange's report of the
# order that landed then replaces the rejection, or the store would keep REJECTED over a filled order.
_CORRECTIONS: dict[OrderStatus, frozenset[OrderStatus]] = {_S.REJECTED: _EXCHANGE_REPORTED}


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    """Whether the status machine allows `current -> new`."""
    if current in _CORRECTIONS:
        return new in _CORRECTIONS[current]
    if current.is_terminal:
        return False
    return new == current or new in _ALLOWED[current]


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What a strategy wants traded, before it becomes an order.

    Parameters:
        product_id: e.g. ``BTC-USD``.
        side: BUY or SELL.
        order_type: MARKET, LIMIT or STOP_LIMIT.
        base_size / quote_size: exactly one; quote_size only for market orders.
        limit_price: required for LIMIT and STOP_LIMIT.
        stop_price, stop_direction: required for STOP_LIMIT.
        time_in_force: market orders are IOC (or FOK); limits any of the four.
        end_time: required for GOOD_UNTIL_DATE_TIME, refused otherwise.
        post_only: maker-only; only for resting (GTC/GTD) limit orders.
    """

    product_id: str
    side: Side
    order_type: OrderType
    base_size: Decimal | None = None
    quote_size: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    stop_direction: StopDirection | None = None
    time_in_force: TimeInForce = TimeInForce.GOOD_UNTIL_CANCELLED
    end_time: datetime | None = None
    post_only: bool = False

    def __post_init__(self) -> None:
        problems = _intent_problems(self)
        if problems:
            raise InvalidIntent(f"invalid order intent for {self.product_id}: " + "; ".join(problems))

    @property
    def is_market(self) -> bool:
        """Whether this is a market order."""
        return self.order_type is OrderType.MARKET

    @property
    def rests(self) -> bool:
        """Whether an unfilled remainder stays on the book (GTC or GTD limit orders)."""
        return self.time_in_force in (TimeInForce.GOOD_UNTIL_CANCELLED, TimeInForce.GOOD_UNTIL_DATE_TIME)

    def notional(self, reference_price: Decimal) -> Decimal:
        """Quote value of the intent: quote_size, or base_size at the limit (else the reference) price."""
        if self.base_size is None:  # then quote_size is set: _intent_problems requires exactly one
            return self.quote_size or ZERO
        return self.base_size * (self.limit_price if self.limit_price is not None else reference_price)


def _intent_problems(intent: OrderIntent) -> list[str]:
    problems: list[str] = []
    if not intent.product_id:
        problems.append("product_id is empty")
    if (intent.base_size is None) == (intent.quote_size is None):
        problems.append("give exactly one of base_size and quote_size")
    for name in ("base_size", "quote_size", "limit_price", "stop_price"):
        value = getattr(intent, name)
        if value is not None and (not value.is_finite() or value <= 0):
            problems.append(f"{name} must be positive, got {value}")
    tif = intent.time_in_force
    if intent.order_type is OrderType.MARKET:
        if intent.limit_price is not None or intent.stop_price is not None:
            problems.append("a market order takes no limit or stop price")
        if tif not in (TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL):
            problems.append("a market order is IMMEDIATE_OR_CANCEL or FILL_OR_KILL")
    else:
        if intent.limit_price is None:
            problems.append(f"a {intent.order_type.value} order needs a limit_price")
        if intent.quote_size is not None:
            problems.append("only market orders may be sized in quote currency")
    if intent.order_type is OrderType.STOP_LIMIT:
        if intent.stop_price is None or intent.stop_direction is None:
            problems.append("a stop-limit order needs stop_price and stop_direction")
        if tif not in (TimeInForce.GOOD_UNTIL_CANCELLED, TimeInForce.GOOD_UNTIL_DATE_TIME):
            problems.append("a stop-limit order is GOOD_UNTIL_CANCELLED or GOOD_UNTIL_DATE_TIME")
    elif intent.stop_price is not None or intent.stop_direction is not None:
        problems.append("only stop-limit orders take a stop price")
    if (tif is TimeInForce.GOOD_UNTIL_DATE_TIME) != (intent.end_time is not None):
        problems.append("end_time is required for GOOD_UNTIL_DATE_TIME and refused otherwise")
    if intent.end_time is not None and intent.end_time.tzinfo is None:
        problems.append("end_time must be timezone-aware")
    if intent.post_only and (intent.order_type is not OrderType.LIMIT or not intent.rests):
        problems.append("post_only is only for GTC or GTD limit orders")
    return problems


_CLIENT_ORDER_ID_NAMESPACE = uuid.UUID("6f1d8d43-2c65-4f0e-9d7b-3c1c8a7e2b51")


def client_order_id_for(*, cycle_key: str, strategy: str, product_id: str, intent_index: int) -> str:
    """The deterministic client_order_id of an intent: the same inputs always give the same id.

    A retried or re-run cycle derives the same id, so Coinbase returns the existing order instead of
    creating a duplicate.
    """
    if not cycle_key or not strategy or not product_id:
        raise InvalidIntent("cycle_key, strategy and product_id are needed for a client_order_id")
    if intent_index < 0:
        raise InvalidIntent(f"intent_index must not be negative, got {intent_index}")
    # "|" cannot appear in product ids and is escaped in the free-text parts, so distinct inputs never collide.
    parts = (part.replace("\\", "\\\\").replace("|", "\\|") for part in (cycle_key, strategy, product_id))
    return str(uuid.uuid5(_CLIENT_ORDER_ID_NAMESPACE, "|".join((*parts, str(intent_index)))))


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of (part of) an order. Fees are in quote currency."""

    trade_id: str
    client_order_id: str
    product_id: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: Liquidity
    time: datetime
    order_id: str | None = None  # the exchange's id, when known

    def __post_init__(self) -> None:
        if not (self.price.is_finite() and self.size.is_finite() and self.fee.is_finite()):
            # Checked first: comparing a NaN raises decimal.InvalidOperation, and infinity would pass `> 0`.
            raise InvalidIntent(
                f"fill {self.trade_id} needs finite amounts, got {self.size} at {self.price}, fee {self.fee}"
            )
        if self.price <= 0 or self.size <= 0:
            raise InvalidIntent(f"fill {self.trade_id} needs a positive price and size")
        if self.fee < 0:
            raise InvalidIntent(f"fill {self.trade_id} has a negative fee {self.fee}")

    @property
    def notional(self) -> Decimal:
        """Quote value of the fill before fees."""
        return self.price * self.size


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One step of an order's status history."""

    status: OrderStatus
    at: datetime
    reason: str | None = None


@dataclass(eq=False)
class Order:
    """An order: an intent with an identity, a status, and what has filled. Identity is the client_order_id.

    Parameters:
        client_order_id: the deterministic id from `client_order_id_for`.
        intent: what was asked for (kept apart from what the exchange reports).
        created_at: when the intent was stored.
    """

    client_order_id: str
    intent: OrderIntent
    created_at: datetime
    status: OrderStatus = OrderStatus.CREATED
    exchange_order_id: str | None = None
    filled_size: Decimal = ZERO
    filled_value: Decimal = ZERO
    fees: Decimal = ZERO
    reason: str | None = None
    history: list[StatusChange] = field(default_factory=list)
    trade_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append(StatusChange(self.status, self.created_at))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Order) and other.client_order_id == self.client_order_id

    def __hash__(self) -> int:
        return hash(self.client_order_id)

    @property
    def average_fill_price(self) -> Decimal | None:
        """Volume-weighted price of the fills so far; None before the first fill."""
        return self.filled_value / self.filled_size if self.filled_size else None

    def transition(self, new: OrderStatus, *, at: datetime, reason: str | None = None) -> None:
        """Move to `new`, recording when and why; an illegal change raises `IllegalTransition`."""
        if not can_transition(self.status, new):
            raise IllegalTransition(f"order {self.client_order_id} cannot go from {self.status.value} to {new.value}")
        if new != self.status:
            self.history.append(StatusChange(new, at, reason))
        self.status = new
        if reason is not None:
            self.reason = reason

    def apply_fill(self, fill: Fill) -> bool:
        """Add a fill; returns False when this trade was already counted (fills arrive more than once)."""
        if fill.client_order_id != self.client_order_id:
            raise InvalidIntent(f"fill {fill.trade_id} belongs to {fill.client_order_id}, not {self.client_order_id}")
        if (fill.product_id, fill.side) != (self.intent.product_id, self.intent.side):
            raise InvalidIntent(
                f"fill {fill.trade_id} is a {fill.side.value} of {fill.product_id}; order {self.client_order_id} "
                f"is a {self.intent.side.value} of {self.intent.product_id}"
            )
        if fill.trade_id in self.trade_ids:
            return False
        base_size = self.intent.base_size
        if base_size is not None and self.filled_size + fill.size > base_size:
            raise InvalidIntent(
                f"fill {fill.trade_id} would overfill order {self.client_order_id}: "
                f"{self.filled_size} + {fill.size} > {base_size}"
            )
        self.trade_ids.add(fill.trade_id)
        self.filled_size += fill.size
        self.filled_value += fill.notional
        self.fees += fill.fee
        return True
