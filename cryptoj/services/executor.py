"""OrderExecutor: one interface that turns an intent into exactly one order, or into none, and knows which.

The placement protocol is the same in both modes; only "send" differs (`LiveExecutor` sends to the
exchange through the gated `OrderWriter`, `PaperExecutor` fills against the exchange's book here):

1. The client_order_id derives from what the order is for (`OrderKey`: cycle, strategy, intent index, and
   the product). If the store already has it, this is a retry or a restart: nothing new is sent unless
   the exchange surely has no such order (`_resume`).
2. The intent is rounded to the product's increments and checked against its rules, then against the
   risk limits and the kill switch: a denial is stored with every reason and nothing is sent.
3. The intent is stored (status SUBMITTING) before it is sent, in a durable commit.
4. Send. The answer (or its absence) is stored: accepted, rejected with the exchange's reason, or an
   unknown outcome, which is resolved by looking the order up, never by a blind resend.

A paper order sends nothing, so `PaperExecutor` works its fill out first and stores steps 3 and 4 in one
durable transaction (`_submit`): there is no moment for the store to miss.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import Engine

from cryptoj.config import ExecutionMode
from cryptoj.domain.orders import (
    Fill,
    InvalidIntent,
    Order,
    OrderIntent,
    OrderStatus,
    client_order_id_for,
)
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.products import ProductRules
from cryptoj.domain.risk import Reason
from cryptoj.services.ledger import load_order
from cryptoj.services.risk import RiskService
from cryptoj.store import ConcurrentUpdate, UnitOfWork

__all__ = ["OrderExecutor", "OrderKey", "Outcome", "Placement", "RefreshReport"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OrderKey:
    """What an order is for: the cycle that decided it, the strategy, and the intent's number in the cycle.

    With the product it fixes the client_order_id, so a retried or re-run cycle derives the same ids: the
    number counts the strategy's intents for that product in the cycle (`TradingService.plan`), so it does
    not move when a re-run's list of intents is shorter than its crashed run's.
    """

    cycle_key: str
    strategy: str
    intent_index: int

    def client_order_id(self, product_id: str) -> str:
        """The deterministic client_order_id of this key's intent for `product_id`."""
        return client_order_id_for(
            cycle_key=self.cycle_key, strategy=self.strategy, product_id=product_id, intent_index=self.intent_index
        )


class Outcome(StrEnum):
    """How a placement ended, for reports and artifacts."""

    DENIED = "denied"  # our product rules or risk limits refused it: nothing was sent
    REJECTED = "rejected"  # the exchange (or the paper model, as Coinbase would) said no
    UNKNOWN = "unknown"  # sent, no definite answer yet: reconciliation will look it up
    ACCEPTED = "accepted"  # on the exchange: working, filled, or ended (IOC remainder cancelled, expired)


@dataclass(frozen=True, slots=True)
class Placement:
    """The result of `OrderExecutor.place`.

    Parameters:
        order: the order as stored after this call.
        new_fills: fills this call recorded.
        sent: whether this call sent a request (or ran the paper model); False for a denial or a repeat.
    """

    order: Order
    new_fills: tuple[Fill, ...] = ()
    sent: bool = False

    @property
    def outcome(self) -> Outcome:
        """Denied, rejected, unknown or accepted."""
        status = self.order.status
        if status is OrderStatus.DENIED:
            return Outcome.DENIED
        if status is OrderStatus.REJECTED:
            return Outcome.REJECTED
        if status in (OrderStatus.CREATED, OrderStatus.SUBMITTING, OrderStatus.UNKNOWN_OUTCOME):
            return Outcome.UNKNOWN
        return Outcome.ACCEPTED


@dataclass(slots=True)
class RefreshReport:
    """What a refresh (reconciliation, or the paper re-check of resting orders) found and stored.

    Parameters:
        checked: stored orders looked at.
        updated: orders whose status or fills changed.
        fills: fills recorded.
        external: orders the exchange has that CryptoJ did not place (recorded as such).
        unresolved: orders whose outcome is still unknown.
        settling: orders the exchange still had in an in-between status (queued, pending) after reading
            them again: not a difference, but not settled yet.
        mismatches: what still differs between the store and the exchange afterwards, in sentences.
    """

    checked: int = 0
    updated: int = 0
    fills: int = 0
    external: int = 0
    unresolved: int = 0
    settling: int = 0
    mismatches: list[str] = field(default_factory=list)


