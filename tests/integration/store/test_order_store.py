"""Cycles, orders and fills on SQLite and PostgreSQL: upserts keyed on client_order_id, history, repeats ignored."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from cryptoj.domain.orders import Order, OrderStatus, StatusChange
from cryptoj.domain.side import Side
from cryptoj.store import ConcurrentUpdate, DuplicateRecord, InvalidRecord, UnitOfWork, UnknownReference
from cryptoj.store.tables import CLIENT_ORDER_ID_MAX, FillRow, OrderRow, OrderStatusChangeRow
from tests.utils.fixtures.store import T0, btc_rules, fill_of, limit_order

pytestmark = pytest.mark.integration

T1, T2, T3 = (T0 + timedelta(seconds=s) for s in (1, 2, 3))


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """A store with BTC-USD stored and one cycle started."""
    with UnitOfWork(store_engine) as uow:
        uow.products.upsert(btc_rules(), at=T0)
        uow.cycles.start("cycle-1", strategy="sma", at=T0, flow_run_id="run-1")
        uow.commit()
    return store_engine


def _rows(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table.__table__)).scalar_one())  # type: ignore[attr-defined]


def _save(engine: Engine, order: Order, **options: object) -> None:
    with UnitOfWork(engine) as uow:
        uow.orders.save(order, **options)  # type: ignore[arg-type]
        uow.commit()


def _load(engine: Engine, coid: str = "coid-1") -> Order:
    with UnitOfWork(engine) as uow:
        order = uow.orders.get(coid)
    assert order is not None
    return order


def _opened(order: Order) -> Order:
    order.transition(OrderStatus.SUBMITTING, at=T1)
    order.transition(OrderStatus.OPEN, at=T2)
    order.exchange_order_id = "ex-1"
    return order


def test_a_saved_order_reads_back_with_intent_state_and_history(engine: Engine) -> None:
    order = _opened(limit_order())
    _save(engine, order, cycle_key="cycle-1", intent_index=0)
    loaded = _load(engine)
    assert loaded.intent == order.intent
    assert (loaded.status, loaded.exchange_order_id, loaded.created_at) == (OrderStatus.OPEN, "ex-1", T0)
    assert loaded.history == order.history
    with UnitOfWork(engine) as uow:
        assert uow.orders.by_exchange_id("ex-1") == order
        assert uow.orders.by_exchange_id("nope") is None
        assert uow.orders.get("nope") is None


def test_saving_the_same_order_twice_stores_one_copy(engine: Engine) -> None:
    order = limit_order()
    _save(engine, order)
    _save(engine, order)
    assert _rows(engine, OrderRow) == 1
    assert _rows(engine, OrderStatusChangeRow) == 1


def test_later_saves_append_history_and_take_what_the_exchange_reports(engine: Engine) -> None:
    order = limit_order()
    _save(engine, order, cycle_key="cycle-1")
    _opened(order)
    order.apply_fill(fill_of(order, "t-1", size="0.2"))
    _save(engine, order)
    order.apply_fill(fill_of(order, "t-2", size="0.1"))  # partial fill while OPEN: same status, more filled
    _save(engine, order)
    loaded = _load(engine)
    assert [c.status for c in loaded.history] == [OrderStatus.CREATED, OrderStatus.SUBMITTING, OrderStatus.OPEN]
    assert (loaded.filled_size, loaded.filled_value, loaded.fees) == (Decimal("0.3"), Decimal("30"), Decimal("0.012"))
    with UnitOfWork(engine) as uow:
        assert [o.client_order_id for o in uow.orders.by_cycle("cycle-1")] == ["coid-1"]


def test_a_stale_copy_does_not_undo_newer_state(engine: Engine) -> None:
    stale = limit_order()
    _save(engine, stale)
    fresh = _load(engine)
    _opened(fresh)
    _save(engine, fresh)
    _save(engine, stale)  # an older copy (its history a prefix of the stored one)
    assert _load(engine).status is OrderStatus.OPEN
    older, newer = _load(engine), _load(engine)
    newer.apply_fill(fill_of(newer, "t-1", size="0.2"))
    _save(engine, newer)
    _save(engine, older)  # same history, less filled: also stale
    assert _load(engine).filled_size == Decimal("0.2")


def test_a_copy_behind_on_fills_cannot_add_a_status_and_undo_them(engine: Engine) -> None:
    _save(engine, _opened(limit_order()))
    older, newer = _load(engine), _load(engine)
    newer.apply_fill(fill_of(newer, "t-1", size="0.2"))
    _save(engine, newer)
    older.transition(OrderStatus.CANCELLED, at=T2 + timedelta(seconds=1))  # decided without knowing of t-1
    with pytest.raises(ConcurrentUpdate, match=r"coid-1 is stored filled 0\.2"):
        _save(engine, older)
    loaded = _load(engine)
    assert (loaded.status, loaded.filled_size, len(loaded.history)) == (OrderStatus.OPEN, Decimal("0.2"), 3)


def test_a_save_whose_history_departs_from_the_stored_one_is_refused(engine: Engine) -> None:
    _save(engine, limit_order())
    first, second = _load(engine), _load(engine)
    _save(engine, _opened(first))
    second.transition(OrderStatus.DENIED, at=T1, reason="risk")
    with pytest.raises(ConcurrentUpdate, match="departs"):
        _save(engine, second)
    assert _load(engine).status is OrderStatus.OPEN


def test_a_different_intent_under_a_stored_client_order_id_is_a_duplicate(engine: Engine) -> None:
    _save(engine, limit_order(size="0.5"))
    with pytest.raises(DuplicateRecord, match="requested_base_size"):
        _save(engine, limit_order(size="0.6"))
    assert _load(engine).intent.base_size == Decimal("0.5")


def test_an_order_cannot_move_to_another_cycle(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.cycles.start("cycle-2", strategy="sma", at=T1)
        uow.orders.save(limit_order(), cycle_key="cycle-1")
        uow.commit()
    with pytest.raises(DuplicateRecord, match="cycle-1"):
        _save(engine, limit_order(), cycle_key="cycle-2")


def test_a_stored_exchange_id_cannot_change(engine: Engine) -> None:
    order = _opened(limit_order())
    _save(engine, order)
    order.exchange_order_id = "ex-other"
    order.transition(OrderStatus.CANCELLED, at=T3)
    with pytest.raises(ConcurrentUpdate, match="ex-1"):
        _save(engine, order)


def test_a_lost_exchange_id_is_kept(engine: Engine) -> None:
    order = _opened(limit_order())
    _save(engine, order)
    order.exchange_order_id = None
    order.transition(OrderStatus.CANCELLED, at=T3)
    _save(engine, order)
    assert _load(engine).exchange_order_id == "ex-1"


def test_two_orders_cannot_share_an_exchange_id(engine: Engine) -> None:
    _save(engine, _opened(limit_order("coid-1")))
    with pytest.raises(DuplicateRecord):
        _save(engine, _opened(limit_order("coid-2")))
    with UnitOfWork(engine) as uow:
        assert uow.orders.get("coid-2") is None


def test_a_history_step_the_status_machine_forbids_is_refused(engine: Engine) -> None:
    order = limit_order()
    _save(engine, order)
    order.history.append(StatusChange(OrderStatus.FILLED, T1))
    order.status = OrderStatus.FILLED
    with pytest.raises(InvalidRecord, match="CREATED to FILLED"):
        _save(engine, order)
    assert _load(engine).status is OrderStatus.CREATED


def test_a_new_order_whose_history_the_status_machine_forbids_is_refused(engine: Engine) -> None:
    order = limit_order()
    order.history.append(StatusChange(OrderStatus.OPEN, T1))
    order.status = OrderStatus.OPEN
    with pytest.raises(InvalidRecord, match="CREATED to OPEN"):
        _save(engine, order)
    assert _rows(engine, OrderRow) == 0


def test_a_status_that_is_not_the_last_history_step_is_refused(engine: Engine) -> None:
    order = limit_order()
    order.status = OrderStatus.OPEN
    with pytest.raises(InvalidRecord, match="history"):
        _save(engine, order)
    assert _rows(engine, OrderRow) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_order_id": ""}, "client_order_id"),
        ({"client_order_id": "x" * (CLIENT_ORDER_ID_MAX + 1)}, "client_order_id"),
        ({"filled_size": Decimal("-1")}, "negative"),
        ({"fees": Decimal("1e-19")}, "decimal places"),
    ],
)
def test_bad_order_fields_are_refused(engine: Engine, change: dict[str, object], message: str) -> None:
    order = limit_order()
    for name, value in change.items():
        setattr(order, name, value)
    with pytest.raises(InvalidRecord, match=message):
        _save(engine, order)
    assert _rows(engine, OrderRow) == 0


def test_an_order_for_an_unknown_product_or_cycle_is_refused(engine: Engine) -> None:
    with pytest.raises(UnknownReference, match="DOGE-USD"):
        _save(engine, limit_order(product_id="DOGE-USD"))
    with pytest.raises(UnknownReference, match="cycle-9"):
        _save(engine, limit_order(), cycle_key="cycle-9")
    assert _rows(engine, OrderRow) == 0


def test_open_orders_are_the_ones_that_may_still_fill(engine: Engine) -> None:
    working = _opened(limit_order("a"))
    created = limit_order("b")
    unknown = limit_order("c")
    unknown.transition(OrderStatus.SUBMITTING, at=T1)
    unknown.transition(OrderStatus.UNKNOWN_OUTCOME, at=T2)
    cancelled = limit_order("d")
    cancelled.transition(OrderStatus.CANCELLED, at=T1)
    for order in (working, created, unknown, cancelled):
        _save(engine, order)
    with UnitOfWork(engine) as uow:
        assert {o.client_order_id for o in uow.orders.open_orders()} == {"a", "c"}
        assert uow.orders.open_orders(product_id="ETH-USD") == []
        assert uow.orders.count_open() == 2  # what the risk rules count, without loading the orders
        amounts = {
            (a.client_order_id, a.side, a.base_size, a.limit_price, a.filled_size) for a in uow.orders.working_amounts()
        }
        assert amounts == {
            (o.client_order_id, o.intent.side, o.intent.base_size, o.intent.limit_price, o.filled_size)
            for o in uow.orders.open_orders()
        }  # what the paper funds check reads


def test_creation_times_since_are_those_of_the_orders_created_since(engine: Engine) -> None:
    later = Order(client_order_id="later", intent=limit_order().intent, created_at=T2)
    for order in (limit_order("early"), later):
        _save(engine, order)
    with UnitOfWork(engine, read_only=True) as uow:
        assert uow.orders.creation_times_since(T0) == [T0, T2]
        assert uow.orders.creation_times_since(T1) == [T2]
        assert uow.orders.creation_times_since(T3) == []
        assert uow.orders.creation_times_since(T1) == [o.created_at for o in uow.orders.created_since(T1)]


def test_rejected_since_finds_recent_rejections_by_the_start_of_their_reason(engine: Engine) -> None:
    def rejected(coid: str, reason: str, *, created: object = T0) -> Order:
        order = Order(client_order_id=coid, intent=limit_order().intent, created_at=created)  # type: ignore[arg-type]
        order.transition(OrderStatus.SUBMITTING, at=T2)
        order.transition(OrderStatus.REJECTED, at=T2, reason=reason)
        return order

    mine = rejected("mine", "refused on a resend: INSUFFICIENT_FUND")
    later = rejected("later", "refused on a resend: INSUFFICIENT_FUND", created=T2)
    plain = rejected("plain", "INSUFFICIENT_FUND: refused on a resend")
    wildcard = rejected("wildcard", "refused_on a resend")
    landed = rejected("landed", "refused on a resend: x")
    landed.transition(OrderStatus.FILLED, at=T3)  # adopted since: no longer a rejection
    for order in (mine, later, plain, wildcard, landed):
        _save(engine, order)
    with UnitOfWork(engine, read_only=True) as uow:
        found = uow.orders.rejected_since(T0, reason_prefix="refused on a resend")
        assert [o.client_order_id for o in found] == ["mine", "later"]
        assert found[0] == mine
        assert [o.client_order_id for o in uow.orders.rejected_since(T1, reason_prefix="refused on a resend")] == [
            "later"
        ]
        # "_" is LIKE's any-character: the prefix is taken literally, so it does not match "refused on".
        assert [o.client_order_id for o in uow.orders.rejected_since(T0, reason_prefix="refused_on")] == ["wildcard"]


def test_cycles_start_once_and_record_their_end(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        assert uow.cycles.start("cycle-1", strategy="sma", at=T2) is False  # a retried run
        uow.cycles.finish("cycle-1", at=T3, outcome="completed")
        uow.commit()
    with UnitOfWork(engine) as uow:
        cycle = uow.cycles.get("cycle-1")
        assert (cycle.started_at, cycle.finished_at, cycle.outcome, cycle.flow_run_id) == (T0, T3, "completed", "run-1")
        with pytest.raises(DuplicateRecord, match="another strategy"):
            uow.cycles.start("cycle-1", strategy="momentum", at=T2)
        with pytest.raises(UnknownReference):
            uow.cycles.finish("cycle-9", at=T3, outcome="completed")
        with pytest.raises(UnknownReference):
            uow.cycles.get("cycle-9")
        with pytest.raises(InvalidRecord):
            uow.cycles.start("", strategy="sma", at=T0)
        with pytest.raises(InvalidRecord):
            uow.cycles.start("cycle-3", strategy="", at=T0)


def test_repeated_fills_are_ignored_and_only_new_ones_returned(engine: Engine) -> None:
    order = _opened(limit_order())
    _save(engine, order)
    f1, f2 = fill_of(order, "t-1"), fill_of(order, "t-2", price="101")
    with UnitOfWork(engine) as uow:
        assert uow.fills.add([f1, f1]) == [f1]
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.fills.add([f1, f2]) == [f2]
        assert uow.fills.add([]) == []
        uow.commit()
    assert _rows(engine, FillRow) == 2
    with UnitOfWork(engine) as uow:
        assert uow.fills.for_order("coid-1") == [f1, f2]
        assert uow.fills.for_product("BTC-USD", since=T0 + timedelta(minutes=1)) == [f1, f2]
        assert uow.fills.for_product("BTC-USD", since=T0 + timedelta(minutes=2)) == []
        assert uow.orders.get("coid-1").trade_ids == {"t-1", "t-2"}  # type: ignore[union-attr]


def test_bad_fills_are_refused_and_nothing_is_written(engine: Engine) -> None:
    order = _opened(limit_order())
    _save(engine, order)
    good = fill_of(order, "t-1")
    orphan = fill_of(limit_order("coid-9"), "t-2")
    with UnitOfWork(engine) as uow:
        with pytest.raises(UnknownReference, match="coid-9"):
            uow.fills.add([good, orphan])
        with pytest.raises(UnknownReference, match="DOGE-USD"):
            uow.fills.add([fill_of(limit_order("coid-1", product_id="DOGE-USD"), "t-3")])
        with pytest.raises(InvalidRecord, match="two different"):
            uow.fills.add([good, fill_of(order, "t-1", price="101")])
        with pytest.raises(InvalidRecord, match="trade_id"):
            uow.fills.add([fill_of(order, "")])
        naive = fill_of(order, "t-4")
        object.__setattr__(naive, "time", naive.time.replace(tzinfo=None))  # the domain does not check this
        with pytest.raises(InvalidRecord, match="timezone"):
            uow.fills.add([naive])
        with pytest.raises(InvalidRecord, match="decimal places"):
            uow.fills.add([fill_of(order, "t-5", size="1e-19")])
        uow.products.upsert(btc_rules("ETH-USD"), at=T0)
        with pytest.raises(InvalidRecord, match="t-6 is a BUY of ETH-USD, but order coid-1 is a BUY of BTC-USD"):
            uow.fills.add([good, replace(fill_of(order, "t-6"), product_id="ETH-USD")])
        with pytest.raises(InvalidRecord, match="t-7 is a SELL of BTC-USD"):
            uow.fills.add([good, replace(fill_of(order, "t-7"), side=Side.SELL)])
    assert _rows(engine, FillRow) == 0


def test_another_fill_under_a_stored_trade_id_is_a_duplicate_and_changes_nothing(engine: Engine) -> None:
    order = _opened(limit_order())
    _save(engine, order)
    first = fill_of(order, "t-1")
    with UnitOfWork(engine) as uow:
        uow.fills.add([first])
        uow.commit()
    with UnitOfWork(engine) as uow:
        # The same fill reported again with the exchange's order id learnt since is a repeat.
        assert uow.fills.add([replace(first, order_id="ex-1")]) == []
        with pytest.raises(DuplicateRecord, match="fill t-1"):
            uow.fills.add([fill_of(order, "t-2"), fill_of(order, "t-1", price="101")])
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.fills.for_order("coid-1") == [first]


def test_two_products_fills_under_the_same_trade_id_are_both_stored(engine: Engine) -> None:
    # Coinbase numbers trades per product: BTC-USD and ETH-USD each have a trade 1000000001.
    btc = _opened(limit_order())
    eth = _opened(limit_order("coid-2", product_id="ETH-USD"))
    eth.exchange_order_id = "ex-2"
    with UnitOfWork(engine) as uow:
        uow.products.upsert(btc_rules("ETH-USD"), at=T0)
        uow.commit()
    _save(engine, btc)
    _save(engine, eth)
    on_btc, on_eth = fill_of(btc, "1000000001"), fill_of(eth, "1000000001", price="50")
    with UnitOfWork(engine) as uow:
        assert uow.fills.add([on_btc, on_eth]) == [on_btc, on_eth]
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.fills.add([on_eth]) == []  # still a repeat within its product
        with pytest.raises(DuplicateRecord, match="fill 1000000001"):
            uow.fills.add([fill_of(eth, "1000000001", price="51")])
        assert uow.fills.for_product("BTC-USD") == [on_btc]
        assert uow.fills.for_product("ETH-USD") == [on_eth]
