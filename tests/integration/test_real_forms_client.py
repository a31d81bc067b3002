"""Facts 19, 21, 23, 25, 26 and 27 on the side that reads them: the client and the WebSocket handler, against the
sandbox in its default (real-traffic) forms. The sandbox's side of each fact is tested in tests/integration/sandbox.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.errors import RateLimitedError
from cryptoj.coinbase.limits import VenueLimits
from cryptoj.coinbase.models import CreateOrderRequest
from cryptoj.coinbase.models.times import WireTime
from cryptoj.coinbase.websocket import WebSocketHandler
from cryptoj.coinbase.ws_user import UserOrderEvent
from cryptoj.sandbox.faults import FaultConfig
from cryptoj.services.mapping import order_configuration_for
from tests.utils.fixtures.coinbase import FakeTime
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.fixtures.services import limit, market

pytestmark = pytest.mark.integration


def _client(handle: SandboxHandle, fake: FakeTime | None = None, **options: Any) -> CoinbaseAdvancedClient:
    timing: dict[str, Any] = (
        {} if fake is None else {"clock": fake.monotonic, "sleep": fake.sleep, "jitter": lambda: 0.5}
    )
    return CoinbaseAdvancedClient(base_url=handle.base_url, key=handle.key, **timing, **options)


async def test_fact_19_without_ratelimit_headers_the_client_paces_itself_by_its_budget(sandbox: SandboxHandle) -> None:
    fake = FakeTime()
    budget = VenueLimits(private_requests_per_second=5, public_requests_per_second=5)
    async with _client(sandbox, fake, limits=budget) as client:
        for _ in range(20):
            answer = await client._session.client.get(f"{sandbox.base_url}/api/v3/brokerage/time")
            assert not [name for name in answer.headers if name.lower().startswith("x-ratelimit")]
            await client.list_accounts()
    # 20 private requests at 5 a second: after the burst the bucket made the client wait about 20/5 seconds.
    assert sum(fake.sleeps) >= (20 - budget.burst) / 5 * 0.9


async def test_fact_21_an_html_429_without_retry_after_is_retried_with_backoff_then_typed(
    sandbox: SandboxHandle,
) -> None:
    fake = FakeTime()
    sandbox.exchange.faults.configure(FaultConfig(error_429_rate=1.0))
    try:
        async with _client(sandbox, fake, max_retries=3) as client:
            with pytest.raises(RateLimitedError) as raised:
                await client.list_accounts()
    finally:
        sandbox.exchange.faults.configure(FaultConfig())
    assert raised.value.status == 429
    assert raised.value.retry_after is None  # an HTML page says nothing of when to come back
    assert len([s for s in fake.sleeps if s > 0]) >= 3  # backed off between the attempts


async def test_fact_25_a_fill_time_keeps_its_nine_digits_and_a_cursor_built_from_it_is_its_text(
    sandbox: SandboxHandle,
) -> None:
    async with _client(sandbox) as client:
        for index in range(6):  # enough fills that some times carry nanoseconds
            await client.create_order(
                CreateOrderRequest(
                    client_order_id=f"fact-25-{index}",
                    product_id="BTC-USD",
                    side="BUY",
                    order_configuration=order_configuration_for(market(size="0.001")),
                )
            )
        fills = (await client.list_fills(product_ids=["BTC-USD"])).fills
        async with httpx.AsyncClient() as http:
            answer = await http.get(
                f"{sandbox.base_url}/api/v3/brokerage/orders/historical/fills?product_ids=BTC-USD",
                headers=sandbox.auth_headers("GET", "/api/v3/brokerage/orders/historical/fills"),
            )
        raw = answer.json()["fills"]
        assert fills
        on_wire = {fill["trade_id"]: fill["trade_time"] for fill in raw}
        for fill in fills:
            assert isinstance(fill.trade_time, WireTime)
            assert fill.trade_time.text == on_wire[fill.trade_id]  # not one digit lost
        newest = max(fills, key=lambda fill: fill.trade_time)
        since = (await client.list_fills(product_ids=["BTC-USD"], start_sequence_timestamp=newest.trade_time)).fills
    # A cursor built from the newest fill's time never lands before it: that fill is the first it returns.
    assert newest.trade_id in {fill.trade_id for fill in since}


async def test_fact_27_public_products_with_empty_best_prices_and_null_pagination_parse(
    sandbox: SandboxHandle,
) -> None:
    async with _client(sandbox) as client:
        for _ in range(10):  # the sandbox varies the form by seed: meet the empty and the null ones
            answer = await client.list_public_products()
            assert answer.products
            for product in answer.products:
                assert product.base_increment is not None
                best = (product.model_extra or {}).get("best_bid_price")
                assert best is None or isinstance(best, (str, Decimal))


async def test_fact_23_and_26_the_handler_reads_real_frames_and_any_case_order_types(sandbox: SandboxHandle) -> None:
    async with (
        _client(sandbox) as client,
        WebSocketHandler(url=sandbox.ws_url, key=sandbox.key) as feed,
    ):
        await feed.subscribe("ticker", ["BTC-USD", "ETH-USD"])
        await feed.subscribe("user", ["BTC-USD"])
        events = feed.order_events()
        bid = (await client.get_best_bid_ask(["BTC-USD"])).pricebooks[0].bids[0].price
        await client.create_order(
            CreateOrderRequest(
                client_order_id="fact-26",
                product_id="BTC-USD",
                side="BUY",
                order_configuration=order_configuration_for(limit(bid - Decimal(100))),
            )
        )
        event = None
        async with asyncio.timeout(15):
            async for item in events:
                if isinstance(item, UserOrderEvent) and item.client_order_id == "fact-26":
                    event = item
                    break
        await asyncio.sleep(1)  # ticker and heartbeat frames of the real forms arrive meanwhile
        stats = feed.stats
    assert event is not None  # the channel spells the order type "Limit": read, not refused
    assert event.limit_price == bid - Decimal(100)
    assert stats.decode_errors == 0  # numeric heartbeat counters, 6-9 digit times, one ticker a frame