class OrderExecutor(ABC):
    """Places intents as orders: the protocol here, "send" in the live and paper implementations.

    Parameters:
        engine: the store (migrated).
        risk: the risk service whose limits and kill switch every new order passes.
        clock: the time now (aware, UTC).
    """

    mode: ClassVar[ExecutionMode]

    def __init__(self, engine: Engine, risk: RiskService, *, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._risk = risk
        self._clock = clock or (lambda: datetime.now(UTC))

    # --- the protocol --------------------------------------------------------------------------

    async def place(
        self, intent: OrderIntent, *, key: OrderKey, rules: ProductRules, marks: Mapping[str, Decimal]
    ) -> Placement:
        """Turn `intent` into exactly one order, or into a stored denial; a repeat sends nothing new."""
        if rules.product_id != intent.product_id:
            raise InvalidIntent(f"rules are for {rules.product_id}, the intent for {intent.product_id}")
        coid = key.client_order_id(intent.product_id)
        existing = load_order(self._engine, coid)
        if existing is not None:
            return await self._resume(existing)
        now = self._clock()
        reasons, checked = await self._check(intent, rules, marks)
        order = Order(client_order_id=coid, intent=checked or intent, created_at=now)
        if reasons:
            order.transition(OrderStatus.DENIED, at=now, reason="; ".join(reasons))
            return Placement(self._store_new(order, key, rules) or order)
        order.transition(OrderStatus.SUBMITTING, at=now)
        return await self._submit(order, key, rules)

    async def _submit(self, order: Order, key: OrderKey, rules: ProductRules) -> Placement:
        """Store the SUBMITTING `order` durably, then send it: a send never happens without its stored intent."""
        stored = self._store_new(order, key, rules)
        if stored is not None and stored.history != order.history:
            return await self._resume(stored)  # another worker stored this intent first: it is theirs to send
        return await self._send(order)

    async def _check(
        self, intent: OrderIntent, rules: ProductRules, marks: Mapping[str, Decimal]
    ) -> tuple[list[str], OrderIntent | None]:
        """Every reason to deny `intent` (product rules, then risk), and the intent rounded to the increments."""
        try:
            rounded = rules.round(intent)
        except InvalidIntent as exc:
            return [f"PRODUCT_RULES: {exc}"], None
        mid = marks.get(intent.product_id)
        reasons = [f"{v.rule.value}: {v.message}" for v in rules.validate(rounded, reference_price=mid)]
        decision = self._risk.pre_trade(rounded, await self.portfolio(), marks)
        reasons += [_reason(r) for r in decision.reasons]
        return reasons, rounded

    def _store_new(
        self,
        order: Order,
        key: OrderKey,
        rules: ProductRules,
        *,
        also: Callable[[UnitOfWork], None] | None = None,
    ) -> Order | None:
        """Store a new order with its cycle and product; returns the stored order when another got there first.

        `also` writes more in the same transaction (a paper order's fills), all of it or none.
        """
        try:
            # Durable: the intent must outlive a crash or a power cut that follows the send.
            with UnitOfWork(self._engine, durable=True) as uow:
                uow.products.upsert(rules, at=order.created_at)
                uow.cycles.start(key.cycle_key, strategy=key.strategy, at=order.created_at)
                uow.orders.save(order, cycle_key=key.cycle_key, intent_index=key.intent_index)
                if also is not None:
                    also(uow)
                uow.commit()
        except ConcurrentUpdate:
            return load_order(self._engine, order.client_order_id)
        return None

    async def _resume(self, order: Order) -> Placement:
        """A stored order met again (a retry, a restart, a second worker): finish it, never duplicate it."""
        if order.status is OrderStatus.DENIED or order.status.is_terminal:
            return Placement(order)
        if order.status in (OrderStatus.CREATED, OrderStatus.SUBMITTING, OrderStatus.UNKNOWN_OUTCOME):
            return await self._resolve(order)
        return Placement(order)

    # --- what each mode provides ---------------------------------------------------------------

    @abstractmethod
    async def portfolio(self) -> Portfolio:
        """Cash and positions as this mode's account has them."""

    @abstractmethod
    async def _send(self, order: Order) -> Placement:
        """Send a stored SUBMITTING order and store what came of it."""

    @abstractmethod
    async def _resolve(self, order: Order) -> Placement:
        """Settle an order whose send may or may not have happened (look it up; send only if surely absent)."""

    @abstractmethod
    async def refresh(self) -> RefreshReport:
        """Bring working orders up to date (reconciliation; paper: re-check resting orders)."""

    @abstractmethod
    async def cancel_open(self, *, reason: str) -> list[Order]:
        """Cancel every working order CryptoJ placed (after a risk breach); returns them as stored."""


def _reason(reason: Reason) -> str:
    return f"{reason.rule.value}: {reason.message}"
