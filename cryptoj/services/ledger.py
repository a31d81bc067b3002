"""Writing what happened to an order into the store: status, exchange id, fills and positions, at once.

Paper and live execution record through these same functions, so both leave the same records and
positions, PnL and risk read them alike. Fills are keyed by trade id: only fills the store had not seen
move the order's figures and the position, so a fill read twice (a retry, a reconciliation, a second
worker) counts once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine

from cryptoj.domain.orders import Fill, Order, OrderStatus, can_transition
from cryptoj.domain.positions import Position, PositionError
from cryptoj.store import ConcurrentUpdate, UnitOfWork, UnknownReference

__all__ = ["RecordedOutcome", "load_order", "move_positions", "record_outcome"]

_log = logging.getLogger(__name__)
# Two writers meeting on one order: the loser reloads and applies its news to what the winner stored.
_ATTEMPTS = 5


class RecordedOutcome:
    """What `record_outcome` stored: the order as it now stands and the fills that were new."""

    __slots__ = ("fills", "order")

    def __init__(self, order: Order, fills: list[Fill]) -> None:
        self.order = order
        self.fills = fills


def load_order(engine: Engine, client_order_id: str) -> Order | None:
    """The stored order, read without taking a write lock."""
    with UnitOfWork(engine, read_only=True) as uow:
        return uow.orders.get(client_order_id)


def record_outcome(
    engine: Engine,
    client_order_id: str,
    *,
    at: datetime,
    status: OrderStatus | None = None,
    reason: str | None = None,
    exchange_order_id: str | None = None,
    fills: Sequence[Fill] = (),
    apply_to_positions: bool = True,
    also: Callable[[UnitOfWork, Order], None] | None = None,
) -> RecordedOutcome:
    """Store news of an order in one transaction; returns the order as stored and the fills that were new.

    A status the order cannot move to from where it stands (an older report arriving late) is left out;
    fills and the exchange id are still taken. `apply_to_positions=False` records fills of orders CryptoJ
    did not place, which must not move its positions. `also` writes more in the same transaction (it
    gets the unit of work and the order as it will be stored).
    """
    for attempt in range(_ATTEMPTS):
        try:
            with UnitOfWork(engine) as uow:
                # Loaded before the fills are inserted: its trade ids are the fills it has already counted.
                order = uow.orders.get(client_order_id)
                if order is None:
                    raise UnknownReference(f"order {client_order_id} is not stored")
                new = uow.fills.add(fills) if fills else []
                for fill in new:
                    order.apply_fill(fill)
                if exchange_order_id is not None and order.exchange_order_id is None:
                    order.exchange_order_id = exchange_order_id
                if status is not None and status != order.status:
                    if can_transition(order.status, status):
                        order.transition(status, at=at, reason=reason)
                    else:
                        _log.info("order %s stays %s (report of %s came late)", client_order_id, order.status, status)
                uow.orders.save(order)
                if apply_to_positions and new:
                    move_positions(uow, new, at=at)
                if also is not None:
                    also(uow, order)
                uow.commit()
                return RecordedOutcome(order, new)
        except ConcurrentUpdate:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def move_positions(uow: UnitOfWork, fills: Sequence[Fill], *, at: datetime) -> None:
    """Move the stored positions by `fills` (new ones: a fill applied twice is counted twice), in `uow`.

    Fills can reach the store in another order than they happened: a worker killed between a buy's send
    and its store leaves the buy to a later run (its re-run, or the reconciliation), while the next cycle,
    deciding on the exchange's balances, already sells what that buy bought. A product whose new fills are
    older than a fill it already counts, or whose sell finds too little held, has its position rebuilt from
    all its fills (of orders CryptoJ placed) in the order they happened. A sell whose buy is still missing
    stays out meanwhile, and the rebuild the late buy brings about counts it: once every fill is in, the
    position is the exchange's, whatever order they came in (before, such a sell was dropped for good).
    """
    by_product: dict[str, list[Fill]] = {}
    for fill in sorted(fills, key=_happened):
        by_product.setdefault(fill.product_id, []).append(fill)
    for product_id, new in by_product.items():
        position = uow.positions.get(product_id)  # first: on PostgreSQL it makes movers of a product take turns
        fresh = {fill.trade_id for fill in new}
        first = new[0].time
        counted_later = any(
            f.time > first and f.trade_id not in fresh for f in uow.fills.placed(product_id, since=first)
        )
        if counted_later or not _applies(position, new):
            position = _rebuilt(product_id, uow.fills.placed(product_id))
        uow.positions.save(position, at=at)


def _happened(fill: Fill) -> tuple[datetime, str]:
    return fill.time, fill.trade_id


def _applies(position: Position, fills: Sequence[Fill]) -> bool:
    """Apply `fills` in turn; False at the first that cannot be (a sell of more than is held)."""
    for fill in fills:
        try:
            position.apply(fill)
        except PositionError:
            return False
    return True


def _rebuilt(product_id: str, fills: Sequence[Fill]) -> Position:
    """The position `fills` make in the order given, leaving out (and logging) a sell of more than is held."""
    position = Position(product_id)
    for fill in fills:
        try:
            position.apply(fill)
        except PositionError as exc:
            # The exchange's fill is a fact and is stored; the buy it sells has not reached the store yet
            # (or coins bought elsewhere were sold). The rebuild the late buy brings about counts it.
            _log.warning("fill %s waits for the fills before it in the %s position: %s", fill.trade_id, product_id, exc)
    return position
