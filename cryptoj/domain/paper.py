"""Paper fills: what Coinbase would do with an order, as pure functions of the order and a book snapshot.

- `execute` handles a new order: market orders walk the opposite side (a partial fill when depth runs out;
  IOC cancels the rest, FOK fills all or nothing); limit orders take what crosses their price and rest the
  remainder (GTC/GTD) or cancel it (IOC/FOK); a post-only order that would cross is rejected; a stop-limit
  order waits for its trigger (one the last trade already reached is rejected, as Coinbase does).
- `on_book` and `on_trade` fill a resting order when a later book or trade crosses it.

Every walk of the book is the domain's one walker (`cryptoj.domain.walk`), the same the sandbox's matching
engine uses, so an order gives the same fills in paper and live-on-sandbox. One difference is by design:
the sandbox's market refills at once, so liquidity a resting order took is offered to it again on the next
step, while paper never counts liquidity it already took from a level that is still visible (a real book
never learns of paper fills, so the same level is the same orders). Paper also fills a resting order from
trades printed through its price (`on_trade`), which the sandbox's engine does not look at. docs/paper-fills.md
lists what both do and where they differ.

Nothing here mutates the book: every call sees one snapshot, and a fill never exceeds the size the
snapshot shows. Trade ids are derived from the client_order_id and the fill's number, so a replay of
the same inputs gives the same fills.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from cryptoj.domain.book import OrderBook
from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import (
    Fill,
    Liquidity,
    OrderIntent,
    OrderStatus,
    OrderType,
    StopDirection,
    TimeInForce,
)
from cryptoj.domain.side import Side
from cryptoj.domain.walk import Taken, Walk, crosses, fee_for, walk_quote, walk_size

__all__ = [
    "END_TIME_IN_THE_PAST",
    "FOK_KILLED",
    "GTD_EXPIRED",
    "IOC_REST_CANCELLED",
    "NO_LIQUIDITY",
    "POST_ONLY_WOULD_CROSS",
    "STOP_ABOVE_LAST_TRADE",
    "STOP_BELOW_LAST_TRADE",
    "FeeRates",
    "PaperError",
    "PaperResult",
    "RestingOrder",
    "RestingState",
    "execute",
    "on_book",
    "on_trade",
    "paper_trade_id",
]

# Coinbase's failure reasons for the rejections the paper model can produce.
POST_ONLY_WOULD_CROSS = "INVALID_LIMIT_PRICE_POST_ONLY"
NO_LIQUIDITY = "INVALID_NO_LIQUIDITY"
# A stop the last trade already reached: Coinbase refuses it rather than trigger it at once.
STOP_BELOW_LAST_TRADE = "PREVIEW_STOP_PRICE_BELOW_LAST_TRADE_PRICE"  # a stop-up at or below the last trade
STOP_ABOVE_LAST_TRADE = "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE"  # a stop-down at or above it
END_TIME_IN_THE_PAST = "PREVIEW_END_TIME_IS_IN_THE_PAST"  # a GTD order whose end time has passed already
# Why an order ended without filling entirely (no Coinbase failure reason applies: these are normal endings).
FOK_KILLED = "FILL_OR_KILL could not fill entirely"
IOC_REST_CANCELLED = "IMMEDIATE_OR_CANCEL remainder cancelled"
GTD_EXPIRED = "GOOD_UNTIL_DATE_TIME end time passed"

_TRADE_ID_NAMESPACE = uuid.UUID("b5a4d7c2-8f3e-4a61-9c0d-2e7f1a6b3c48")
# The finest size a quote-sized order is cut to when no product increment is given (Coinbase's finest
# base_increment is 1e-8): with it, notional, fee and cash stay exact in Decimal's 28 digits for any
# realistic amount.
_SIZE_QUANTUM = Decimal("1e-12")


class PaperError(DomainError):
    """The paper model cannot act on its input (a crossed book, a book for another product)."""


@dataclass(frozen=True, slots=True)
class FeeRates:
    """Fee rates as fractions of notional (0.006 = 0.6%), charged in quote currency."""

    maker: Decimal
    taker: Decimal

    def __post_init__(self) -> None:
        for name in ("maker", "taker"):
            rate = getattr(self, name)
            if not rate.is_finite() or not ZERO <= rate < 1:
                raise PaperError(f"{name} fee rate must be in [0, 1), got {rate}")

    def rate(self, liquidity: Liquidity) -> Decimal:
        """The rate for a maker or taker fill."""
        return self.maker if liquidity is Liquidity.MAKER else self.taker


def paper_trade_id(client_order_id: str, number: int) -> str:
    """The deterministic trade id of an order's `number`-th paper fill."""
    return str(uuid.uuid5(_TRADE_ID_NAMESPACE, f"{client_order_id}|{number}"))


