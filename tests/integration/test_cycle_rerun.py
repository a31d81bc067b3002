"""A cycle re-run after a crash derives the same client_order_ids for the intents its first run left behind.

The first run placed some of the cycle's orders and died having stored the next intent (SUBMITTING) before
sending it. The re-run plans again on a portfolio that has moved: the orders already placed are no longer
wanted, so its list of intents is shorter. Each product's intent must keep its client_order_id anyway,
or the re-run places the left-behind intent a second time under a new id (and reconciliation sends the
orphan too): two orders for one intent.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cryptoj.coinbase.auth import CdpKey
from cryptoj.domain.orders import Order, OrderStatus
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.market.products import DEFAULT_PRODUCTS
from cryptoj.services.runtime import open_runtime
from cryptoj.services.trading import TradingService
from cryptoj.store import UnitOfWork
from tests.utils.fixtures.sandbox import SandboxHandle, serve
from tests.utils.fixtures.services import NO_RISK_LIMITS, service_settings

pytestmark = pytest.mark.integration

PRODUCTS = ["A-USD", "B-USD", "C-USD"]
UNLIMITED = {name: None for name in NO_RISK_LIMITS if name != "risk_price_band"}  # the price band stays on


@pytest.fixture
def three_products(sandbox_key: tuple[CdpKey, Path]) -> Iterator[SandboxHandle]:
    """A sandbox trading three random-walk products the account holds none of."""
    specs = [dataclasses.replace(DEFAULT_PRODUCTS[2], product_id=pid, base_name=pid[:1]) for pid in PRODUCTS]
    yield from serve(SandboxExchange(seed=3, products=specs, clock=SimClock()), sandbox_key)


async def test_a_rerun_cycle_places_the_intent_its_crashed_run_stored_once(
    three_products: SandboxHandle, tmp_path: Path
) -> None:
    settings = service_settings(
        tmp_path,
        three_products,
        execution="live",
        strategy="rebalance",
        products=PRODUCTS,
        rebalance_weights=dict.fromkeys(PRODUCTS, Decimal("0.1")),
        **UNLIMITED,
    )
    async with open_runtime(settings) as rt:
        trading = TradingService(rt)
        for pid in PRODUCTS:  # the cycle's pulls store each product's rules and candles
            await trading.market_data.sync_product(pid, lookback=timedelta(minutes=5), quotes=False)
        first = await trading.plan("cycle-1", PRODUCTS)
        assert [item.intent.product_id for item in first.intents] == PRODUCTS  # three buys
        await trading.place(first.intents[0], first.marks)
        # The run dies between storing B-USD's intent (durably, before its send) and sending it.
        orphan = Order(
            client_order_id=first.intents[1].key.client_order_id("B-USD"),
            intent=first.intents[1].intent,
            created_at=datetime.now(UTC),
        )
        orphan.transition(OrderStatus.SUBMITTING, at=orphan.created_at)
        with UnitOfWork(rt.engine) as uow:
            uow.orders.save(orphan, cycle_key="cycle-1", intent_index=first.intents[1].key.intent_index)
            uow.commit()

        again = await trading.plan("cycle-1", PRODUCTS)  # the re-run: A-USD is bought already
        assert [item.intent.product_id for item in again.intents] == ["B-USD", "C-USD"]
        for item in again.intents:
            await trading.place(item, again.marks)
        await rt.executor.refresh()  # reconciliation settles whatever was left behind

    owner = three_products.key.name.get_secret_value()
    orders = three_products.exchange.engine.orders(owner)
    assert Counter(order.product_id for order in orders) == dict.fromkeys(PRODUCTS, 1)
    assert {order.client_order_id for order in orders} == {
        item.key.client_order_id(item.intent.product_id) for item in first.intents
    }
