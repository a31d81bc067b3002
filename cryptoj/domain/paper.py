"""Paper fills: what Coinbase would do with an order, as pure functions of the order and a book snapshot.

- `execute` handles a new order: market orders walk the opposite side (a partial fill when depth runs out;
  IOC cancels the rest, FOK fills all or nothing); limit orders take what crosses their price and rest the
  remainder (GTC/GTD) or cancel it (IOC/FOK); a post-only order that would cross is rejected; a stop-limit
  order waits for its trigger.
- `on_book` and `on_trade` fill a resting order when a later book or trade crosses it.

Nothing here mutates the book: every call sees one snapshot, and a fill never exceeds the size the
snapshot shows. Trade ids are derived from the client_order_id and the fill's number, so a replay of
the same inputs gives the same fills.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, localcontext
from enum import StrEnum

from cryptoj.domain._walk import (
    FeeRates,
    Filler,
    PaperError,
    Taken,
    crossing_levels,
    holds,
    paper_trade_id,
    take,
    take_quote,
)
from cryptoj.domain.book import BookSide, OrderBook
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

__all__ = [
    "FOK_KILLED",
    "GTD_EXPIRED",
    "IOC_REST_CANCELLED",
    "NO_LIQUIDITY",
    "POST_ONLY_WOULD_CROSS",
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
# Why an order ended without filling entirely (no Coinbase failure reason applies: these are normal endings).
FOK_KILLED = "FILL_OR_KILL could not fill entirely"
IOC_REST_CANCELLED = "IMMEDIATE_OR_CANCEL remainder cancelled"
GTD_EXPIRED = "GOOD_UNTIL_DATE_TIME end time passed"


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

    `last_trade_price` decides whether a stop-limit order triggers at once. `size_increment` (the
    product's base_increment) rounds the base size of quote-sized market orders; a quote-sized market
    buy spends at most `quote_size` including the taker fee, as Coinbase's does.
    """
    _check_book(book, intent)
    if intent.order_type is OrderType.STOP_LIMIT:
        resting = RestingOrder(client_order_id, intent, _base_size(intent), RestingState.WAITING_TRIGGER)
        if last_trade_price is not None and _triggers(intent, last_trade_price):
            return _activate(replace(resting, state=RestingState.TRIGGERED), book, fees=fees, at=at)
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
    if book.level_count(BookSide.ASK if intent.side is Side.BUY else BookSide.BID) == 0:
        return PaperResult((), OrderStatus.REJECTED, reason=NO_LIQUIDITY)
    filler = Filler(client_order_id, intent, fees, at, 0, [])
    fok = intent.time_in_force is TimeInForce.FILL_OR_KILL
    if intent.base_size is not None:
        if fok and not holds(crossing_levels(book, intent.side, None), size=intent.base_size):
            return PaperResult((), OrderStatus.CANCELLED, reason=FOK_KILLED)
        filled, _ = take(filler, crossing_levels(book, intent.side, None), size=intent.base_size)
        complete = filled == intent.base_size
    else:
        # OrderIntent guarantees a quote_size when there is no base_size.
        quote_size = intent.quote_size or ZERO
        # A buy's quote_size pays for the fee as well; a sell's quote_size is the proceeds wanted.
        # Rounded down: a budget a unit too high would let notional plus fee pass quote_size.
        budget = _divide_down(quote_size, 1 + fees.taker) if intent.side is Side.BUY else quote_size
        if fok and not holds(crossing_levels(book, intent.side, None), value=budget):
            return PaperResult((), OrderStatus.CANCELLED, reason=FOK_KILLED)
        complete = take_quote(
            filler,
            crossing_levels(book, intent.side, None),
            budget=budget,
            cap=quote_size,
            fee_included=intent.side is Side.BUY,
            size_increment=size_increment,
        )
    if not filler.fills:
        return PaperResult((), OrderStatus.CANCELLED, reason="the order is smaller than one size increment")
    if complete:
        return PaperResult(tuple(filler.fills), OrderStatus.FILLED)
    return PaperResult(tuple(filler.fills), OrderStatus.CANCELLED, reason=IOC_REST_CANCELLED)


