"""LiveExecutor: orders sent to the exchange through the gated `OrderWriter`, outcomes read back over REST.

An order whose send may have reached the exchange without a definite answer is UNKNOWN_OUTCOME until it
is looked up by its client_order_id. Found, it is adopted; surely absent, it is sent again under the same
client_order_id (the exchange returns the existing order for a repeated id, so even a lookup that missed
cannot make a second order); absent and older than the intent's time to live, it is recorded as never
placed. Nothing is marked failed while its outcome is unknown. A resend the exchange refuses is stored
REJECTED, but an earlier send may still be on the wire: reconciliation looks such an order up for the
intent's time to live, and adopts it if it landed. Fills are read over REST and stored by trade id; the
WebSocket user channel only says when to look.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from cryptoj.coinbase import models as wire
from cryptoj.coinbase.errors import (
    CoinbaseError,
    OperatorError,
    OrderRejectedError,
    RequestError,
    TransientError,
    UnknownOutcomeError,
)
from cryptoj.config import ExecutionMode
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import Order, OrderStatus
from cryptoj.domain.positions import Portfolio
from cryptoj.services.exchange import ExchangeService
from cryptoj.services.executor import OrderExecutor, Placement, RefreshReport
from cryptoj.services.ledger import RecordedOutcome, load_order, record_outcome
from cryptoj.services.mapping import MappingError, fill_from_wire, intent_from_wire, status_from_wire
from cryptoj.services.orders import OrderWriter
from cryptoj.services.risk import RiskService
from cryptoj.store import UnitOfWork

__all__ = ["NEVER_PLACED", "RESEND_REFUSED", "LiveExecutor"]

_log = logging.getLogger(__name__)

NEVER_PLACED = "never placed"
EXTERNAL = "EXTERNAL: placed outside CryptoJ"
RESEND_REFUSED = "refused on a resend"
# Statuses after which an order can change no more; a terminal report with fills still missing waits.
_DONE = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FAILED})
# The exchange's own in-between statuses: accepted, about to work or to stop. Reconciliation reads them again.
_SETTLING = frozenset({OrderStatus.PENDING, OrderStatus.QUEUED, OrderStatus.CANCEL_QUEUED, OrderStatus.EDIT_QUEUED})


class LiveExecutor(OrderExecutor):
    """Sends orders to the exchange and keeps the store equal to what the exchange reports.

    Parameters:
        engine, risk, clock: as `OrderExecutor`.
        exchange: reads orders, fills and balances.
        writer: the gated writer (only `OrderWriter.open` makes one).
        intent_ttl: how long an intent that never reached the exchange may still be sent.
        lookups: attempts at looking an unknown outcome up before leaving it to reconciliation; also how
            often reconciliation reads again an order the exchange still has in an in-between status.
        lookup_delay: seconds between those attempts (the n-th waits n times this).
        sleep: waits between lookups (tests pass one that does not wait).
    """

    mode = ExecutionMode.LIVE

    def __init__(
        self,
        engine: Engine,
        risk: RiskService,
        *,
        exchange: ExchangeService,
        writer: OrderWriter,
        intent_ttl: timedelta = timedelta(minutes=5),
        lookups: int = 3,
        lookup_delay: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(engine, risk, clock=clock)
        self._exchange = exchange
        self._writer = writer
        self._ttl = intent_ttl
        self._lookups = lookups
        self._lookup_delay = lookup_delay
        self._sleep = sleep

    async def portfolio(self) -> Portfolio:
        """Cash as the exchange's balances (available and on hold) and the positions CryptoJ holds."""
        balances = await self._exchange.balances()
        with UnitOfWork(self._engine, read_only=True) as uow:
            positions = uow.positions.all()
        return Portfolio(cash={cur: balance.total for cur, balance in balances.items()}, positions=positions)

    # --- sending ------------------------------------------------------------------------------

    async def _send(self, order: Order, *, resends: int = 2, resend: bool = False) -> Placement:
        """Send `order`; `resend`: an earlier send of it went unanswered (this process's, or another's)."""
        coid = order.client_order_id
        try:
            response = await self._writer.create(order.intent, client_order_id=coid)
        except (OrderRejectedError, RequestError) as exc:
            # A definite refusal (success=false, or a 4xx): no order came of this send.
            reason = _rejection(exc) if isinstance(exc, OrderRejectedError) else str(exc)
            if resend:
                # But an earlier send may still be on the wire and land after it: reconciliation looks.
                reason = f"{RESEND_REFUSED}: {reason}"
            return Placement(self._store(coid, status=OrderStatus.REJECTED, reason=reason), sent=True)
        except UnknownOutcomeError as exc:
            stored = self._store(coid, status=OrderStatus.UNKNOWN_OUTCOME, reason=str(exc))
            placement = await self._look_up(stored, resends=resends)
            return Placement(placement.order, placement.new_fills, sent=True)
        except OperatorError as exc:
            # Keys, permissions: no order was made, and every other order would meet the same. Stop loudly.
            self._store(coid, status=OrderStatus.REJECTED, reason=str(exc))
            raise
        # A TransientError here surely never reached the exchange (the client says unknown otherwise): the
        # order stays SUBMITTING and the caller's retry resumes it.
        exchange_id = response.success_response.order_id if response.success_response else response.order_id
        if not exchange_id:
            stored = self._store(coid, status=OrderStatus.UNKNOWN_OUTCOME, reason="accepted without an order id")
            return Placement((await self._look_up(stored, resends=0)).order, sent=True)
        self._store(coid, status=OrderStatus.PENDING, exchange_order_id=exchange_id)
        outcome = await self._sync(coid, exchange_id)
        return Placement(outcome.order, tuple(outcome.fills), sent=True)

    async def _resolve(self, order: Order) -> Placement:
        return await self._look_up(order, resends=2)

    async def _look_up(self, order: Order, *, resends: int) -> Placement:
        """Settle an order that may or may not be on the exchange, by its client_order_id."""
        coid = order.client_order_id
        found: wire.Order | None = None
        for attempt in range(self._lookups):
            try:
                found = await self._exchange.find_order(
                    coid, product_id=order.intent.product_id, since=order.created_at
                )
                break
            except (TransientError, UnknownOutcomeError) as exc:
                _log.warning("looking up order %s failed (%s); attempt %d", coid, type(exc).__name__, attempt + 1)
                await self._sleep(self._lookup_delay * (attempt + 1))
        else:
            unknown = self._store(coid, status=OrderStatus.UNKNOWN_OUTCOME, reason="lookup failed: reconcile later")
            return Placement(unknown)
        if found is not None:
            outcome = await self._adopt(coid, found)
            return Placement(outcome.order, tuple(outcome.fills))
        age = self._clock() - order.created_at
        if age >= self._ttl:
            reason = f"{NEVER_PLACED}: not on the exchange {age.total_seconds():.0f}s after the intent; not sent again"
            return Placement(self._store(coid, status=OrderStatus.CANCELLED, reason=reason))
        if resends <= 0:
            # Still young, but every send this time went unanswered: reconciliation asks again later.
            unanswered = self._store(coid, status=OrderStatus.UNKNOWN_OUTCOME, reason="not found; sends unanswered")
            return Placement(unanswered)
        current = load_order(self._engine, coid) or order
        if current.status is not OrderStatus.SUBMITTING:
            current = self._store(coid, status=OrderStatus.SUBMITTING, reason="not on the exchange: sending again")
        return await self._send(current, resends=resends - 1, resend=True)

    # --- reading back ---------------------------------------------------------------------------

    async def _adopt(self, client_order_id: str, found: wire.Order) -> RecordedOutcome:
        """Take the exchange's order found under `client_order_id` as ours, with its status and fills."""
        self._store(client_order_id, status=OrderStatus.PENDING, exchange_order_id=found.order_id)
        return await self._sync(client_order_id, found.order_id)

    async def _sync(self, client_order_id: str, exchange_id: str, *, external: bool = False) -> RecordedOutcome:
        """Read an order and its fills from the exchange and store them (fills first, then the status)."""
        found = await self._exchange.get_order(exchange_id)
        stored = load_order(self._engine, client_order_id)
        side = stored.intent.side if stored is not None else None
        fills = [
            fill_from_wire(fill, client_order_id=client_order_id, order_side=side)
            for fill in await self._exchange.fills([exchange_id])
        ]
        status = status_from_wire(found.status)
        reason = found.reject_message or found.cancel_message or None
        known = sum((fill.size for fill in fills), ZERO)
        if status in _DONE and found.filled_size is not None and known < found.filled_size:
            # The order is done but its fills are not all listed yet: keep it working until they are.
            status = OrderStatus.OPEN
        return record_outcome(
            self._engine,
            client_order_id,
            at=self._clock(),
            status=status,
            reason=reason,
            exchange_order_id=exchange_id,
            fills=fills,
            apply_to_positions=not external,
        )

    def _store(
        self,
        client_order_id: str,
        *,
        status: OrderStatus | None = None,
        reason: str | None = None,
        exchange_order_id: str | None = None,
    ) -> Order:
        return record_outcome(
            self._engine,
            client_order_id,
            at=self._clock(),
            status=status,
            reason=reason,
            exchange_order_id=exchange_order_id,
        ).order

    # --- reconciliation -------------------------------------------------------------------------

    async def refresh(self) -> RefreshReport:
        """Reconcile: every working order read back, orders placed elsewhere recorded, differences listed.

        Also looked up: orders whose resend was refused within the intent's time to live (an earlier send may
        have landed since). An order the exchange still has in an in-between status (queued, pending) is read
        again a few times; one still in it afterwards is counted as settling, not as a difference.
        """
        report = RefreshReport()
        with UnitOfWork(self._engine, read_only=True) as uow:
            working = uow.orders.open_orders()
            refused = uow.orders.rejected_since(self._clock() - self._ttl, reason_prefix=RESEND_REFUSED)
        before = {order.client_order_id: (order.status, order.filled_size) for order in [*working, *refused]}
        # What each order now is; an order that could not be read is left out (it is listed as a difference).
        now: dict[str, Order] = {}
        for order in working:
            if (read := await self._read_back(order, report)) is not None:
                now[order.client_order_id] = read
        for order in refused:
            if (read := await self._find_landed(order, report)) is not None:
                now[order.client_order_id] = read
        for attempt in range(self._lookups):
            settling = [order for order in now.values() if order.status in _SETTLING and order.exchange_order_id]
            if not settling:
                break
            await self._sleep(self._lookup_delay * (attempt + 1))
            for order in settling:
                if (read := await self._read_back(order, report)) is not None:
                    now[order.client_order_id] = read
                else:
                    del now[order.client_order_id]
        for coid, after in now.items():
            report.updated += (after.status, after.filled_size) != before[coid]
            report.unresolved += after.status is OrderStatus.UNKNOWN_OUTCOME
            report.settling += after.status in _SETTLING
        report.checked = len(before)
        await self._record_external(report)
        await self._compare(report)
        return report

    async def _read_back(self, order: Order, report: RefreshReport) -> Order | None:
        """`order` as the exchange now has it (looked up first if its outcome is unknown), stored; None: unread."""
        try:
            if order.exchange_order_id is None:
                placement = await self._resolve(order)
                report.fills += len(placement.new_fills)
                return placement.order
            outcome = await self._sync(order.client_order_id, order.exchange_order_id, external=_is_external(order))
        except CoinbaseError as exc:
            report.mismatches.append(f"order {order.client_order_id}: could not be read back ({exc})")
            return None
        report.fills += len(outcome.fills)
        return outcome.order

    async def _find_landed(self, order: Order, report: RefreshReport) -> Order | None:
        """A refused resend's order: adopted if an earlier send of it landed after all; never sent again."""
        coid = order.client_order_id
        try:
            found = await self._exchange.find_order(coid, product_id=order.intent.product_id, since=order.created_at)
            if found is None:
                return order
            _log.warning("order %s landed after its resend was refused: adopting %s", coid, found.order_id)
            outcome = await self._adopt(coid, found)
        except CoinbaseError as exc:
            report.mismatches.append(f"order {coid}: could not be looked up ({exc})")
            return None
        report.fills += len(outcome.fills)
        return outcome.order

    async def _record_external(self, report: RefreshReport) -> None:
        """Store the exchange's working orders the store lacks, marked as placed outside CryptoJ."""
        for found in await self._exchange.open_orders():
            with UnitOfWork(self._engine, read_only=True) as uow:
                known = uow.orders.by_exchange_id(found.order_id) or (
                    uow.orders.get(found.client_order_id) if found.client_order_id else None
                )
            if known is not None:
                continue
            try:
                intent = intent_from_wire(found)
            except MappingError as exc:
                report.mismatches.append(f"exchange order {found.order_id} is not stored: {exc}")
                continue
            coid = found.client_order_id or f"external-{found.order_id}"
            now = self._clock()
            order = Order(client_order_id=coid, intent=intent, created_at=found.created_time or now, reason=EXTERNAL)
            order.transition(OrderStatus.SUBMITTING, at=now, reason=EXTERNAL)
            rules = await self._exchange.product_rules([intent.product_id])
            with UnitOfWork(self._engine) as uow:
                uow.products.upsert(rules[intent.product_id], at=now)
                uow.orders.save(order)
                uow.commit()
            await self._sync(coid, found.order_id, external=True)
            report.external += 1

    async def _compare(self, report: RefreshReport) -> None:
        """List what still differs: working orders the exchange and the store disagree on."""
        exchange_open = {order.order_id for order in await self._exchange.open_orders()}
        with UnitOfWork(self._engine, read_only=True) as uow:
            stored_open = {o.exchange_order_id: o for o in uow.orders.open_orders() if o.exchange_order_id}
        for order_id in sorted(exchange_open - set(stored_open)):
            report.mismatches.append(f"exchange order {order_id} is working but not working in the store")
        for order_id in sorted(set(stored_open) - exchange_open):
            order = stored_open[order_id]
            if order.status in _SETTLING:
                continue  # read just now in that status (the exchange lists only OPEN ones as working): settling
            if order.status is not OrderStatus.OPEN or _is_external(order):
                report.mismatches.append(
                    f"order {order.client_order_id} ({order_id}) is {order.status.value} in the store, "
                    "not working on the exchange"
                )

    async def cancel_open(self, *, reason: str) -> list[Order]:
        """Cancel every working order CryptoJ placed, then read each back."""
        with UnitOfWork(self._engine, read_only=True) as uow:
            working = [order for order in uow.orders.open_orders() if not _is_external(order)]
        ids = [order.exchange_order_id for order in working if order.exchange_order_id]
        if ids:
            outcomes = await self._writer.cancel(ids)
            for outcome in outcomes:
                if not outcome.cancelled:
                    _log.warning("cancel of %s refused: %s", outcome.order_id, outcome.failure_reason)
        result = []
        for order in working:
            if order.exchange_order_id:
                result.append((await self._sync(order.client_order_id, order.exchange_order_id)).order)
            else:
                result.append((await self._resolve(order)).order)
        _log.warning("cancelled %d working order(s): %s", len(ids), reason)
        return result


def _is_external(order: Order) -> bool:
    return any(change.reason == EXTERNAL for change in order.history)


def _rejection(exc: OrderRejectedError) -> str:
    """The most specific reason a rejection gives (Coinbase often leaves the top-level one unknown)."""
    parts = [
        reason
        for reason in (exc.new_order_failure_reason, exc.preview_failure_reason, exc.failure_reason)
        if reason and reason != "UNKNOWN_FAILURE_REASON"
    ]
    detail = exc.error_details or str(exc)
    return f"{parts[0]}: {detail}" if parts else detail
