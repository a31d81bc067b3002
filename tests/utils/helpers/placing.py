"""Placing one order through a run's executor, and finding it on the sandbox: the live-placement tests' steps."""

from __future__ import annotations

from cryptoj.sandbox.engine.records import OrderRecord
from cryptoj.services.executor import OrderKey, Placement
from cryptoj.services.runtime import Runtime
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.fixtures.services import market

__all__ = ["exchange_order", "place_market"]


async def place_market(rt: Runtime, index: int = 0) -> Placement:
    """`market()` (a BTC-USD buy) placed by `rt`'s executor as intent `index` of cycle "c", marked at the mid."""
    rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
    mid = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].mid
    assert mid is not None
    return await rt.executor.place(market(), key=OrderKey("c", "live", index), rules=rules, marks={"BTC-USD": mid})


def exchange_order(handle: SandboxHandle, client_order_id: str) -> OrderRecord:
    """The sandbox's one order under `client_order_id` (an assertion error if there is none, or more)."""
    owner = handle.key.name.get_secret_value()
    (order,) = [o for o in handle.exchange.engine.orders(owner) if o.client_order_id == client_order_id]
    return order