class RestingState(StrEnum):
    """Where a resting paper order stands."""

    WAITING_TRIGGER = "WAITING_TRIGGER"  # a stop-limit whose stop price has not traded yet
    TRIGGERED = "TRIGGERED"  # triggered: its first match against a book takes liquidity
    RESTING = "RESTING"  # on the book: later crosses fill it as maker


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """A paper order still working: what is left of it and how many fills it has had."""

    client_order_id: str
    intent: OrderIntent
    remaining: Decimal  # base units still to fill
    state: RestingState = RestingState.RESTING
    fill_count: int = 0
    # (price, size) this order already took from opposite levels. The market's book never learns of paper
    # fills, so a level that stays visible must not fill the order a second time; only growth is new.
    taken: Taken = ()


@dataclass(frozen=True, slots=True)
class PaperResult:
    """What one paper step did.

    Parameters:
        fills: the fills of this step, in order.
        status: the order's status after the step (OPEN while it still works).
        resting: the order left working, or None when it is done.
        reason: why it was rejected, cancelled or expired (Coinbase's failure reason where one exists).
    """

    fills: tuple[Fill, ...]
    status: OrderStatus
    resting: RestingOrder | None = None
    reason: str | None = None

    @property
    def filled_size(self) -> Decimal:
        """Base units filled in this step."""
        return sum((f.size for f in self.fills), ZERO)


@dataclass(slots=True)
class _Fills:
    """Builds an order's fills with consecutive trade numbers (continuing from `count`)."""

    client_order_id: str
    intent: OrderIntent
    fees: FeeRates
    at: datetime
    count: int
    fills: list[Fill] = field(default_factory=list)

    def add(self, price: Decimal, size: Decimal, liquidity: Liquidity) -> None:
        self.count += 1
        self.fills.append(
            Fill(
                trade_id=paper_trade_id(self.client_order_id, self.count),
                client_order_id=self.client_order_id,
                product_id=self.intent.product_id,
                side=self.intent.side,
                price=price,
                size=size,
                fee=fee_for(price, size, self.fees.rate(liquidity)),
                liquidity=liquidity,
                time=self.at,
            )
        )

    def take(self, walk: Walk) -> None:
        """A taker fill per level walked, at the level's price."""
        for price, size in walk.executions:
            self.add(price, size, Liquidity.TAKER)


def _check_book(book: OrderBook, intent: OrderIntent) -> None:
    if book.product_id != intent.product_id:
        raise PaperError(f"book is for {book.product_id}, order is for {intent.product_id}")
    if book.is_crossed:
        raise PaperError(f"the {book.product_id} book is crossed: no fill is simulated on it")


