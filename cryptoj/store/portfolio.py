"""Positions, balance and equity snapshots, risk events and the stored kill switch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, RowMapping, select, update

from cryptoj.domain.positions import Position
from cryptoj.domain.risk import KillSwitch, KillSwitchState, Reason, RiskRule
from cryptoj.store._sql import atomic_write, insert_for
from cryptoj.store.columns import check_money
from cryptoj.store.engine import READ_ONLY_OPTION
from cryptoj.store.errors import InvalidRecord
from cryptoj.store.market import ProductRepository
from cryptoj.store.tables import (
    BalanceSnapshotRow,
    EquitySnapshotRow,
    KillSwitchEventRow,
    KillSwitchRow,
    PositionRow,
    ProductRow,
    RiskEventRow,
)

__all__ = [
    "Balance",
    "EquityPoint",
    "PositionRepository",
    "RiskEvent",
    "RiskRepository",
    "SnapshotRepository",
]

_positions = PositionRow.__table__  # type: ignore[attr-defined]
_products = ProductRow.__table__  # type: ignore[attr-defined]
_balances = BalanceSnapshotRow.__table__  # type: ignore[attr-defined]
_equity = EquitySnapshotRow.__table__  # type: ignore[attr-defined]
_risk = RiskEventRow.__table__  # type: ignore[attr-defined]
_switch = KillSwitchRow.__table__  # type: ignore[attr-defined]
_switch_events = KillSwitchEventRow.__table__  # type: ignore[attr-defined]

_SWITCH_ID = 1
_POSITION_AMOUNTS = ("size", "cost_basis", "realized_pnl", "fees")


class PositionRepository:
    """One position row per product, replaced as fills are applied.

    A loaded position has no `trade_ids`: which fills are new is the fill store's answer
    (`FillRepository.add` returns only those), so apply exactly those before saving.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def save(self, position: Position, *, at: datetime) -> None:
        """Store a product's position (replacing the previous one)."""
        values: dict[str, object] = {"product_id": position.product_id, "updated_at": at}
        for name in _POSITION_AMOUNTS:
            values[name] = check_money(getattr(position, name), field=f"position {position.product_id} {name}")
        if position.size < 0 or position.cost_basis < 0 or position.fees < 0:
            raise InvalidRecord(f"position {position.product_id}: size, cost basis and fees must not be negative")
        ProductRepository(self._connection).require([position.product_id])
        statement = insert_for(self._connection, _positions).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["product_id"], set_={name: statement.excluded[name] for name in values}
        )
        with atomic_write(self._connection, f"position {position.product_id}"):
            self._connection.execute(statement)

    def get(self, product_id: str) -> Position:
        """The stored position of a product (flat when none is stored), to apply new fills to and save.

        In a writing unit of work on PostgreSQL it locks the product until the unit of work ends, so two
        workers applying their own fills take turns: the second reads the first's saved position instead
        of both saving on one old copy (the last save would drop the other's fills). The product row is
        locked, not the position row, since a first position has no row yet. SQLite needs no lock: its
        writing transactions already take turns.
        """
        options = self._connection.get_execution_options()
        if self._connection.dialect.name == "postgresql" and not options.get(READ_ONLY_OPTION):
            self._connection.execute(
                # FOR NO KEY UPDATE: the lockers take turns, but rows that merely reference the product (a
                # fill's foreign-key check takes KEY SHARE) do not conflict with it; FOR UPDATE deadlocked there.
                select(_products.c.product_id)
                .where(_products.c.product_id == product_id)
                .with_for_update(key_share=True)
            )
        row = (
            self._connection.execute(select(_positions).where(_positions.c.product_id == product_id)).mappings().first()
        )
        return Position(product_id) if row is None else _position_from(row)

    def all(self) -> dict[str, Position]:
        """Every stored position, by product id (locks nothing: load with `get` to update one)."""
        rows = self._connection.execute(select(_positions).order_by(_positions.c.product_id)).mappings()
        return {row["product_id"]: _position_from(row) for row in rows}


def _position_from(row: RowMapping) -> Position:
    return Position(row["product_id"], **{name: row[name] for name in _POSITION_AMOUNTS})


@dataclass(frozen=True, slots=True)
class Balance:
    """A currency's balance at one time."""

    currency: str
    at: datetime
    available: Decimal
    hold: Decimal


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """One point of the equity curve."""

    at: datetime
    equity: Decimal


