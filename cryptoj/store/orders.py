"""Flow cycles and orders (what we asked for apart from what the exchange reports, with status history)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, update

from cryptoj.domain.orders import (
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    StatusChange,
    StopDirection,
    TimeInForce,
    can_transition,
)
from cryptoj.domain.side import Side
from cryptoj.store._sql import atomic_write, insert_for
from cryptoj.store.columns import check_money
from cryptoj.store.errors import ConcurrentUpdate, DuplicateRecord, InvalidRecord, UnknownReference
from cryptoj.store.market import ProductRepository
from cryptoj.store.tables import CLIENT_ORDER_ID_MAX, FillRow, FlowCycleRow, OrderRow, OrderStatusChangeRow

__all__ = ["CycleRepository", "FlowCycle", "OrderRepository"]

_cycles = FlowCycleRow.__table__  # type: ignore[attr-defined]
_orders = OrderRow.__table__  # type: ignore[attr-defined]
_changes = OrderStatusChangeRow.__table__  # type: ignore[attr-defined]
_fills = FillRow.__table__  # type: ignore[attr-defined]

# The intent columns: written once when the order is first stored, compared on every later save.
_INTENT_COLUMNS = (
    "product_id",
    "side",
    "order_type",
    "requested_base_size",
    "requested_quote_size",
    "limit_price",
    "stop_price",
    "stop_direction",
    "time_in_force",
    "end_time",
    "post_only",
)
_OPEN_STATUSES = sorted(status.value for status in OrderStatus if status.is_open)


@dataclass(frozen=True, slots=True)
class FlowCycle:
    """One run of a trading cycle (the orders it placed carry its key)."""

    cycle_key: str
    strategy: str
    started_at: datetime
    flow_run_id: str | None = None
    finished_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class WorkingAmounts:
    """What a working order still asks for: enough to know what it holds, without its history and fills."""

    client_order_id: str
    product_id: str
    side: Side
    base_size: Decimal | None
    limit_price: Decimal | None
    filled_size: Decimal


class CycleRepository:
    """Flow-cycle records: which cycle key placed which intents."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def start(self, cycle_key: str, *, strategy: str, at: datetime, flow_run_id: str | None = None) -> bool:
        """Record a cycle's start; False when the key is stored already (a retried run reuses it)."""
        if not cycle_key or len(cycle_key) > 200:
            raise InvalidRecord(f"cycle_key must be 1 to 200 characters, got {len(cycle_key)}")
        if not strategy:
            raise InvalidRecord(f"cycle {cycle_key} needs a strategy name")
        statement = (
            insert_for(self._connection, _cycles)
            .values(cycle_key=cycle_key, strategy=strategy, started_at=at, flow_run_id=flow_run_id)
            .on_conflict_do_nothing(index_elements=["cycle_key"])
            .returning(_cycles.c.cycle_key)
        )
        # RETURNING, not rowcount: SQLAlchemy does not promise an INSERT's rowcount on every driver.
        with atomic_write(self._connection, f"cycle {cycle_key}"):
            inserted = self._connection.execute(statement).first() is not None
        if not inserted and self.get(cycle_key).strategy != strategy:
            raise DuplicateRecord(f"cycle {cycle_key} is stored for another strategy")
        return inserted

    def finish(self, cycle_key: str, *, at: datetime, outcome: str) -> None:
        """Record how and when a cycle ended."""
        result = self._connection.execute(
            update(_cycles).where(_cycles.c.cycle_key == cycle_key).values(finished_at=at, outcome=outcome)
        )
        if result.rowcount != 1:
            raise UnknownReference(f"cycle {cycle_key} is not stored")

    def get(self, cycle_key: str) -> FlowCycle:
        """A stored cycle; `UnknownReference` when absent."""
        row = self._connection.execute(select(_cycles).where(_cycles.c.cycle_key == cycle_key)).mappings().first()
        if row is None:
            raise UnknownReference(f"cycle {cycle_key} is not stored")
        return FlowCycle(
            cycle_key=row["cycle_key"],
            strategy=row["strategy"],
            started_at=row["started_at"],
            flow_run_id=row["flow_run_id"],
            finished_at=row["finished_at"],
            outcome=row["outcome"],
        )


