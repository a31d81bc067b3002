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
    """Move the stored positions by `fills` (new ones: a fill applied twice is counted twice), in `uow`."""
    positions: dict[str, Position] = {}
    for fill in fills:
        position = positions.get(fill.product_id) or uow.positions.get(fill.product_id)
        try:
            position.apply(fill)
        except PositionError as exc:
            # The exchange's fill is a fact: it is stored whatever our position says. A sell beyond what
            # CryptoJ holds means coins bought elsewhere were sold; the position stays and says so in the log.
            _log.error("fill %s not applied to the %s position: %s", fill.trade_id, fill.product_id, exc)
            continue
        positions[fill.product_id] = position
    for position in positions.values():
        uow.positions.save(position, at=at)
