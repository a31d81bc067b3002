"""Positions from fills that reach the store out of the order they happened (found by the long run at 2,000 intents).

A worker killed between a buy's send and its store leaves that buy to a later run, while the next cycle,
deciding on the exchange's balances, sells what it bought: the sell's fill is recorded first. Each test
records fills in one order and expects the position the fills make in the order they happened.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from cryptoj.domain.orders import Fill, Order, OrderStatus
from cryptoj.domain.positions import Position
from cryptoj.domain.side import Side
from cryptoj.services.ledger import record_outcome
from cryptoj.store import UnitOfWork
from tests.utils.fixtures.services import market
from tests.utils.fixtures.store import T0, fill_of, store_products

pytestmark = pytest.mark.integration


def _placed(engine: Engine, client_order_id: str, side: Side, *, cycle_key: str | None = "cycle-1") -> Order:
    """An order stored as CryptoJ stores what it places (in a cycle), or, without `cycle_key`, as an adopted one."""
    order = Order(client_order_id=client_order_id, intent=market(side=side, size="5"), created_at=T0)
    order.transition(OrderStatus.SUBMITTING, at=T0)
    with UnitOfWork(engine) as uow:
        if cycle_key is not None:
            uow.cycles.start(cycle_key, strategy="test", at=T0)
            uow.orders.save(order, cycle_key=cycle_key, intent_index=len(client_order_id))
        else:
            uow.orders.save(order)
        uow.commit()
    return order


def _fill(order: Order, trade_id: str, *, minute: int, size: str, price: str) -> Fill:
    return replace(fill_of(order, trade_id, size=size, price=price), time=T0 + timedelta(minutes=minute))


def _position(engine: Engine) -> Position:
    with UnitOfWork(engine, read_only=True) as uow:
        return uow.positions.get("BTC-USD")


def _in_time_order(*fills: Fill) -> Position:
    position = Position("BTC-USD")
    for fill in sorted(fills, key=lambda f: f.time):
        position.apply(fill)
    return position


def _same(stored: Position, expected: Position) -> None:
    figures = ("size", "cost_basis", "realized_pnl", "fees")
    assert [getattr(stored, name) for name in figures] == [getattr(expected, name) for name in figures]


def test_a_sell_recorded_before_the_buy_it_sells_counts_once_the_buy_arrives(store_engine: Engine) -> None:
    store_products(store_engine, "BTC-USD")
    buy, sell = _placed(store_engine, "buy", Side.BUY), _placed(store_engine, "sell", Side.SELL)
    bought = _fill(buy, "1", minute=1, size="0.5", price="100")
    sold = _fill(sell, "2", minute=2, size="0.3", price="110")

    record_outcome(store_engine, "sell", at=T0, status=OrderStatus.FILLED, fills=[sold])
    assert _position(store_engine).size == 0  # nothing bought yet, as far as the store knows
    record_outcome(store_engine, "buy", at=T0, status=OrderStatus.FILLED, fills=[bought])

    stored = _position(store_engine)
    _same(stored, _in_time_order(bought, sold))
    assert stored.size == Decimal("0.2")  # the sell was counted, not dropped (it was: 0.5 before)
    assert stored.realized_pnl == Decimal("3")  # (110 - 100) * 0.3


def test_a_late_buy_older_than_a_counted_sell_gives_the_average_cost_of_time_order(store_engine: Engine) -> None:
    store_products(store_engine, "BTC-USD")
    first, late = _placed(store_engine, "buy-1", Side.BUY), _placed(store_engine, "buy-2", Side.BUY)
    sell = _placed(store_engine, "sell", Side.SELL)
    bought = _fill(first, "1", minute=1, size="1", price="100")
    bought_late = _fill(late, "2", minute=2, size="1", price="200")
    sold = _fill(sell, "3", minute=3, size="0.5", price="120")

    record_outcome(store_engine, "buy-1", at=T0, status=OrderStatus.FILLED, fills=[bought])
    record_outcome(store_engine, "sell", at=T0, status=OrderStatus.FILLED, fills=[sold])  # applies: 1 held
    record_outcome(store_engine, "buy-2", at=T0, status=OrderStatus.FILLED, fills=[bought_late])

    stored = _position(store_engine)
    _same(stored, _in_time_order(bought, bought_late, sold))
    assert stored.realized_pnl == Decimal("-15")  # sold at 120 against an average cost of 150, not of 100


def test_a_rebuilt_position_leaves_out_the_fills_of_adopted_orders(store_engine: Engine) -> None:
    store_products(store_engine, "BTC-USD")
    buy, sell = _placed(store_engine, "buy", Side.BUY), _placed(store_engine, "sell", Side.SELL)
    adopted = _placed(store_engine, "external-1", Side.BUY, cycle_key=None)
    record_outcome(
        store_engine, "external-1", at=T0, fills=[_fill(adopted, "9", minute=0, size="2", price="90")],
        apply_to_positions=False,
    )  # fmt: skip
    sold = _fill(sell, "2", minute=2, size="0.3", price="110")
    bought = _fill(buy, "1", minute=1, size="0.5", price="100")
    record_outcome(store_engine, "sell", at=T0, status=OrderStatus.FILLED, fills=[sold])
    record_outcome(store_engine, "buy", at=T0, status=OrderStatus.FILLED, fills=[bought])

    _same(_position(store_engine), _in_time_order(bought, sold))  # the adopted order's 2 BTC are not CryptoJ's
