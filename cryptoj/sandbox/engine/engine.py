"""The matching engine: orders against the market's book, holds, fees, fills, and every status change.

User orders take liquidity from the synthetic book (taker) and rest at their limit until the market
crosses them (maker). The synthetic book is not depleted by user fills: the simulated market refills at
once, so one user cannot move it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptoj.domain.book import OrderBook
from cryptoj.domain.orders import Liquidity, OrderStatus, OrderType, StopDirection, TimeInForce
from cryptoj.domain.side import Side
from cryptoj.domain.walk import crosses, walk_quote, walk_size
from cryptoj.sandbox.engine.accounts import Ledger, hold_amount
from cryptoj.sandbox.engine.edits import check_edit
from cryptoj.sandbox.engine.matching import check_liquidity, required_hold
from cryptoj.sandbox.engine.previews import preview_edit, preview_order
from cryptoj.sandbox.engine.records import (
    CancelResult,
    EditRecord,
    FeeTier,
    FillRecord,
    MarketView,
    OrderRecord,
    TriggerStatus,
)
from cryptoj.sandbox.engine.requests import BadRequest, OrderRequest, Rejection, check_stop, parse_order_request
from cryptoj.sandbox.market.products import ProductSpec

__all__ = ["CancelResult", "Engine", "FeeTier", "MarketView"]

ZERO = Decimal(0)


class Engine:
    """Orders, fills and balances of every key.

    Parameters:
        products: the products traded, by id.
        ledger: balances and holds.
        market: books and last prices.
        fee_tier: fee rates.
        seed: fixes order and trade ids.
        on_order: called after every status or fill change (the user channel's updates).
        on_fill: called for every fill (the market's trade prints).
        fail_order: asked once per accepted order; True fails it (an injected FAILED status).
        queue_order: asked once per accepted order; True leaves it QUEUED until the next market step.
        order_time: an order's `created_time` from the time it is placed (default: that time).
        trade_id: the id of the next trade printed on a product (default: a fresh uuid).
    """

    def __init__(
        self,
        *,
        products: dict[str, ProductSpec],
        ledger: Ledger,
        market: MarketView,
        fee_tier: FeeTier,
        seed: int,
        on_order: Callable[[OrderRecord], None] | None = None,
        on_fill: Callable[[FillRecord], None] | None = None,
        fail_order: Callable[[], bool] | None = None,
        queue_order: Callable[[], bool] | None = None,
        order_time: Callable[[datetime], datetime] | None = None,
        trade_id: Callable[[str], str] | None = None,
    ) -> None:
        self.products = products
        self.ledger = ledger
        self.market = market
        self.fee_tier = fee_tier
        self._rng = random.Random(seed)  # noqa: S311 - reproducible ids, not secrets
        self._on_order = on_order or (lambda order: None)
        self._on_fill = on_fill or (lambda fill: None)
        self._fail_order = fail_order or (lambda: False)
        self._queue_order = queue_order or (lambda: False)
        self._order_time = order_time or (lambda now: now)
        self._trade_id = trade_id or (lambda product_id: self.new_id())
        # Real fill times carry nanoseconds: the digits below the clock's microseconds, drawn apart from ids.
        self._nanos = random.Random(f"{seed}:fill-nanos")  # noqa: S311 - reproducible times, not secrets
        self._orders: dict[str, OrderRecord] = {}
        self._by_client_id: dict[tuple[str, str], str] = {}
        self._fills: dict[str, list[FillRecord]] = {}
        # Orders that may still fill, by product: each market step looks at these only.
        self._working: dict[str, dict[str, OrderRecord]] = {}

    # --- reading -----------------------------------------------------------------------------

    def order(self, owner: str, order_id: str) -> OrderRecord | None:
        """One of a key's orders, or None (another key's orders are invisible)."""
        order = self._orders.get(order_id)
        return order if order is not None and order.owner == owner else None

    def orders(self, owner: str) -> list[OrderRecord]:
        """A key's orders, newest first."""
        return [o for o in reversed(self._orders.values()) if o.owner == owner]

    def open_orders(self, owner: str) -> list[OrderRecord]:
        """A key's orders that may still fill."""
        return [o for o in self.orders(owner) if o.status is OrderStatus.OPEN]

    def fills(self, owner: str) -> list[FillRecord]:
        """A key's fills, newest first."""
        return list(reversed(self._fills.get(owner, [])))

    def total_volume_and_fees(self, owner: str) -> tuple[Decimal, Decimal]:
        """Traded notional and fees paid by a key."""
        fills = self._fills.get(owner, [])
        return sum((f.price * f.size for f in fills), ZERO), sum((f.commission for f in fills), ZERO)

    # --- creating ----------------------------------------------------------------------------

    def create(self, owner: str, body: Any, *, now: datetime) -> OrderRecord:
        """Place an order; a repeated client_order_id returns the existing order.

        Raises `BadRequest` (HTTP 400) or `Rejection` (HTTP 200, success false).
        """
        if isinstance(body, dict) and isinstance(body.get("client_order_id"), str):
            existing = self._by_client_id.get((owner, body["client_order_id"]))
            if existing is not None:
                return self._orders[existing]
        request = parse_order_request(body, products=self.products, now=now)
        order = self._admit(owner, request, now=now)
        self._by_client_id[(owner, request.client_order_id)] = order.order_id
        self._orders[order.order_id] = order
        self._working.setdefault(order.product_id, {})[order.order_id] = order
        self._publish(order, now)  # PENDING: accepted, not yet working
        if self._fail_order():
            order.reject_message = "order failed after acceptance (injected fault)"
            self._finish(order, OrderStatus.FAILED, now, "")
            return order
        if self._queue_order():
            order.status = OrderStatus.QUEUED  # the next market step starts it
            self._publish(order, now)
            return order
        self._start(order, now=now)
        return order

    def _admit(self, owner: str, request: OrderRequest, *, now: datetime) -> OrderRecord:
        """Check the order against the book and the key's funds; hold what it may spend."""
        spec = self.products[request.product_id]
        book = self.market.book(request.product_id)
        order = OrderRecord(
            order_id=self.new_id(),
            owner=owner,
            request=request,
            created_time=self._order_time(now),
            limit_price=request.limit_price,
            base_size=request.base_size,
            last_update_time=now,
        )
        if request.order_type is OrderType.STOP_LIMIT:
            check_stop(request, self.market.last_price(request.product_id))
            order.trigger_status = TriggerStatus.PENDING
        if request.post_only and crosses(book, request.side, request.limit_price):
            raise Rejection(
                "INVALID_LIMIT_PRICE_POST_ONLY",
                "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
                "Limit price is invalid for a post only order",
            )
        check_liquidity(request, book)
        currency, amount, unit = required_hold(request, spec, book, taker_fee_rate=self.fee_tier.taker_fee_rate)
        if not self.ledger.hold(owner, currency, amount):
            raise Rejection("INSUFFICIENT_FUND", "PREVIEW_INSUFFICIENT_FUND", "Insufficient balance in source account")
        order.hold_currency, order.hold_remaining, order.unit_hold = currency, amount, unit
        return order

    def _start(self, order: OrderRecord, *, now: datetime) -> None:
        """Run a just-admitted order: stops wait, FOK checks depth, the rest takes liquidity then rests or ends."""
        order.status = OrderStatus.OPEN
        if order.trigger_status == TriggerStatus.PENDING:
            self._publish(order, now)
            return
        self._take(order, now=now)

    def _take(self, order: OrderRecord, *, now: datetime) -> None:
        request = order.request
        spec = self.products[request.product_id]
        book = self.market.book(request.product_id)
        tif = request.time_in_force
        if request.post_only and crosses(book, request.side, order.limit_price):
            # Admission refused a crossing post-only order; one queued meanwhile meets a moved book.
            self._finish(order, OrderStatus.CANCELLED, now, "Post-only order would have taken liquidity")
            return
        # The domain's one walker, the paper model's too: the same order on the same book fills the same way.
        if request.quote_size is not None:
            walk = walk_quote(
                book,
                request.side,
                quote_size=request.quote_size,
                taker_fee_rate=self.fee_tier.taker_fee_rate,
                increment=spec.base_increment,
            )
        else:
            walk = walk_size(book, request.side, size=order.remaining, limit=order.limit_price)
        if tif is TimeInForce.FILL_OR_KILL and not walk.complete:
            self._finish(order, OrderStatus.CANCELLED, now, "Fill-or-kill order could not be filled entirely")
            return
        for price, size in walk.executions:
            self._fill(order, price, size, Liquidity.TAKER, now)
        if request.order_type is OrderType.MARKET:
            self._finish(order, OrderStatus.FILLED if walk.complete else OrderStatus.CANCELLED, now, "")
        elif order.remaining <= 0:
            self._finish(order, OrderStatus.FILLED, now, "")
        elif tif in (TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL):
            self._finish(order, OrderStatus.CANCELLED, now, "Immediate-or-cancel order was not filled entirely")
        else:
            self._publish(order, now)  # resting: OPEN

    def _fill(self, order: OrderRecord, price: Decimal, size: Decimal, liquidity: Liquidity, now: datetime) -> None:
        spec = self.products[order.product_id]
        rate = self.fee_tier.maker_fee_rate if liquidity is Liquidity.MAKER else self.fee_tier.taker_fee_rate
        notional = price * size
        fee = notional * rate
        owner = order.owner
        if order.request.side is Side.BUY:
            spend = notional + fee
            release = min(
                order.hold_remaining,
                hold_amount(spend if order.request.quote_size is not None else size * order.unit_hold),
            )
            self.ledger.release(owner, spec.quote_currency, release)
            order.hold_remaining -= release
            self.ledger.move(owner, spec.quote_currency, -spend)
            self.ledger.move(owner, spec.base_currency, size)
        else:
            release = min(order.hold_remaining, size)
            self.ledger.release(owner, spec.base_currency, release)
            order.hold_remaining -= release
            self.ledger.move(owner, spec.base_currency, -size)
            self.ledger.move(owner, spec.quote_currency, notional - fee)
        order.filled_size += size
        order.filled_value += notional
        order.fees += fee
        order.number_of_fills += 1
        order.last_fill_time = now
        fill = FillRecord(
            entry_id=self.new_id(),
            trade_id=self._trade_id(order.product_id),
            order_id=order.order_id,
            owner=owner,
            product_id=order.product_id,
            side=order.request.side.value,
            price=price,
            size=size,
            commission=fee,
            liquidity=liquidity,
            time=now,
            nanos=self._nanos.randrange(1000),
        )
        self._fills.setdefault(owner, []).append(fill)
        self._on_fill(fill)

    def _finish(self, order: OrderRecord, status: OrderStatus, now: datetime, message: str) -> None:
        """End an order: give back whatever it still holds."""
        self._working.get(order.product_id, {}).pop(order.order_id, None)
        if order.hold_remaining:
            self.ledger.release(order.owner, order.hold_currency, order.hold_remaining)
            order.hold_remaining = ZERO
        order.status = status
        if status is OrderStatus.CANCELLED:
            order.cancel_message = message
        self._publish(order, now)

    def _publish(self, order: OrderRecord, now: datetime) -> None:
        order.last_update_time = now
        self._on_order(order)

    # --- market moves ------------------------------------------------------------------------

    def on_market(self, product_id: str, *, now: datetime, traded: tuple[Decimal, Decimal] | None = None) -> None:
        """The market moved: expire GTD orders, trigger stops, fill resting orders the market crossed.

        `traded` is the (low, high) of the trades printed since the last step: a stop fires when any of
        them reached it, not only the last (a fast clock prints many seconds' trades in one step).
        """
        book = self.market.book(product_id)
        last = self.market.last_price(product_id)
        low, high = (min(traded[0], last), max(traded[1], last)) if traded else (last, last)
        for order in list(self._working.get(product_id, {}).values()):
            if order.status is OrderStatus.QUEUED:
                if self._rehold(order):
                    self._start(order, now=now)
                else:
                    order.reject_message = "Insufficient balance in source account"
                    self._finish(order, OrderStatus.FAILED, now, "")
                continue
            if order.status is not OrderStatus.OPEN:
                continue
            end = order.request.end_time
            if end is not None and now >= end:
                self._finish(order, OrderStatus.EXPIRED, now, "")
            elif order.trigger_status == TriggerStatus.PENDING:
                direction, stop = order.request.stop_direction, order.request.stop_price or ZERO
                if (direction is StopDirection.STOP_UP and high >= stop) or (
                    direction is StopDirection.STOP_DOWN and low <= stop
                ):
                    order.trigger_status = TriggerStatus.TRIGGERED
                    self._take(order, now=now)
            else:
                self._rest_fill(order, book, now)

    def _rehold(self, order: OrderRecord) -> bool:
        """Re-size a queued market order's hold to the book it now meets; False when the funds fall short.

        Its hold was priced on the book at placement: filling past it would spend other orders' holds.
        """
        if order.request.order_type is not OrderType.MARKET:
            return True  # limit prices bound what a limit or stop-limit order can spend
        spec = self.products[order.product_id]
        book = self.market.book(order.product_id)
        _, amount, unit = required_hold(order.request, spec, book, taker_fee_rate=self.fee_tier.taker_fee_rate)
        extra = amount - order.hold_remaining
        if extra > 0:
            if not self.ledger.hold(order.owner, order.hold_currency, extra):
                return False
            order.hold_remaining = amount
            order.unit_hold = unit
        return True

    def _rest_fill(self, order: OrderRecord, book: OrderBook, now: datetime) -> None:
        side, limit = order.request.side, order.limit_price
        if limit is None or not crosses(book, side, limit):
            return
        size = walk_size(book, side, size=order.remaining, limit=limit).filled
        if size > 0:
            self._fill(order, limit, size, Liquidity.MAKER, now)
        if order.remaining <= 0:
            self._finish(order, OrderStatus.FILLED, now, "")
        else:
            self._publish(order, now)

    # --- cancelling and editing --------------------------------------------------------------

    def cancel(self, owner: str, order_ids: list[str], *, now: datetime) -> list[CancelResult]:
        """Cancel orders one by one; each id gets its own result (a bad id fails alone)."""
        results = []
        for order_id in order_ids:
            order = self.order(owner, order_id) if isinstance(order_id, str) else None
            if order is None:
                results.append(CancelResult(str(order_id), False, "INVALID_CANCEL_REQUEST"))
            elif order.status is OrderStatus.FILLED:
                results.append(CancelResult(order_id, False, "ORDER_IS_FULLY_FILLED"))
            elif order.status not in (OrderStatus.OPEN, OrderStatus.QUEUED):
                results.append(CancelResult(order_id, False, "DUPLICATE_CANCEL_REQUEST"))
            else:
                order.status = OrderStatus.CANCEL_QUEUED
                self._publish(order, now)
                self._finish(order, OrderStatus.CANCELLED, now, "User requested cancel")
                results.append(CancelResult(order_id, True, "UNKNOWN_CANCEL_FAILURE_REASON"))
        return results

    def check_edit(self, owner: str, order_id: str, price: Decimal, size: Decimal) -> tuple[OrderRecord, Decimal]:
        """Validate an edit; return the order and the extra hold it needs (negative: to release).

        Raises `Rejection` whose `error` is the edit failure reason.
        """
        return check_edit(self, owner, order_id, price, size)

    def edit(self, owner: str, order_id: str, price: Decimal, size: Decimal, *, now: datetime) -> OrderRecord:
        """Change a resting limit GTC order's price and size; raises `Rejection` when the edit is refused."""
        order, extra = self.check_edit(owner, order_id, price, size)
        if extra > 0:
            self.ledger.hold(owner, order.hold_currency, extra)
        elif extra < 0:
            self.ledger.release(owner, order.hold_currency, -extra)
        order.hold_remaining += extra
        if order.request.side is Side.BUY:
            order.unit_hold = hold_amount(price * (1 + self.fee_tier.taker_fee_rate))
        order.limit_price, order.base_size = price, size
        order.edit_history.append(EditRecord(price, size, now))
        order.status = OrderStatus.EDIT_QUEUED
        self._publish(order, now)
        order.status = OrderStatus.OPEN
        self._take(order, now=now)
        return order

    # --- previews (cryptoj.sandbox.engine.previews) -------------------------------------------

    def preview(self, owner: str, body: Any, *, now: datetime) -> dict[str, Any]:
        """What placing the order would do, without placing it (errors in `errs`, never an exception)."""
        return preview_order(self, owner, body, now=now)

    def edit_preview(self, owner: str, order_id: str, price: Decimal, size: Decimal) -> dict[str, Any]:
        """What an edit would do: `errors` lists why it would fail."""
        return preview_edit(self, owner, order_id, price, size)

    def new_id(self) -> str:
        """A fresh id (uuid4 form), reproducible under the seed."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


__all__ += ["BadRequest", "Rejection"]
