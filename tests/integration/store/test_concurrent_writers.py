"""Two workers writing the same things at once end with one copy (threads with their own connections)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

import pytest
from sqlalchemy import Engine, func, select

from cryptoj.domain.orders import Order, OrderStatus
from cryptoj.store import ConcurrentUpdate, UnitOfWork
from cryptoj.store.market import COPY_THRESHOLD
from cryptoj.store.tables import CandleRow, FillRow, KillSwitchEventRow, OrderRow, OrderStatusChangeRow
from tests.utils.fixtures.store import T0, bar, fill_of, limit_order, store_products

pytestmark = pytest.mark.integration

T = TypeVar("T")


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """A store with BTC-USD stored."""
    return store_products(store_engine, "BTC-USD")


def _at_once(engine: Engine, work: Callable[[UnitOfWork, int], T]) -> list[T | BaseException]:
    """Run `work` in two threads, each in its own unit of work, released together; commit each that succeeds.

    On PostgreSQL both transactions are open before either writes, so the second writer meets the first's
    uncommitted rows (a check-then-insert would pass the check in both and fail). On SQLite they are
    released before BEGIN IMMEDIATE, where the second writer waits for the first to finish.
    """
    start = threading.Barrier(2)
    overlap = engine.dialect.name == "postgresql"

    def worker(index: int) -> T | BaseException:
        if not overlap:
            start.wait(timeout=10)
        with UnitOfWork(engine) as uow:
            if overlap:
                start.wait(timeout=10)
            try:
                result = work(uow, index)
            except ConcurrentUpdate as exc:
                return exc
            uow.commit()
            return result

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(worker, range(2)))


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table.__table__)).scalar_one())  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [500, COPY_THRESHOLD + 500], ids=["statement", "bulk"])
def test_two_workers_upserting_one_window_store_one_copy(engine: Engine, size: int) -> None:
    window = [bar(i, str(100 + i)) for i in range(size)]
    assert _at_once(engine, lambda uow, _: uow.candles.upsert("BTC-USD", "ONE_MINUTE", window)) == [size, size]
    assert _count(engine, CandleRow) == size


def test_two_workers_storing_one_order_and_its_fills_store_one_copy(engine: Engine) -> None:
    def place(uow: UnitOfWork, _: int) -> int:
        order = limit_order()
        order.transition(OrderStatus.SUBMITTING, at=T0 + timedelta(seconds=1))
        uow.orders.save(order)
        return len(uow.fills.add([fill_of(order, "t-1"), fill_of(order, "t-2")]))

    assert sorted(_at_once(engine, place)) == [0, 2]  # type: ignore[type-var]
    assert (_count(engine, OrderRow), _count(engine, OrderStatusChangeRow), _count(engine, FillRow)) == (1, 2, 2)


def test_two_workers_adding_the_same_fills_store_one_copy(engine: Engine) -> None:
    order = limit_order()
    with UnitOfWork(engine) as uow:
        uow.orders.save(order)
        uow.commit()
    fills = [fill_of(order, f"t-{i}") for i in range(50)]
    assert sorted(_at_once(engine, lambda uow, _: len(uow.fills.add(fills)))) == [0, 50]  # type: ignore[type-var]
    assert _count(engine, FillRow) == 50


def test_two_workers_applying_their_fills_to_one_position_lose_neither(engine: Engine) -> None:
    order = limit_order()
    with UnitOfWork(engine) as uow:
        uow.orders.save(order)
        uow.commit()

    both_loaded = threading.Barrier(2)

    def apply_mine(uow: UnitOfWork, index: int) -> int:
        new = uow.fills.add([fill_of(order, f"t-{index}")])
        position = uow.positions.get("BTC-USD")
        # Both would hold a flat copy here, but get() makes the second wait for the first's commit (so the
        # first waits here in vain, for half a second, and goes on alone).
        with contextlib.suppress(threading.BrokenBarrierError):
            both_loaded.wait(timeout=0.5)
        for fill in new:
            position.apply(fill)
        uow.positions.save(position, at=T0)
        return len(new)

    assert _at_once(engine, apply_mine) == [1, 1]
    with UnitOfWork(engine) as uow:
        assert uow.positions.get("BTC-USD").size == Decimal("0.2")


def test_two_workers_moving_one_order_differently_one_is_refused(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs whole write transactions one after another, so both cannot read the old state")
    with UnitOfWork(engine) as uow:
        uow.orders.save(limit_order())
        uow.commit()
    both_loaded = threading.Barrier(2)

    def move(uow: UnitOfWork, index: int) -> OrderStatus:
        order: Order | None = uow.orders.get("coid-1")
        assert order is not None
        both_loaded.wait(timeout=10)  # both hold a CREATED copy before either saves
        target = OrderStatus.SUBMITTING if index == 0 else OrderStatus.DENIED
        order.transition(target, at=T0 + timedelta(seconds=1))
        uow.orders.save(order)
        return target

    outcomes = _at_once(engine, move)
    assert sum(isinstance(o, ConcurrentUpdate) for o in outcomes) == 1
    winner = next(o for o in outcomes if isinstance(o, OrderStatus))
    with UnitOfWork(engine) as uow:
        stored = uow.orders.get("coid-1")
    assert stored is not None
    assert stored.status is winner
    assert len(stored.history) == 2


@pytest.mark.parametrize("history", [False, True], ids=["first-ever", "after-a-reset"])
def test_two_workers_tripping_the_kill_switch_engage_it_once(engine: Engine, history: bool) -> None:
    if history:
        # The switch row exists, so the workers meet on the UPDATE itself, not on creating the row.
        with UnitOfWork(engine) as uow:
            uow.risk.engage("an earlier breach", at=T0)
            uow.risk.reset(by="operator", at=T0)
            uow.commit()
    results = _at_once(engine, lambda uow, i: uow.risk.engage(f"breach seen by worker {i}", at=T0))
    assert sorted(results) == [False, True]  # type: ignore[type-var]
    assert _count(engine, KillSwitchEventRow) == (3 if history else 1)
