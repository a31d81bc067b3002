"""The handler against the real sandbox exchange over loopback: its market, its faults, its orders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from cryptoj.coinbase.websocket import ReconnectPolicy, WebSocketHandler
from cryptoj.coinbase.ws_models import (
    CandlesMessage,
    HeartbeatsMessage,
    MarketTradesMessage,
    StatusMessage,
    TickerMessage,
)
from cryptoj.domain.book import BookSide
from cryptoj.domain.orders import Order, OrderIntent, OrderStatus, OrderType
from cryptoj.domain.side import Side
from cryptoj.sandbox.faults import FaultConfig
from cryptoj.sandbox.rest import PREFIX
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.fixtures.websocket import eventually, first_of_each, next_message, no_wait, synced

pytestmark = pytest.mark.integration


def handler_for(sandbox: SandboxHandle, **options: Any) -> WebSocketHandler:
    settings: dict[str, Any] = {"heartbeat_timeout": 3.0, "ack_timeout": 3.0, "sleep": no_wait, "key": sandbox.key}
    settings.update(options)
    return WebSocketHandler(url=sandbox.ws_url, **settings)


async def post(sandbox: SandboxHandle, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sandbox.base_url) as client:
        response = await client.post(PREFIX + path, json=body, headers=sandbox.auth_headers("POST", PREFIX + path))
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def test_every_market_channel_from_the_sandbox(sandbox: SandboxHandle) -> None:
    expected = {
        "heartbeats": HeartbeatsMessage,
        "ticker": TickerMessage,
        "market_trades": MarketTradesMessage,
        "candles": CandlesMessage,
        "status": StatusMessage,
    }
    async with handler_for(sandbox) as handler:
        received = await first_of_each(handler, list(expected), "BTC-USD")
        await handler.subscribe("level2", ["BTC-USD", "ETH-USD"])
        await eventually(lambda: synced(handler, "BTC-USD") and synced(handler, "ETH-USD"))
        book = handler.books.book("BTC-USD")
        assert book.level_count(BookSide.BID) > 100  # a realistic book, not a toy
        assert not book.is_crossed
    for channel, message in received.items():
        assert isinstance(message, expected[channel])
    assert handler.stats.decode_errors == 0


async def test_sandbox_sequence_gaps_trigger_resyncs_and_books_stay_uncrossed(sandbox: SandboxHandle) -> None:
    async with handler_for(sandbox) as handler:
        await handler.subscribe("level2", ["BTC-USD"])
        await eventually(lambda: synced(handler, "BTC-USD"))
        sandbox.exchange.faults.configure(FaultConfig(seed=3, ws_sequence_gap_rate=0.3))
        await eventually(lambda: handler.stats.resyncs >= 1, within=5)
        sandbox.exchange.faults.configure(FaultConfig())
        await eventually(lambda: synced(handler, "BTC-USD"), within=5)
        assert not handler.books.book("BTC-USD").is_crossed
    assert handler.stats.sequence_gaps >= 1


async def test_sandbox_drops_are_followed_by_reconnect_and_resubscribe(sandbox: SandboxHandle) -> None:
    # Drops come in quick runs at this rate, and each quick drop counts against the cap: allow plenty.
    async with handler_for(sandbox, reconnect=ReconnectPolicy(max_attempts=1000)) as handler:
        await handler.subscribe("level2", ["ETH-USD"])
        await eventually(lambda: synced(handler, "ETH-USD"))
        sandbox.exchange.faults.configure(FaultConfig(seed=5, ws_drop_rate=0.5))
        await eventually(lambda: handler.stats.connects >= 2, within=5)
        sandbox.exchange.faults.configure(FaultConfig())
        await eventually(lambda: handler.connected and synced(handler, "ETH-USD"), within=5)
        await eventually(lambda: handler.server_subscriptions.get("level2") == frozenset({"ETH-USD"}))


async def test_user_channel_follows_orders_placed_over_rest(sandbox: SandboxHandle) -> None:
    client_order_id = uuid.uuid4().hex
    intent = OrderIntent(
        product_id="BTC-USD", side=Side.BUY, order_type=OrderType.LIMIT, base_size=Decimal("0.001"),
        limit_price=Decimal("1000.00"),
    )  # fmt: skip
    order = Order(client_order_id=client_order_id, intent=intent, created_at=datetime.now(UTC))
    order.transition(OrderStatus.SUBMITTING, at=datetime.now(UTC))
    async with handler_for(sandbox) as handler:
        events = handler.order_events()
        await handler.wait_connected()
        await handler.subscribe("user")
        placed = await post(
            sandbox,
            "/orders",
            {
                "client_order_id": client_order_id,
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": "1000.00"}},
            },
        )
        order_id = placed["success_response"]["order_id"]
        opened = await next_message(events, lambda e: e.order_id == order_id, within=5)
        assert opened.status in (OrderStatus.OPEN, OrderStatus.PENDING)
        assert opened.limit_price == Decimal("1000.00")
        assert opened.client_order_id == client_order_id
        assert opened.apply_to(order)
        await post(sandbox, "/orders/batch_cancel", {"order_ids": [order_id]})
        cancelled = await next_message(events, lambda e: e.order_id == order_id and e.status.is_terminal, within=5)
        assert cancelled.status is OrderStatus.CANCELLED
        assert cancelled.apply_to(order)
        assert order.status is OrderStatus.CANCELLED
        assert order.exchange_order_id == order_id
        market = await post(
            sandbox,
            "/orders",
            {
                "client_order_id": uuid.uuid4().hex,
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"market_market_ioc": {"quote_size": "10"}},
            },
        )
        market_id = market["success_response"]["order_id"]
        filled = await next_message(
            events, lambda e: e.order_id == market_id and e.status is OrderStatus.FILLED, within=5
        )
    assert filled.filled_value > 0
    assert filled.new_fill is not None
