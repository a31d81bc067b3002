"""The sandbox's WebSocket frames in the real forms (facts 2, 8, 23, 26), seen raw over loopback.

Each test sets the running sandbox's forms itself, so it checks them whatever the default.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from cryptoj.coinbase.auth import build_ws_jwt
from cryptoj.sandbox.forms import Dialect
from tests.integration.sandbox.conftest import PREFIX
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.fixtures.websocket import FeedServer

pytestmark = pytest.mark.integration

ENVELOPE = {"channel", "client_id", "timestamp", "sequence_num", "events"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?Z$")
MAX_SIZE = 16 * 1024 * 1024


def fraction(text: str) -> str:
    """The fraction digits of an RFC3339 time ("" for none)."""
    found = RFC3339.match(text)
    assert found is not None, text
    return found.group(1) or ""


def plain_decimal(text: str) -> bool:
    """Digits with no exponent and no trailing zero after a point (`"65083.67"`, `"0.002186"`, `"7"`)."""
    return re.fullmatch(r"\d+(?:\.\d*[1-9])?", text) is not None


async def frames(ws: ClientConnection, until: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while not until(seen):
            seen.append(json.loads(await ws.recv()))
    return seen


async def subscribe(ws: ClientConnection, channel: str, products: list[str] | None = None, **extra: Any) -> None:
    body: dict[str, Any] = {"type": "subscribe", "channel": channel, **extra}
    if products is not None:
        body["product_ids"] = products
    await ws.send(json.dumps(body))


def acks(seen: list[dict[str, Any]]) -> int:
    return sum(f.get("channel") == "subscriptions" for f in seen)


@pytest.fixture
def real(sandbox: SandboxHandle) -> SandboxHandle:
    sandbox.exchange.forms.configure(Dialect.REAL)
    return sandbox


async def test_fact_02_client_id_is_mostly_absent_and_sometimes_empty(real: SandboxHandle) -> None:
    async with connect(real.ws_url, max_size=MAX_SIZE) as ws:
        await subscribe(ws, "heartbeats")
        for product in ("BTC-USD", "ETH-USD", "SOL-USD"):
            await subscribe(ws, "market_trades", [product])
            await subscribe(ws, "candles", [product])
            await subscribe(ws, "ticker", [product])
        seen = await frames(ws, lambda s: acks(s) == 10 and len(s) >= 40)
    with_id = [f for f in seen if "client_id" in f]
    assert all(set(f) <= ENVELOPE and set(f) >= ENVELOPE - {"client_id"} for f in seen)
    assert {f["client_id"] for f in with_id} <= {""}
    assert 0 < len(with_id) < len(seen) / 2
    assert [f["sequence_num"] for f in seen] == list(range(len(seen)))


async def test_fact_23_frames_carry_6_to_9_digit_timestamps_and_plain_decimals(real: SandboxHandle) -> None:
    async with httpx.AsyncClient(base_url=real.base_url) as client:  # trades to show (stepped on the server's loop)
        await client.post("/sandbox/admin/advance", json={"seconds": 5})
    async with connect(real.ws_url, max_size=MAX_SIZE) as ws:
        await subscribe(ws, "level2", ["BTC-USD"])
        await subscribe(ws, "market_trades", ["BTC-USD"])
        await subscribe(ws, "heartbeats")
        seen = await frames(ws, lambda s: acks(s) == 3 and sum(f["channel"] == "heartbeats" for f in s) >= 2)
    stamps = [fraction(f["timestamp"]) for f in seen]
    assert all(len(digits) <= 9 and not digits.endswith("0") for digits in stamps), stamps
    assert 9 in {len(digits) for digits in stamps}  # nanoseconds, not only microseconds
    assert sum(len(digits) >= 6 for digits in stamps) > len(stamps) / 2
    book = next(f for f in seen if f["channel"] == "l2_data")
    assert book["events"][0]["type"] == "snapshot"
    levels = book["events"][0]["updates"]
    assert all(plain_decimal(u["price_level"]) and plain_decimal(u["new_quantity"]) for u in levels)
    assert all(len(fraction(u["event_time"])) <= 6 for u in levels)
    trades = next(f for f in seen if f["channel"] == "market_trades")
    for trade in trades["events"][0]["trades"]:
        assert trade["trade_id"].isdigit()
        assert plain_decimal(trade["price"])
        assert plain_decimal(trade["size"])
        assert not fraction(trade["time"]).endswith("0")
    beats = [f["events"][0] for f in seen if f["channel"] == "heartbeats"]
    assert all(isinstance(b["heartbeat_counter"], int) for b in beats)
    assert beats[1]["heartbeat_counter"] == beats[0]["heartbeat_counter"] + 1
    # Fact 8: Go's time.String() drops trailing zeros too, before its monotonic suffix.
    clock = beats[0]["current_time"].split(" ")[1]
    assert not clock.endswith("0")
    assert " +0000 UTC m=+" in beats[0]["current_time"]


async def test_fact_23_a_ticker_frame_holds_one_products_ticker(real: SandboxHandle) -> None:
    async with connect(real.ws_url, max_size=MAX_SIZE) as ws:
        await subscribe(ws, "ticker", ["BTC-USD", "ETH-USD"])
        seen = await frames(ws, lambda s: acks(s) == 1)
    tickers = [f for f in seen if f["channel"] == "ticker"][:2]  # the snapshot; updates may follow
    assert [len(f["events"][0]["tickers"]) for f in tickers] == [1, 1]
    assert sorted(f["events"][0]["tickers"][0]["product_id"] for f in tickers) == ["BTC-USD", "ETH-USD"]
    assert all(f["events"][0]["type"] == "snapshot" for f in tickers)


async def test_fact_26_the_user_channel_spells_order_types_like_limit(real: SandboxHandle) -> None:
    path = PREFIX + "/orders"
    body = {
        "client_order_id": "f26",
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": {"limit_limit_gtc": {"base_size": "0.01", "limit_price": "1000.00"}},
    }
    async with httpx.AsyncClient(base_url=real.base_url) as client:
        placed = await client.post(path, json=body, headers=real.auth_headers("POST", path))
    assert placed.json()["success"] is True
    async with connect(real.ws_url, max_size=MAX_SIZE) as ws:
        await subscribe(ws, "user", jwt=build_ws_jwt(real.key))
        seen = await frames(ws, lambda s: acks(s) == 1)
    (snapshot,) = [f for f in seen if f["channel"] == "user"]
    (order,) = snapshot["events"][0]["orders"]
    assert order["order_type"] == "Limit"
    assert order["client_order_id"] == "f26"
    assert order["completion_percentage"] == "0.00"
    assert not fraction(order["creation_time"]).endswith("0")


async def test_the_documented_forms_stay_available_on_the_same_connection_kind(sandbox: SandboxHandle) -> None:
    sandbox.exchange.forms.configure(Dialect.DOCUMENTED)
    async with connect(sandbox.ws_url, max_size=MAX_SIZE) as ws:
        await subscribe(ws, "ticker", ["BTC-USD", "ETH-USD"])
        await subscribe(ws, "heartbeats")
        seen = await frames(ws, lambda s: acks(s) == 2 and any(f["channel"] == "heartbeats" for f in s))
    assert all(set(f) == ENVELOPE and f["client_id"] == "" for f in seen)
    assert all(len(fraction(f["timestamp"])) == 9 for f in seen)
    ticker = next(f for f in seen if f["channel"] == "ticker")
    assert len(ticker["events"][0]["tickers"]) == 2
    beat = next(f for f in seen if f["channel"] == "heartbeats")
    assert isinstance(beat["events"][0]["heartbeat_counter"], str)


async def test_fact_23_a_ticker_batch_update_frame_holds_one_products_ticker(feed_server: FeedServer) -> None:
    source = feed_server.source
    source.forms.configure(Dialect.REAL)
    async with connect(feed_server.url, max_size=MAX_SIZE) as ws:
        await subscribe(ws, "ticker_batch", ["BTC-USD", "ETH-USD"])
        await frames(ws, lambda s: acks(s) == 1)
        for product in ("BTC-USD", "ETH-USD"):
            source.hub.publish(source.ticker(product))
        # Batches go out every five heartbeat ticks (0.1 s each here).
        seen = await frames(ws, lambda s: sum(f["channel"] == "ticker_batch" for f in s) == 2)
    batches = [f["events"][0] for f in seen if f["channel"] == "ticker_batch"]
    assert [b["type"] for b in batches] == ["update", "update"]
    assert sorted(t["product_id"] for b in batches for t in b["tickers"]) == ["BTC-USD", "ETH-USD"]
    assert [len(b["tickers"]) for b in batches] == [1, 1]
    assert all("best_bid" not in t for b in batches for t in b["tickers"])