def execute(
    intent: OrderIntent,
    book: OrderBook,
    *,
    client_order_id: str,
    fees: FeeRates,
    at: datetime,
    last_trade_price: Decimal | None = None,
    size_increment: Decimal | None = None,
) -> PaperResult:
    """Run a new order against `book` as Coinbase would.

    `last_trade_price` checks a stop-limit order's stop: one the last trade already reached is rejected,
    as Coinbase rejects it. `size_increment` (the product's base_increment) cuts the base size of
    quote-sized market orders; a quote-sized market buy spends at most `quote_size` including the taker
    fee, as Coinbase's does.
    """
    _check_book(book, intent)
    if _expired(intent, at):
        return PaperResult((), OrderStatus.REJECTED, reason=END_TIME_IN_THE_PAST)
    if intent.order_type is OrderType.STOP_LIMIT:
        if last_trade_price is not None and _triggers(intent, last_trade_price):
            up = intent.stop_direction is StopDirection.STOP_UP
            return PaperResult((), OrderStatus.REJECTED, reason=STOP_BELOW_LAST_TRADE if up else STOP_ABOVE_LAST_TRADE)
        resting = RestingOrder(client_order_id, intent, _base_size(intent), RestingState.WAITING_TRIGGER)
        return PaperResult((), OrderStatus.OPEN, resting)
    if intent.order_type is OrderType.MARKET:
        return _market(intent, book, client_order_id=client_order_id, fees=fees, at=at, size_increment=size_increment)
    return _activate(RestingOrder(client_order_id, intent, _base_size(intent)), book, fees=fees, at=at)


def _base_size(intent: OrderIntent) -> Decimal:
    # Limit and stop-limit intents are base-sized: OrderIntent refuses quote sizes for them.
    return intent.base_size if intent.base_size is not None else ZERO


def _market(
    intent: OrderIntent,
    book: OrderBook,
    *,
    client_order_id: str,
    fees: FeeRates,
    at: datetime,
    size_increment: Decimal | None,
) -> PaperResult:
    if not crosses(book, intent.side, None):
        return PaperResult((), OrderStatus.REJECTED, reason=NO_LIQUIDITY)
    if intent.base_size is not None:
        walk = walk_size(book, intent.side, size=intent.base_size)
    else:
        walk = walk_quote(
            book,
            intent.side,
            quote_size=intent.quote_size or ZERO,  # OrderIntent guarantees one of the two sizes
            taker_fee_rate=fees.taker,
            increment=size_increment if size_increment is not None else _SIZE_QUANTUM,
        )
    if intent.time_in_force is TimeInForce.FILL_OR_KILL and not walk.complete:
        return PaperResult((), OrderStatus.CANCELLED, reason=FOK_KILLED)
    if not walk.executions:
        return PaperResult((), OrderStatus.CANCELLED, reason="the order is smaller than one size increment")
    fills = _Fills(client_order_id, intent, fees, at, 0)
    fills.take(walk)
    if walk.complete:
        return PaperResult(tuple(fills.fills), OrderStatus.FILLED)
    return PaperResult(tuple(fills.fills), OrderStatus.CANCELLED, reason=IOC_REST_CANCELLED)


def _triggers(intent: OrderIntent, price: Decimal) -> bool:
    stop = intent.stop_price
    if stop is None:  # only stop-limit intents reach here, and OrderIntent makes them carry a stop
        return False
    if intent.stop_direction is StopDirection.STOP_UP:
        return price >= stop
    return price <= stop


def _expired(intent: OrderIntent, at: datetime) -> bool:
    return intent.end_time is not None and at >= intent.end_time


def _activate(resting: RestingOrder, book: OrderBook, *, fees: FeeRates, at: datetime) -> PaperResult:
    """A limit order arriving at the book: take what crosses, then rest, cancel or reject the rest."""
    intent = resting.intent
    if intent.post_only and crosses(book, intent.side, intent.limit_price):
        return PaperResult((), OrderStatus.REJECTED, reason=POST_ONLY_WOULD_CROSS)
    walk = walk_size(book, intent.side, size=resting.remaining, limit=intent.limit_price, taken=resting.taken)
    if intent.time_in_force is TimeInForce.FILL_OR_KILL and not walk.complete:
        return PaperResult((), OrderStatus.CANCELLED, reason=FOK_KILLED)
    fills = _Fills(resting.client_order_id, intent, fees, at, resting.fill_count)
    fills.take(walk)
    return _after(resting, fills, walk.filled, walk.taken)


