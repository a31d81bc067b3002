"""PaperExecutor: orders filled here, against the exchange's real book and trades; nothing is sent.

It holds no order-writing client: the composition root gives it the read-only `ExchangeService` only.
Fills come from the domain's paper model (`cryptoj.domain.paper`, the same book walk as the sandbox's
engine), with the configured fee tier; they are stored exactly as live fills are, so positions, PnL and
risk read them alike. A resting paper order keeps its model state in the store and is re-checked at each
refresh against the trades printed since its last check, then against the book.

Funds are checked as Coinbase checks them: a buy needs its cost (with the taker fee) in free cash, a
sell its size in free base, "free" meaning not held by other working paper orders. A shortfall is a
rejection with Coinbase's reason, INSUFFICIENT_FUND.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from cryptoj.config import ExecutionMode
from cryptoj.domain.book import BookSide, OrderBook
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import Fill, Order, OrderIntent, OrderStatus, OrderType
from cryptoj.domain.paper import (
    FeeRates,
    PaperError,
    PaperResult,
    RestingOrder,
    RestingState,
    execute,
    on_book,
    on_trade,
)
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.products import ProductRules, split_product_id
from cryptoj.domain.side import Side
from cryptoj.services.exchange import ExchangeService
from cryptoj.services.executor import OrderExecutor, OrderKey, Placement, RefreshReport
from cryptoj.services.funds import shortfall
from cryptoj.services.ledger import load_order, move_positions, record_outcome
from cryptoj.services.risk import RiskService
from cryptoj.store import DuplicateRecord, PaperOrderState, UnitOfWork

__all__ = ["PaperExecutor"]

_log = logging.getLogger(__name__)

_POLL_SECONDS = 0.2
# Levels a side read first: a typical order walks a few, and a thousand-level answer costs most of a placement.
_SHALLOW = 50
BookSource = Callable[[str], Awaitable[OrderBook]]


class PaperExecutor(OrderExecutor):
    """Fills orders against the exchange's book here and stores them as live ones are stored.

    Parameters:
        engine, risk, clock: as `OrderExecutor`.
        exchange: read-only market data (books, trades).
        fees: the fee tier paper fills pay, or how to find it out (read once, when the first fill needs it:
            building an executor sends nothing, so a passing network fault cannot fail a run before its tasks).
        starting_cash: the paper account's cash before its first fill, by currency.
        books: where books come from (default: the exchange's authenticated book); a trading cycle with
            the WebSocket open passes its live books.
        book_depth: levels a side to ask the exchange for at most; a first read asks for `_SHALLOW` and goes
            deeper only when the order could walk past them.
        claim_grace: seconds an order stored by another worker, not yet filled, is left to that worker.
    """

    mode = ExecutionMode.PAPER

    def __init__(
        self,
        engine: Engine,
        risk: RiskService,
        *,
        exchange: ExchangeService,
        fees: FeeRates | Callable[[], Awaitable[FeeRates]],
        starting_cash: Mapping[str, Decimal],
        books: BookSource | None = None,
        book_depth: int = 1000,
        claim_grace: float = 10.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(engine, risk, clock=clock)
        self._exchange = exchange
        self._fees = fees
        self._starting_cash = dict(starting_cash)
        self._depth = book_depth
        self._claim_grace = claim_grace
        self._book_source = books

    async def _book_for(self, intent: OrderIntent) -> OrderBook:
        """The book to fill `intent` against: the given source's, or the exchange's, as deep as the order needs."""
        if self._book_source is not None:
            return await self._book_source(intent.product_id)
        book = await self._exchange.book(intent.product_id, limit=_SHALLOW)
        if _holds(book, intent) or max(book.level_count(side) for side in BookSide) < _SHALLOW:
            return book  # deep enough for this order, or all there is
        return await self._exchange.book(intent.product_id, limit=self._depth)

    async def fee_rates(self) -> FeeRates:
        """The fee tier paper fills pay (read once)."""
        if not isinstance(self._fees, FeeRates):
            self._fees = await self._fees()
        return self._fees

    async def portfolio(self) -> Portfolio:
        """The starting cash moved by every fill, and the stored positions."""
        with UnitOfWork(self._engine, read_only=True) as uow:
            positions = uow.positions.all()
        cash = dict(self._starting_cash)
        for product_id, position in positions.items():
            quote = split_product_id(product_id)[1]
            # What the fills took out of cash: buys' notional less sells' notional, and every fee
            # (cost_basis - realized_pnl is exactly the net notional bought; see domain.positions).
            spent = position.cost_basis - position.realized_pnl + position.fees
            cash[quote] = cash.get(quote, ZERO) - spent
        return Portfolio(cash=cash, positions=positions)

    # --- sending ------------------------------------------------------------------------------

    async def _submit(self, order: Order, key: OrderKey, rules: ProductRules) -> Placement:
        """Work the fill out first, then store the intent and its outcome in one durable transaction.

        A paper order sends nothing, so nothing can happen between storing its intent and its outcome that
        the store would not know of: one transaction instead of two. Another worker that stored the same
        intent first wins, as for a live order (its outcome is the one kept, ours is not written).
        """
        result = await self._work_out(order, rules)
        now = self._clock()
        fills = list(result.fills)
        for fill in fills:
            order.apply_fill(fill)
        if result.status is not order.status:
            order.transition(result.status, at=now, reason=result.reason)

        def outcome(uow: UnitOfWork) -> None:
            move_positions(uow, uow.fills.add(fills), at=now)
            self._keep_state(uow, order, result, checked_at=now)

        try:
            stored = self._store_new(order, key, rules, also=outcome)
        except DuplicateRecord:
            # Another worker filled this intent first (its fills carry the same trade ids): theirs stands.
            stored = load_order(self._engine, order.client_order_id)
            if stored is None:  # pragma: no cover - a duplicate fill names a stored order
                raise
        if stored is not None:
            return await self._resume(stored)
        return Placement(order, tuple(fills), sent=True)

    async def _send(self, order: Order) -> Placement:
        with UnitOfWork(self._engine, read_only=True) as uow:  # an order met again: its rules are stored
            rules = uow.products.get(order.intent.product_id)
        result = await self._work_out(order, rules)
        try:
            stored, fills = self._apply(order.client_order_id, result, checked_at=self._clock())
        except DuplicateRecord:
            # Another worker filled this order first (its fills carry the same trade ids): theirs stands.
            current = load_order(self._engine, order.client_order_id)
            if current is None:  # pragma: no cover - the order row was stored before the send
                raise
            return Placement(current)
        return Placement(stored, tuple(fills), sent=True)

    async def _work_out(self, order: Order, rules: ProductRules) -> PaperResult:
        """What the exchange's book would do with `order` now, or its rejection when funds fall short."""
        intent = order.intent
        now = self._clock()
        book = await self._book_for(intent)
        shortfall = await self._shortfall(order, book)
        if shortfall is not None:
            return PaperResult((), OrderStatus.REJECTED, None, shortfall)
        last = None
        if intent.order_type is OrderType.STOP_LIMIT:
            last = (await self._exchange.ticker(intent.product_id, limit=1)).last_price
        return execute(
            intent,
            book,
            client_order_id=order.client_order_id,
            fees=await self.fee_rates(),
            at=now,
            last_trade_price=last,
            size_increment=rules.base_increment,
        )

    async def _resolve(self, order: Order) -> Placement:
        # Nothing left the process: a paper order stored but not filled (a crash in between) is simply run
        # again. One stored a moment ago is most likely being filled by another worker right now: wait for
        # its outcome rather than fill it a second time.
        waited = 0.0
        while order.status is OrderStatus.SUBMITTING and waited < self._claim_grace:
            if self._clock() - order.created_at > timedelta(seconds=self._claim_grace):
                break  # too old to be anyone's work in progress: a crash left it
            await asyncio.sleep(_POLL_SECONDS)
            waited += _POLL_SECONDS
            order = load_order(self._engine, order.client_order_id) or order
        if order.status is not OrderStatus.SUBMITTING:
            return Placement(order)
        return await self._send(order)

    async def _shortfall(self, order: Order, book: OrderBook) -> str | None:
        """Why the paper account cannot pay for `order` (Coinbase's INSUFFICIENT_FUND), or None."""
        held_cash, held_base = self._held(exclude=order.client_order_id, taker=(await self.fee_rates()).taker)
        return shortfall(
            order.intent, await self.portfolio(), book, await self.fee_rates(), held_cash=held_cash, held_base=held_base
        )

    def _held(self, *, exclude: str, taker: Decimal) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """What working paper orders hold: quote cash for buys (with the taker fee), base for sells."""
        cash: dict[str, Decimal] = {}
        base: dict[str, Decimal] = {}
        with UnitOfWork(self._engine, read_only=True) as uow:
            working = [o for o in uow.orders.working_amounts() if o.client_order_id != exclude]
        for order in working:
            remaining = (order.base_size or ZERO) - order.filled_size
            if remaining <= 0:
                continue
            if order.side is Side.BUY and order.limit_price is not None:
                quote = split_product_id(order.product_id)[1]
                cash[quote] = cash.get(quote, ZERO) + remaining * order.limit_price * (1 + taker)
            elif order.side is Side.SELL:
                base[order.product_id] = base.get(order.product_id, ZERO) + remaining
        return cash, base

    def _apply(self, client_order_id: str, result: PaperResult, *, checked_at: datetime) -> tuple[Order, list[Fill]]:
        """Store a paper step in one transaction: fills, status, and the resting state while the order works."""
        outcome = record_outcome(
            self._engine,
            client_order_id,
            at=checked_at,
            status=result.status,
            reason=result.reason,
            fills=result.fills,
            also=lambda uow, order: self._keep_state(uow, order, result, checked_at=checked_at),
        )
        return outcome.order, outcome.fills

    @staticmethod
    def _keep_state(uow: UnitOfWork, order: Order, result: PaperResult, *, checked_at: datetime) -> None:
        """Keep the paper model's state of an order that still works; forget it once the order is done."""
        coid = order.client_order_id
        if result.resting is not None and order.status.is_open:
            uow.paper.save(PaperOrderState(coid, result.resting.state.value, result.resting.taken, checked_at))
        else:
            uow.paper.remove(coid)

    # --- later books and trades ---------------------------------------------------------------

    async def refresh(self) -> RefreshReport:
        """Re-check each resting paper order against the trades since its last check, then the book."""
        report = RefreshReport()
        with UnitOfWork(self._engine, read_only=True) as uow:
            working = [(order, uow.paper.get(order.client_order_id)) for order in uow.orders.open_orders()]
        for order, state in working:
            report.checked += 1
            if state is None:
                if order.status is OrderStatus.SUBMITTING:
                    # Stored but never run (the process stopped between storing and filling): run it now.
                    placement = await self._resolve(order)
                    report.updated += 1
                    report.fills += len(placement.new_fills)
                else:
                    report.mismatches.append(f"paper order {order.client_order_id} is {order.status} with no state")
                continue
            stored, fills = await self._recheck(order, state)
            report.fills += len(fills)
            report.updated += (stored.status, stored.filled_size) != (order.status, order.filled_size)
        return report

    async def _recheck(self, order: Order, state: PaperOrderState) -> tuple[Order, list[Fill]]:
        intent = order.intent
        now = self._clock()
        resting = RestingOrder(
            client_order_id=order.client_order_id,
            intent=intent,
            remaining=(intent.base_size or ZERO) - order.filled_size,
            state=RestingState(state.state),
            fill_count=len(order.trade_ids),
            taken=state.taken,
        )
        trades = await self._exchange.trades_since(intent.product_id, state.checked_at, until=now)
        book = await self._book_for(intent)
        fees = await self.fee_rates()
        fills: list[Fill] = []
        result = PaperResult((), OrderStatus.OPEN, resting)
        for trade in trades:
            result = on_trade(resting, price=trade.price, size=trade.size, fees=fees, at=trade.time or now)
            fills.extend(result.fills)
            if result.resting is None:
                break
            resting = result.resting
        if result.resting is not None:
            try:
                result = on_book(result.resting, book, fees=fees, at=now)
                fills.extend(result.fills)
            except PaperError as exc:
                _log.warning("paper order %s not checked against the book: %s", order.client_order_id, exc)
        final = PaperResult(tuple(fills), result.status, result.resting, result.reason)
        return self._apply(order.client_order_id, final, checked_at=now)

    async def cancel_open(self, *, reason: str) -> list[Order]:
        """Cancel every working paper order (nothing to send: the paper exchange is here)."""
        with UnitOfWork(self._engine, read_only=True) as uow:
            working = uow.orders.open_orders()
        return [
            record_outcome(
                self._engine,
                order.client_order_id,
                at=self._clock(),
                status=OrderStatus.CANCELLED,
                reason=reason,
                also=lambda uow, cancelled: uow.paper.remove(cancelled.client_order_id),
            ).order
            for order in working
        ]


def _holds(book: OrderBook, intent: OrderIntent) -> bool:
    """Whether the side `intent` takes from holds its whole size (so a deeper read would change nothing)."""
    side = BookSide.ASK if intent.side is Side.BUY else BookSide.BID
    if intent.base_size is not None:
        held: Decimal = sum((level.size for level in book.levels(side)), ZERO)
        return held >= intent.base_size
    worth: Decimal = sum((level.size * level.price for level in book.levels(side)), ZERO)
    return worth >= (intent.quote_size or ZERO)