def _divide_down(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.rounding = ROUND_FLOOR
        return a / b


def _triggers(intent: OrderIntent, price: Decimal) -> bool:
    stop = intent.stop_price
    if stop is None:  # only stop-limit intents reach here, and OrderIntent makes them carry a stop
        return False
    if intent.stop_direction is StopDirection.STOP_UP:
        return price >= stop
    return price <= stop


def _expired(resting: RestingOrder, at: datetime) -> bool:
    end = resting.intent.end_time
    return end is not None and at >= end


def _activate(resting: RestingOrder, book: OrderBook, *, fees: FeeRates, at: datetime) -> PaperResult:
    """A limit order arriving at the book: take what crosses, then rest, cancel or reject the rest."""
    intent = resting.intent
    if intent.post_only and next(crossing_levels(book, intent.side, intent.limit_price), None) is not None:
        return PaperResult((), OrderStatus.REJECTED, reason=POST_ONLY_WOULD_CROSS)
    if _expired(resting, at):
        return PaperResult((), OrderStatus.EXPIRED, reason=GTD_EXPIRED)
    if intent.time_in_force is TimeInForce.FILL_OR_KILL and not holds(
        crossing_levels(book, intent.side, intent.limit_price), size=resting.remaining
    ):
        return PaperResult((), OrderStatus.CANCELLED, reason=FOK_KILLED)
    filler = Filler(resting.client_order_id, intent, fees, at, resting.fill_count, [])
    filled, taken = take(
        filler, crossing_levels(book, intent.side, intent.limit_price), size=resting.remaining, taken=resting.taken
    )
    return _after(resting, filler, filled, taken)


def _after(resting: RestingOrder, filler: Filler, filled: Decimal, taken: Taken) -> PaperResult:
    remaining = resting.remaining - filled
    fills = tuple(filler.fills)
    if not remaining:
        return PaperResult(fills, OrderStatus.FILLED)
    if not resting.intent.rests:
        return PaperResult(fills, OrderStatus.CANCELLED, reason=IOC_REST_CANCELLED)
    left = replace(resting, remaining=remaining, state=RestingState.RESTING, fill_count=filler.count, taken=taken)
    return PaperResult(fills, OrderStatus.OPEN, left)


def on_book(resting: RestingOrder, book: OrderBook, *, fees: FeeRates, at: datetime) -> PaperResult:
    """Fill a working order against a later book: a resting order as maker at its own price."""
    _check_book(book, resting.intent)
    if _expired(resting, at):
        return PaperResult((), OrderStatus.EXPIRED, reason=GTD_EXPIRED)
    if resting.state is RestingState.WAITING_TRIGGER:
        return PaperResult((), OrderStatus.OPEN, resting)
    if resting.state is RestingState.TRIGGERED:
        return _activate(resting, book, fees=fees, at=at)
    intent = resting.intent
    filler = Filler(resting.client_order_id, intent, fees, at, resting.fill_count, [])
    # The market book does not hold our paper order. An opposite level at or through our price means the
    # queue at our price has been taken (an order rests there only once nothing better is left), so the
    # order that did it traded with us at our price, up to the size it still shows.
    filled, taken = take(
        filler,
        crossing_levels(book, intent.side, intent.limit_price),
        size=resting.remaining,
        taken=resting.taken,
        liquidity=Liquidity.MAKER,
        price_override=intent.limit_price,
    )
    return _after(resting, filler, filled, taken)


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
    if _expired(resting, at):
        return PaperResult((), OrderStatus.EXPIRED, reason=GTD_EXPIRED)
    intent = resting.intent
    if resting.state is RestingState.WAITING_TRIGGER:
        if not _triggers(intent, price):
            return PaperResult((), OrderStatus.OPEN, resting)
        triggered = replace(resting, state=RestingState.TRIGGERED)
        if book is None:
            return PaperResult((), OrderStatus.OPEN, triggered)
        _check_book(book, intent)
        return _activate(triggered, book, fees=fees, at=at)
    if resting.state is RestingState.TRIGGERED:
        if book is None:
            return PaperResult((), OrderStatus.OPEN, resting)
        _check_book(book, intent)
        return _activate(resting, book, fees=fees, at=at)
    limit = intent.limit_price
    through = limit is not None and (price < limit if intent.side is Side.BUY else price > limit)
    if limit is None or not through:
        return PaperResult((), OrderStatus.OPEN, resting)
    filler = Filler(resting.client_order_id, intent, fees, at, resting.fill_count, [])
    take = min(size, resting.remaining)
    filler.add(limit, take, Liquidity.MAKER)
    return _after(resting, filler, take, resting.taken)