class OrderRepository:
    """Orders keyed on client_order_id: saving is an upsert that never loses history or goes backwards.

    Saving a new order stores its intent and history. Saving a known order checks the intent is the same
    (`DuplicateRecord` otherwise), appends the history entries the store has not seen (each a legal
    transition from the stored status) and takes the exchange-reported fields. A save from a stale copy
    (its history a prefix of the stored one) changes nothing; one whose history departs from the stored
    one raises `ConcurrentUpdate`. The row is locked while this happens, so two workers end with one copy.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def save(self, order: Order, *, cycle_key: str | None = None, intent_index: int | None = None) -> None:
        """Insert or update `order` (see the class docstring)."""
        intent = _intent_values(order)
        state = _state_values(order)
        ProductRepository(self._connection).require([order.intent.product_id])
        if cycle_key is not None:
            CycleRepository(self._connection).get(cycle_key)
        what = f"order {order.client_order_id}"
        statement = (
            insert_for(self._connection, _orders)
            .values(
                client_order_id=order.client_order_id,
                cycle_key=cycle_key,
                intent_index=intent_index,
                created_at=order.created_at,
                **intent,
                **state,
            )
            .on_conflict_do_nothing(index_elements=["client_order_id"])
            .returning(_orders.c.client_order_id)
        )
        with atomic_write(self._connection, what):
            if self._connection.execute(statement).first() is not None:
                self._append_history(order.client_order_id, order.history, first_seq=0)
                return
            self._update(order, intent, state, cycle_key=cycle_key)

    def _update(self, order: Order, intent: dict[str, Any], state: dict[str, Any], *, cycle_key: str | None) -> None:
        coid = order.client_order_id
        row = (
            self._connection.execute(select(_orders).where(_orders.c.client_order_id == coid).with_for_update())
            .mappings()
            .one()
        )
        changed = [name for name in _INTENT_COLUMNS if row[name] != intent[name]]
        if changed:
            raise DuplicateRecord(f"order {coid} is stored with a different intent ({', '.join(changed)})")
        if cycle_key is not None and row["cycle_key"] not in (None, cycle_key):
            raise DuplicateRecord(f"order {coid} was placed by cycle {row['cycle_key']}, not {cycle_key}")
        stored = self._history(coid)
        mine = order.history
        for seq, (theirs, ours) in enumerate(zip(stored, mine, strict=False)):
            if (theirs.status, theirs.at) != (ours.status, ours.at):
                raise ConcurrentUpdate(
                    f"order {coid} history departs from the stored one at step {seq}: "
                    f"stored {theirs.status.value}, given {ours.status.value}"
                )
        if len(mine) < len(stored) or (len(mine) == len(stored) and order.filled_size < row["filled_size"]):
            return  # a stale copy: the store already knows more
        if order.filled_size < row["filled_size"]:
            # New steps decided on old fill figures (a cancel that did not know of a fill): saving them would
            # also take the fill figures back.
            raise ConcurrentUpdate(
                f"order {coid} is stored filled {row['filled_size']}, this copy only {order.filled_size}: reload it"
            )
        # The new steps follow the stored ones legally: the stored history is a prefix of this one, and
        # `_state_values` checked every step of this one against the status machine.
        known = row["exchange_order_id"]
        if known is not None and order.exchange_order_id not in (None, known):
            raise ConcurrentUpdate(f"order {coid} has exchange id {known}, not {order.exchange_order_id}")
        if order.exchange_order_id is None:
            state["exchange_order_id"] = known
        self._append_history(coid, mine[len(stored) :], first_seq=len(stored))
        self._connection.execute(
            update(_orders)
            .where(_orders.c.client_order_id == coid)
            .values(cycle_key=row["cycle_key"] or cycle_key, **state)
        )

    def _append_history(self, coid: str, changes: Sequence[StatusChange], *, first_seq: int) -> None:
        if not changes:
            return
        self._connection.execute(
            _changes.insert(),
            [
                {"client_order_id": coid, "seq": seq, "status": c.status.value, "at": c.at, "reason": c.reason}
                for seq, c in enumerate(changes, start=first_seq)
            ],
        )

    def _history(self, coid: str) -> list[StatusChange]:
        rows = self._connection.execute(
            select(_changes).where(_changes.c.client_order_id == coid).order_by(_changes.c.seq)
        ).mappings()
        return [StatusChange(OrderStatus(r["status"]), r["at"], r["reason"]) for r in rows]

    def get(self, client_order_id: str) -> Order | None:
        """The stored order, or None."""
        orders = self._load(select(_orders).where(_orders.c.client_order_id == client_order_id))
        return orders[0] if orders else None

    def by_exchange_id(self, exchange_order_id: str) -> Order | None:
        """The stored order the exchange knows by this id, or None."""
        orders = self._load(select(_orders).where(_orders.c.exchange_order_id == exchange_order_id))
        return orders[0] if orders else None

    def open_orders(self, *, product_id: str | None = None) -> list[Order]:
        """Orders that may still fill (including unknown outcomes, which must be looked up), oldest first."""
        query = select(_orders).where(_orders.c.status.in_(_OPEN_STATUSES))
        if product_id is not None:
            query = query.where(_orders.c.product_id == product_id)
        return self._load(query.order_by(_orders.c.created_at, _orders.c.client_order_id))

    def working_amounts(self) -> list[WorkingAmounts]:
        """The amounts of the orders `open_orders` returns, read without loading their history and fills."""
        query = select(
            _orders.c.client_order_id,
            _orders.c.product_id,
            _orders.c.side,
            _orders.c.requested_base_size,
            _orders.c.limit_price,
            _orders.c.filled_size,
        ).where(_orders.c.status.in_(_OPEN_STATUSES))
        return [
            WorkingAmounts(row[0], row[1], Side(row[2]), row[3], row[4], row[5])
            for row in self._connection.execute(query.order_by(_orders.c.created_at, _orders.c.client_order_id))
        ]

    def count_open(self) -> int:
        """How many orders may still fill (`open_orders`, counted without loading them)."""
        query = select(func.count()).select_from(_orders).where(_orders.c.status.in_(_OPEN_STATUSES))
        return int(self._connection.execute(query).scalar_one())

    def creation_times_since(self, since: datetime) -> list[datetime]:
        """When each order stored at or after `since` was created, oldest first (without loading the orders)."""
        query = select(_orders.c.created_at).where(_orders.c.created_at >= since).order_by(_orders.c.created_at)
        return list(self._connection.execute(query).scalars())

    def created_since(self, since: datetime) -> list[Order]:
        """Orders stored at or after `since`, oldest first (the recent-order rate rule reads them)."""
        return self._load(
            select(_orders)
            .where(_orders.c.created_at >= since)
            .order_by(_orders.c.created_at, _orders.c.client_order_id)
        )

    def rejected_since(self, since: datetime, *, reason_prefix: str) -> list[Order]:
        """REJECTED orders created at or after `since` whose rejection's reason starts with `reason_prefix`."""
        rejected = OrderStatus.REJECTED.value
        refused = select(_changes.c.client_order_id).where(
            _changes.c.status == rejected, _changes.c.reason.startswith(reason_prefix, autoescape=True)
        )
        return self._load(
            select(_orders)
            .where(
                _orders.c.status == rejected,
                _orders.c.created_at >= since,
                _orders.c.client_order_id.in_(refused),
            )
            .order_by(_orders.c.created_at, _orders.c.client_order_id)
        )

    def by_cycle(self, cycle_key: str) -> list[Order]:
        """The orders a cycle placed, in intent order."""
        return self._load(
            select(_orders)
            .where(_orders.c.cycle_key == cycle_key)
            .order_by(_orders.c.intent_index, _orders.c.client_order_id)
        )

    def _load(self, query: Any) -> list[Order]:
        rows = list(self._connection.execute(query).mappings())
        if not rows:
            return []
        ids = [row["client_order_id"] for row in rows]
        history: dict[str, list[StatusChange]] = {coid: [] for coid in ids}
        for r in self._connection.execute(
            select(_changes).where(_changes.c.client_order_id.in_(ids)).order_by(_changes.c.seq)
        ).mappings():
            history[r["client_order_id"]].append(StatusChange(OrderStatus(r["status"]), r["at"], r["reason"]))
        trades: dict[str, set[str]] = {coid: set() for coid in ids}
        for coid, trade_id in self._connection.execute(
            select(_fills.c.client_order_id, _fills.c.trade_id).where(_fills.c.client_order_id.in_(ids))
        ):
            trades[coid].add(trade_id)
        return [_order_from(row, history[row["client_order_id"]], trades[row["client_order_id"]]) for row in rows]


