"""What the engine keeps about each order and fill, and the small values it exchanges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from cryptoj.domain.book import OrderBook
from cryptoj.domain.orders import Liquidity, OrderStatus
from cryptoj.sandbox.engine.requests import OrderRequest

__all__ = ["CancelResult", "EditRecord", "FeeTier", "FillRecord", "MarketView", "OrderRecord", "TriggerStatus"]

ZERO = Decimal(0)


class TriggerStatus:
    """Coinbase's `trigger_status` values."""

    NONE = "INVALID_ORDER_TYPE"  # not a stop order
    PENDING = "STOP_PENDING"  # waiting for the last trade to cross the stop price
    TRIGGERED = "STOP_TRIGGERED"  # the stop fired; the order works as a limit order


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution of a user's order."""

    entry_id: str
    trade_id: str
    order_id: str
    owner: str
    product_id: str
    side: str
    price: Decimal
    size: Decimal
    commission: Decimal
    liquidity: Liquidity
    time: datetime
    nanos: int = 0  # nanoseconds below `time`'s microseconds (real fill times carry nine digits)


@dataclass(frozen=True, slots=True)
class EditRecord:
    """One accepted edit of a resting order."""

    price: Decimal
    size: Decimal
    time: datetime


@dataclass(slots=True)
class OrderRecord:
    """A user's order as the engine tracks it.

    Parameters:
        order_id: the exchange's id; client_order_id: the caller's (unique per key).
        owner: the API key name the order belongs to.
        request: what was asked for (limit price and size change only through edits).
    """

    order_id: str
    owner: str
    request: OrderRequest
    created_time: datetime
    status: OrderStatus = OrderStatus.PENDING
    limit_price: Decimal | None = None
    base_size: Decimal | None = None
    filled_size: Decimal = ZERO
    filled_value: Decimal = ZERO
    fees: Decimal = ZERO
    number_of_fills: int = 0
    hold_currency: str = ""
    hold_remaining: Decimal = ZERO
    unit_hold: Decimal = ZERO  # hold per unit of base size (limit buys and sells)
    trigger_status: str = TriggerStatus.NONE
    last_fill_time: datetime | None = None
    last_update_time: datetime | None = None
    cancel_message: str = ""
    reject_message: str = ""
    edit_history: list[EditRecord] = field(default_factory=list)
    user_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def client_order_id(self) -> str:
        """The caller's id."""
        return self.request.client_order_id

    @property
    def product_id(self) -> str:
        """The product traded."""
        return self.request.product_id

    @property
    def remaining(self) -> Decimal:
        """Base size still to fill (limit orders; market orders sized in base)."""
        return (self.base_size or ZERO) - self.filled_size

    @property
    def average_filled_price(self) -> Decimal:
        """Volume-weighted fill price (zero before any fill)."""
        return self.filled_value / self.filled_size if self.filled_size else ZERO


@dataclass(frozen=True, slots=True)
class FeeTier:
    """Maker and taker fee rates (fractions of notional) and the tier's name as transaction_summary shows it."""

    pricing_tier: str = "Advanced 1"
    maker_fee_rate: Decimal = Decimal("0.0025")
    taker_fee_rate: Decimal = Decimal("0.004")
    usd_from: str = "0"
    usd_to: str = "10000"


@dataclass(frozen=True, slots=True)
class CancelResult:
    """One entry of batch_cancel's `results`."""

    order_id: str
    success: bool
    failure_reason: str


class MarketView(Protocol):
    """What the engine reads from the market."""

    def book(self, product_id: str) -> OrderBook:
        """A product's current book."""
        ...

    def last_price(self, product_id: str) -> Decimal:
        """A product's last trade price."""
        ...
