"""The user channel as a trigger: an order ended behind CryptoJ's back is found, across a dropped connection too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from cryptoj.domain.orders import OrderStatus
from cryptoj.sandbox.faults import FaultConfig
from cryptoj.services.executor import OrderKey
from cryptoj.services.runtime import open_runtime
from cryptoj.services.watch import OrderWatcher
from cryptoj.store import UnitOfWork
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.fixtures.services import limit, service_settings

pytestmark = pytest.mark.integration


async def _wait_for(condition: Callable[[], bool], *, within: float = 15.0) -> None:
    for _ in range(int(within / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the condition did not come true in time")


@pytest.mark.parametrize("drop", [False, True], ids=["event", "reconnect"])
async def test_an_order_cancelled_elsewhere_is_reconciled_when_the_user_channel_speaks(
    sandbox: SandboxHandle, tmp_path: Path, drop: bool
) -> None:
    settings = service_settings(tmp_path, sandbox, execution="live")
    async with open_runtime(settings) as rt, rt.websocket(user=True) as feed:
        await feed.subscribe("user", ["BTC-USD"])
        watcher = OrderWatcher(rt.executor)
        watching = asyncio.create_task(watcher.run(feed.order_events()))
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        bid = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].bid
        assert bid is not None
        placed = await rt.executor.place(
            limit(bid - Decimal(200)), key=OrderKey("watch", "test", 0), rules=rules, marks={"BTC-USD": bid}
        )
        assert placed.order.status is OrderStatus.OPEN
        assert placed.order.exchange_order_id is not None
        if drop:
            # The connection drops, and the order is cancelled while it is down: no event of the cancel can
            # arrive, only the reconnect's marker.
            sandbox.exchange.faults.configure(FaultConfig(ws_drop_rate=1.0))
            await _wait_for(lambda: not feed.connected, within=15)
            await rt.client.cancel_orders([placed.order.exchange_order_id])
            sandbox.exchange.faults.configure(FaultConfig())
        else:
            await rt.client.cancel_orders([placed.order.exchange_order_id])

        def cancelled_in_store() -> bool:
            with UnitOfWork(rt.engine, read_only=True) as uow:
                stored = uow.orders.get(placed.order.client_order_id)
            return stored is not None and stored.status is OrderStatus.CANCELLED

        await _wait_for(cancelled_in_store, within=30)
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    assert watcher.report.reconciliations >= 1
    if drop:
        assert "reconnect" in watcher.report.markers