def _intent_values(order: Order) -> dict[str, Any]:
    intent = order.intent
    coid = order.client_order_id
    if not coid or len(coid) > CLIENT_ORDER_ID_MAX:
        raise InvalidRecord(f"client_order_id must be 1 to {CLIENT_ORDER_ID_MAX} characters, got {coid!r}")
    amounts = {
        "requested_base_size": intent.base_size,
        "requested_quote_size": intent.quote_size,
        "limit_price": intent.limit_price,
        "stop_price": intent.stop_price,
    }
    for name, value in amounts.items():
        if value is not None:
            check_money(value, field=f"order {coid} {name}")
    return {
        "product_id": intent.product_id,
        "side": intent.side.value,
        "order_type": intent.order_type.value,
        **amounts,
        "stop_direction": intent.stop_direction.value if intent.stop_direction else None,
        "time_in_force": intent.time_in_force.value,
        "end_time": intent.end_time,
        "post_only": intent.post_only,
    }


def _state_values(order: Order) -> dict[str, Any]:
    coid = order.client_order_id
    for name in ("filled_size", "filled_value", "fees"):
        value = check_money(getattr(order, name), field=f"order {coid} {name}")
        if value < 0:
            raise InvalidRecord(f"order {coid} {name} must not be negative, got {value}")
    if not order.history or order.history[-1].status != order.status:
        raise InvalidRecord(f"order {coid} history does not end in its status {order.status.value}")
    for before, after in zip(order.history, order.history[1:], strict=False):
        if not can_transition(before.status, after.status):
            raise InvalidRecord(f"order {coid} cannot go from {before.status.value} to {after.status.value}")
    return {
        "status": order.status.value,
        "exchange_order_id": order.exchange_order_id,
        "filled_size": order.filled_size,
        "filled_value": order.filled_value,
        "fees": order.fees,
        "reason": order.reason,
        "updated_at": order.history[-1].at,
    }


def _order_from(row: RowMapping, history: list[StatusChange], trade_ids: set[str]) -> Order:
    intent = OrderIntent(
        product_id=row["product_id"],
        side=Side(row["side"]),
        order_type=OrderType(row["order_type"]),
        base_size=row["requested_base_size"],
        quote_size=row["requested_quote_size"],
        limit_price=row["limit_price"],
        stop_price=row["stop_price"],
        stop_direction=StopDirection(row["stop_direction"]) if row["stop_direction"] else None,
        time_in_force=TimeInForce(row["time_in_force"]),
        end_time=row["end_time"],
        post_only=bool(row["post_only"]),
    )
    return Order(
        client_order_id=row["client_order_id"],
        intent=intent,
        created_at=row["created_at"],
        status=OrderStatus(row["status"]),
        exchange_order_id=row["exchange_order_id"],
        filled_size=row["filled_size"],
        filled_value=row["filled_value"],
        fees=row["fees"],
        reason=row["reason"],
        history=history,
        trade_ids=trade_ids,
    )
