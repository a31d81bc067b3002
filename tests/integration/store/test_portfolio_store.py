"""Positions, snapshots, risk events and the kill switch on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from cryptoj.domain.positions import Position
from cryptoj.domain.risk import Reason, RiskRule
from cryptoj.store import Balance, EquityPoint, InvalidRecord, RiskEvent, UnitOfWork, UnknownReference
from tests.utils.fixtures.store import T0, store_products

pytestmark = pytest.mark.integration

T1, T2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """A store with BTC-USD and ETH-USD stored."""
    return store_products(store_engine, "BTC-USD", "ETH-USD")


def test_positions_round_trip_exactly_and_a_save_replaces_the_last(engine: Engine) -> None:
    first = Position("BTC-USD", size=Decimal("0.5"), cost_basis=Decimal("50000.25"), fees=Decimal("0.3"))
    later = Position(
        "BTC-USD",
        size=Decimal("0.00000001"),
        cost_basis=Decimal("1.000000000000000001"),
        realized_pnl=Decimal("-138991023.41"),
        fees=Decimal("0.6"),
    )
    with UnitOfWork(engine) as uow:
        uow.positions.save(first, at=T0)
        uow.positions.save(Position("ETH-USD", size=Decimal(2), cost_basis=Decimal(6000)), at=T0)
        uow.commit()
    with UnitOfWork(engine) as uow:
        uow.positions.save(later, at=T1)
        uow.commit()
    with UnitOfWork(engine) as uow:
        got = uow.positions.get("BTC-USD")
        everything = uow.positions.all()
        flat = uow.positions.get("SOL-USD")
    assert (got.size, got.cost_basis, got.realized_pnl, got.fees) == (
        later.size,
        later.cost_basis,
        later.realized_pnl,
        later.fees,
    )
    assert list(everything) == ["BTC-USD", "ETH-USD"]
    assert everything["ETH-USD"].average_cost == Decimal(3000)
    assert flat.is_flat


@pytest.mark.parametrize(
    ("position", "error"),
    [
        (Position("BTC-USD", size=Decimal("-0.1")), InvalidRecord),
        (Position("BTC-USD", fees=Decimal("-1")), InvalidRecord),
        (Position("BTC-USD", size=Decimal("1e-19")), InvalidRecord),
        (Position("DOGE-USD", size=Decimal(1)), UnknownReference),
    ],
    ids=["negative size", "negative fees", "too many decimals", "unknown product"],
)
def test_a_bad_position_is_refused_and_the_stored_one_kept(engine: Engine, position: Position, error: type) -> None:
    with UnitOfWork(engine) as uow:
        uow.positions.save(Position("BTC-USD", size=Decimal(1), cost_basis=Decimal(100)), at=T0)
        uow.commit()
    with UnitOfWork(engine) as uow, pytest.raises(error):
        uow.positions.save(position, at=T1)
    with UnitOfWork(engine) as uow:
        assert uow.positions.get("BTC-USD").size == Decimal(1)
        assert "DOGE-USD" not in uow.positions.all()


def test_balances_keep_the_newest_per_currency_and_the_first_at_one_time(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.snapshots.record_balances(
            {"USD": (Decimal("1000.01"), Decimal(0)), "BTC": (Decimal("0.5"), Decimal("0.1"))}, at=T0
        )
        uow.snapshots.record_balances({"USD": (Decimal("900"), Decimal("100"))}, at=T1)
        uow.snapshots.record_balances({"USD": (Decimal("1"), Decimal("1"))}, at=T1)  # a repeat of T1: ignored
        uow.snapshots.record_balances({}, at=T2)
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.snapshots.latest_balances() == {
            "USD": Balance("USD", T1, Decimal("900"), Decimal("100")),
            "BTC": Balance("BTC", T0, Decimal("0.5"), Decimal("0.1")),
        }


def test_a_negative_balance_is_refused(engine: Engine) -> None:
    with UnitOfWork(engine) as uow, pytest.raises(InvalidRecord, match="negative"):
        uow.snapshots.record_balances({"USD": (Decimal("-1"), Decimal(0))}, at=T0)


def test_the_equity_curve_reads_oldest_first_in_one_currency(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.snapshots.record_equity(Decimal("10000.50"), at=T1)
        uow.snapshots.record_equity(Decimal("10000"), at=T0)
        uow.snapshots.record_equity(Decimal("9000"), at=T0)  # same time again: the first stays
        uow.snapshots.record_equity(Decimal("9.5"), at=T2, currency="EUR")
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.snapshots.equity_curve() == [EquityPoint(T0, Decimal(10000)), EquityPoint(T1, Decimal("10000.5"))]
        assert uow.snapshots.equity_curve(since=T1) == [EquityPoint(T1, Decimal("10000.5"))]
        assert uow.snapshots.equity_curve(currency="EUR") == [EquityPoint(T2, Decimal("9.5"))]
        with pytest.raises(InvalidRecord):
            uow.snapshots.record_equity(Decimal("NaN"), at=T2)


def test_risk_events_are_stored_with_their_sentences(engine: Engine) -> None:
    reasons = [Reason(RiskRule.DRAWDOWN, "equity 9000 is 10% below peak 10000"), Reason(RiskRule.NO_PRICE, "no mark")]
    with UnitOfWork(engine) as uow:
        uow.risk.record(reasons, at=T0, cycle_key="cycle-1")
        uow.risk.record([], at=T1)
        uow.risk.record(reasons[:1], at=T2)
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.risk.events() == [
            RiskEvent(T0, RiskRule.DRAWDOWN, reasons[0].message, "cycle-1"),
            RiskEvent(T0, RiskRule.NO_PRICE, "no mark", "cycle-1"),
            RiskEvent(T2, RiskRule.DRAWDOWN, reasons[0].message, None),
        ]
        assert [e.at for e in uow.risk.events(since=T1)] == [T2]


def test_the_kill_switch_stays_engaged_with_its_first_reason_until_an_operator_resets_it(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        assert not uow.risk.kill_switch().engaged
        assert uow.risk.engage("daily loss 600 over 500", at=T0) is True
        assert uow.risk.engage("drawdown", at=T1) is False
        uow.commit()
    with UnitOfWork(engine) as uow:
        switch = uow.risk.kill_switch()
        assert (switch.engaged, switch.reason, switch.engaged_at) == (True, "daily loss 600 over 500", T0)
        uow.risk.reset(by="alice", at=T2)
        uow.commit()
    with UnitOfWork(engine) as uow:
        switch = uow.risk.kill_switch()
        assert not switch.engaged
        assert switch.history == [("engaged", T0, "daily loss 600 over 500"), ("reset", T2, "alice")]
        with pytest.raises(InvalidRecord, match="not engaged"):
            uow.risk.reset(by="alice", at=T2)
        with pytest.raises(InvalidRecord, match="operator"):
            uow.risk.reset(by="", at=T2)
        with pytest.raises(InvalidRecord, match="reason"):
            uow.risk.engage("", at=T2)


def test_a_reader_loads_positions_without_locking(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.positions.save(Position("BTC-USD", size=Decimal("0.5"), cost_basis=Decimal(50)), at=T0)
        uow.commit()
    with UnitOfWork(engine) as writer:
        writer.positions.get("BTC-USD")  # the writer holds the product's lock on PostgreSQL
        with UnitOfWork(engine, read_only=True) as reader:
            assert reader.positions.get("BTC-USD").size == Decimal("0.5")
