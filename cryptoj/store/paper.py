"""Working paper orders: the paper model's state of a resting order, kept between cycles.

The order itself (intent, status, fills) is an ordinary order row; this row holds what the paper model
needs besides: whether a stop has triggered, what the order already took from each visible level, and
when its market was last checked (trades after that time are still to be matched).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, delete, select

from cryptoj.store._sql import atomic_write, insert_for
from cryptoj.store.errors import InvalidRecord
from cryptoj.store.tables import PaperOrderRow

__all__ = ["PaperOrderRepository", "PaperOrderState"]

_paper = PaperOrderRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PaperOrderState:
    """The paper model's state of one working order.

    Parameters:
        client_order_id: the order's id (an order row must exist).
        state: the paper model's resting state (RESTING, WAITING_TRIGGER, TRIGGERED).
        taken: (price, size) the order already took from each visible opposite level.
        checked_at: trades printed after this time are still to be matched.
    """

    client_order_id: str
    state: str
    taken: tuple[tuple[Decimal, Decimal], ...]
    checked_at: datetime


class PaperOrderRepository:
    """One row per working paper order; removed when the order is done."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def save(self, state: PaperOrderState) -> None:
        """Store or replace an order's paper state."""
        if not state.state:
            raise InvalidRecord(f"paper order {state.client_order_id} needs a state")
        values = {
            "client_order_id": state.client_order_id,
            "state": state.state,
            "taken": json.dumps([[str(price), str(size)] for price, size in state.taken]),
            "checked_at": state.checked_at,
        }
        statement = insert_for(self._connection, _paper).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["client_order_id"], set_={name: statement.excluded[name] for name in values}
        )
        with atomic_write(self._connection, f"paper order {state.client_order_id}"):
            self._connection.execute(statement)

    def get(self, client_order_id: str) -> PaperOrderState | None:
        """The paper state of a working order, or None when it has none (done, or never rested)."""
        row = (
            self._connection.execute(select(_paper).where(_paper.c.client_order_id == client_order_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        taken = tuple((Decimal(price), Decimal(size)) for price, size in json.loads(row["taken"]))
        return PaperOrderState(row["client_order_id"], row["state"], taken, row["checked_at"])

    def remove(self, client_order_id: str) -> None:
        """Forget a paper order that is done (filled, cancelled, expired)."""
        with atomic_write(self._connection, f"paper order {client_order_id}"):
            self._connection.execute(delete(_paper).where(_paper.c.client_order_id == client_order_id))