def _after(resting: RestingOrder, fills: _Fills, filled: Decimal, taken: Taken) -> PaperResult:
    remaining = resting.remaining - filled
    done = tuple(fills.fills)
    if not remaining:
        return PaperResult(done, OrderStatus.FILLED)
    if not resting.intent.rests:
        return PaperResult(done, OrderStatus.CANCELLED, reason=IOC_REST_CANCELLED)
    left = replace(resting, remaining=remaining, state=RestingState.RESTING, fill_count=fills.count, taken=taken)
    return PaperResult(done, OrderStatus.OPEN, left)


def on_book(resting: RestingOrder, book: OrderBook, *, fees: FeeRates, at: datetime) -> PaperResult:
    """Fill a working order against a later book: a resting order as maker, at its own price, in one fill."""
    _check_book(book, resting.intent)
    if _expired(resting.intent, at):
        return PaperResult((), OrderStatus.EXPIRED, reason=GTD_EXPIRED)
    if resting.state is RestingState.WAITING_TRIGGER:
        return PaperResult((), OrderStatus.OPEN, resting)
    if resting.state is RestingState.TRIGGERED:
        return _activate(resting, book, fees=fees, at=at)
    intent = resting.intent
    # The market book does not hold our paper order. An opposite level at or through our price means the
    # queue at our price has been taken (an order rests there only once nothing better is left), so the
    # flow that did it traded with us at our price, up to the new size it shows: one fill, as the sandbox's
    # engine makes it.
    walk = walk_size(book, intent.side, size=resting.remaining, limit=intent.limit_price, taken=resting.taken)
    fills = _Fills(resting.client_order_id, intent, fees, at, resting.fill_count)
    if walk.executions and intent.limit_price is not None:  # a resting order is a limit order
        fills.add(intent.limit_price, walk.filled, Liquidity.MAKER)
    return _after(resting, fills, walk.filled, walk.taken)


def on_trade(
    resting: RestingOrder,
    *,
    price: Decimal,
    size: Decimal,
    fees: FeeRates,
    at: datetime,
    book: OrderBook | None = None,
) -> PaperResult:
    """React to a trade printed at `price` for `size` base units.

    A resting limit fills as maker, at its own price, up to the trade's size, only when the trade went
    strictly through its price (at its price, the queue ahead of it is unknown). A waiting stop-limit
    triggers when the trade reaches its stop; it then takes from `book` if one is given, or from the
    next book passed to `on_book`.
    """
    if price <= 0 or size <= 0:
        raise PaperError(f"a trade needs a positive price and size, got {size} at {price}")
    intent = resting.intent
    if _expired(intent, at):
        return PaperResult((), OrderStatus.EXPIRED, reason=GTD_EXPIRED)
    if resting.state is RestingState.WAITING_TRIGGER:
        if not _triggers(intent, price):
            return PaperResult((), OrderStatus.OPEN, resting)
        resting = replace(resting, state=RestingState.TRIGGERED)
    if resting.state is RestingState.TRIGGERED:
        if book is None:
            return PaperResult((), OrderStatus.OPEN, resting)
        _check_book(book, intent)
        return _activate(resting, book, fees=fees, at=at)
    limit = intent.limit_price
    through = limit is not None and (price < limit if intent.side is Side.BUY else price > limit)
    if limit is None or not through:
        return PaperResult((), OrderStatus.OPEN, resting)
    fills = _Fills(resting.client_order_id, intent, fees, at, resting.fill_count)
    take = min(size, resting.remaining)
    fills.add(limit, take, Liquidity.MAKER)
    return _after(resting, fills, take, resting.taken)
