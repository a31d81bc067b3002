"""A run that dies the way a crash does: killed after the exchange accepted its order, before it stored the answer.

`python -m tests.utils.helpers.kill_after_send HOME REST_URL KEY_FILE [CYCLE_KEY STRATEGY]` places one live
market order on the sandbox at REST_URL with a transport that SIGKILLs its own process as soon as the create's
answer arrives. The order's key is (CYCLE_KEY, STRATEGY, 0), by default ("restart", "test", 0): a trading
cycle's own key makes the orphan one the cycle's re-run meets again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

import httpx

from cryptoj.config import load_settings
from cryptoj.domain.orders import OrderIntent, OrderType, TimeInForce
from cryptoj.domain.side import Side
from cryptoj.services.executor import OrderKey
from cryptoj.services.runtime import open_runtime

__all__ = ["PRODUCT", "intent_for"]

PRODUCT = "BTC-USD"


def intent_for() -> OrderIntent:
    """The intent the dying run places (the test places it again)."""
    return OrderIntent(
        product_id=PRODUCT,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        base_size=Decimal("0.002"),
        time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
    )


class DieAfterCreate(httpx.AsyncBaseTransport):
    """Forwards requests; once a create order has been answered, kills this process (no cleanup runs)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/orders"):
            await response.aread()
            os.kill(os.getpid(), signal.SIGKILL)
        return response


async def _main(home: Path, rest_url: str, key_file: Path, key: OrderKey) -> None:
    settings = load_settings(home=home, rest_url=rest_url, api_key_file=key_file, execution="live")
    async with open_runtime(settings, transport=DieAfterCreate()) as rt:
        rules = (await rt.exchange.product_rules([PRODUCT]))[PRODUCT]
        mid = (await rt.exchange.best_bid_ask([PRODUCT]))[PRODUCT].mid or Decimal(1)
        await rt.executor.place(intent_for(), key=key, rules=rules, marks={PRODUCT: mid})


if __name__ == "__main__":
    cycle_key, strategy = sys.argv[4:6] if len(sys.argv) > 4 else ("restart", "test")
    asyncio.run(_main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), OrderKey(cycle_key, strategy, 0)))