class SnapshotRepository:
    """Balance and equity snapshots; recording the same (currency, time) twice keeps the first."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record_balances(self, balances: Mapping[str, tuple[Decimal, Decimal]], *, at: datetime) -> None:
        """Record `{currency: (available, hold)}` at `at`."""
        rows = []
        for currency, (available, hold) in balances.items():
            for name, value in (("available", available), ("hold", hold)):
                if check_money(value, field=f"{currency} {name}") < 0:
                    raise InvalidRecord(f"{currency} {name} balance must not be negative, got {value}")
            rows.append({"currency": currency, "at": at, "available": available, "hold": hold})
        if rows:
            statement = insert_for(self._connection, _balances).values(rows)
            with atomic_write(self._connection, f"balances at {at.isoformat()}"):
                self._connection.execute(statement.on_conflict_do_nothing(index_elements=["currency", "at"]))

    def latest_balances(self) -> dict[str, Balance]:
        """The newest balance of every currency."""
        rows = self._connection.execute(select(_balances).order_by(_balances.c.at)).mappings()
        return {
            r["currency"]: Balance(currency=r["currency"], at=r["at"], available=r["available"], hold=r["hold"])
            for r in rows
        }

    def record_equity(self, equity: Decimal, *, at: datetime, currency: str = "USD") -> None:
        """Add a point to the equity curve."""
        check_money(equity, field=f"equity in {currency}")
        statement = insert_for(self._connection, _equity).values(currency=currency, at=at, equity=equity)
        with atomic_write(self._connection, f"equity in {currency}"):
            self._connection.execute(statement.on_conflict_do_nothing(index_elements=["currency", "at"]))

    def equity_curve(self, *, currency: str = "USD", since: datetime | None = None) -> list[EquityPoint]:
        """The equity curve in `currency`, oldest first."""
        query = select(_equity.c.at, _equity.c.equity).where(_equity.c.currency == currency)
        if since is not None:
            query = query.where(_equity.c.at >= since)
        return [EquityPoint(at, equity) for at, equity in self._connection.execute(query.order_by(_equity.c.at))]


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """A stored risk breach."""

    at: datetime
    rule: RiskRule
    message: str
    cycle_key: str | None = None


class RiskRepository:
    """Risk breaches and the kill switch, which stays engaged in the database until an operator clears it."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record(self, reasons: Sequence[Reason], *, at: datetime, cycle_key: str | None = None) -> None:
        """Store each broken rule with its sentence."""
        if reasons:
            with atomic_write(self._connection, "risk events"):
                self._connection.execute(
                    _risk.insert(),
                    [{"at": at, "rule": r.rule.value, "message": r.message, "cycle_key": cycle_key} for r in reasons],
                )

    def events(self, *, since: datetime | None = None) -> list[RiskEvent]:
        """Stored breaches, oldest first."""
        query = select(_risk)
        if since is not None:
            query = query.where(_risk.c.at >= since)
        rows = self._connection.execute(query.order_by(_risk.c.at, _risk.c.id)).mappings()
        return [RiskEvent(r["at"], RiskRule(r["rule"]), r["message"], r["cycle_key"]) for r in rows]

    def kill_switch(self) -> KillSwitch:
        """The stored kill switch, with its history."""
        row = self._connection.execute(select(_switch).where(_switch.c.id == _SWITCH_ID)).mappings().first()
        state = None
        if row is not None and row["reason"] is not None:
            state = KillSwitchState(row["reason"], row["engaged_at"])
        history = [
            (r["event"], r["at"], r["detail"])
            for r in self._connection.execute(select(_switch_events).order_by(_switch_events.c.id)).mappings()
        ]
        return KillSwitch(state=state, history=history)

    def engage(self, reason: str, *, at: datetime) -> bool:
        """Engage the stored switch; False when it was engaged already (the first reason stays).

        One conditional UPDATE decides, so two workers tripping it at once record one engagement.
        """
        if not reason:
            raise InvalidRecord("the kill switch needs a reason to engage")
        with atomic_write(self._connection, "the kill switch"):
            self._ensure_row()
            result = self._connection.execute(
                update(_switch)
                .where(_switch.c.id == _SWITCH_ID, _switch.c.reason.is_(None))
                .values(reason=reason, engaged_at=at)
            )
            if result.rowcount != 1:
                return False
            self._connection.execute(_switch_events.insert().values(event="engaged", at=at, detail=reason))
        return True

    def reset(self, *, by: str, at: datetime) -> None:
        """Clear the switch: an operator's decision, recorded with their name."""
        if not by:
            raise InvalidRecord("resetting the kill switch needs the operator's name")
        with atomic_write(self._connection, "the kill switch"):
            self._ensure_row()
            result = self._connection.execute(
                update(_switch)
                .where(_switch.c.id == _SWITCH_ID, _switch.c.reason.is_not(None))
                .values(reason=None, engaged_at=None)
            )
            if result.rowcount != 1:
                raise InvalidRecord("the kill switch is not engaged")
            self._connection.execute(_switch_events.insert().values(event="reset", at=at, detail=by))

    def _ensure_row(self) -> None:
        statement = insert_for(self._connection, _switch).values(id=_SWITCH_ID, reason=None, engaged_at=None)
        self._connection.execute(statement.on_conflict_do_nothing(index_elements=["id"]))
