"""The sandbox's order endpoints over real HTTP on loopback: create, list, read, edit, preview, cancel, fills."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.ratelimit import RateLimiter
from tests.integration.sandbox.conftest import PREFIX, Api, best_ask
from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration
D = Decimal


def test_an_order_holds_funds_lists_and_reads_back_then_cancels(api: Api) -> None:
    placed = api.order("gtc-1", "limit_limit_gtc", base_size="0.5", limit_price="1000.00").json()
    order_id = placed["order_id"]
    usd = api.get("/accounts").json()["accounts"][0]
    assert D(usd["hold"]["value"]) == D("500") * (1 + D("0.004"))
    order = api.get(f"/orders/historical/{order_id}").json()["order"]
    assert order["status"] == "OPEN"
    assert order["order_configuration"] == {
        "limit_limit_gtc": {"base_size": "0.5", "limit_price": "1000.00", "post_only": False, "rfq_disabled": False}
    }
    listed = api.get("/orders/historical/batch", order_status="OPEN").json()
    assert [o["order_id"] for o in listed["orders"]] == [order_id]
    assert api.post("/orders/batch_cancel", {"order_ids": [order_id]}).json()["results"][0]["success"]
    assert api.get(f"/orders/historical/{order_id}").json()["order"]["status"] == "CANCELLED"
    assert api.get("/accounts").json()["accounts"][0]["hold"]["value"] == "0"


def test_a_repeated_client_order_id_returns_the_same_order(api: Api) -> None:
    first = api.order("same", "limit_limit_gtc", base_size="0.1", limit_price="1000.00").json()
    again = api.order("same", "limit_limit_gtc", base_size="0.1", limit_price="1000.00").json()
    assert again["success"] is True
    assert again["order_id"] == first["order_id"]
    assert len(api.get("/orders/historical/batch").json()["orders"]) == 1


def test_orders_page_with_cursor_and_open_cannot_be_combined(api: Api) -> None:
    for i in range(3):
        api.order(f"page-{i}", "limit_limit_gtc", base_size="0.01", limit_price="1000.00")
    first = api.get("/orders/historical/batch", limit=2).json()
    assert first["has_next"] is True
    second = api.get("/orders/historical/batch", limit=2, cursor=first["cursor"]).json()
    assert second["has_next"] is False
    ids = [o["client_order_id"] for o in first["orders"] + second["orders"]]
    assert ids == ["page-2", "page-1", "page-0"]
    combined = api.client.get(
        PREFIX + "/orders/historical/batch",
        params=[("order_status", "OPEN"), ("order_status", "FILLED")],
        headers=api.handle.auth_headers("GET", PREFIX + "/orders/historical/batch"),
    )
    assert combined.status_code == 400


def test_market_order_fills_and_fills_page_until_the_cursor_is_empty(api: Api) -> None:
    for i in range(3):
        assert api.order(f"mkt-{i}", "market_market_ioc", quote_size="100").json()["success"]
    orders = api.get("/orders/historical/batch", order_status="FILLED").json()["orders"]
    assert len(orders) == 3
    assert all(o["status"] == "FILLED" and D(o["total_fees"]) > 0 for o in orders)
    seen, cursor = [], ""
    while True:
        page = api.get("/orders/historical/fills", limit=2, cursor=cursor).json()
        seen += page["fills"]
        cursor = page["cursor"]
        if not cursor:
            break
    assert len(seen) >= 3
    assert all(f["liquidity_indicator"] == "TAKER" for f in seen)
    summary = api.get("/transaction_summary").json()
    assert summary["fee_tier"]["taker_fee_rate"] == "0.004"
    assert isinstance(summary["total_fees"], float)  # a JSON number, as on Coinbase


def test_edit_and_edit_preview_change_a_resting_order(api: Api) -> None:
    order_id = api.order("edit-1", "limit_limit_gtc", base_size="0.1", limit_price="1000.00").json()["order_id"]
    preview = api.post("/orders/edit_preview", {"order_id": order_id, "price": "1100.00", "size": "0.2"}).json()
    assert preview["errors"] == []
    assert api.post("/orders/edit", {"order_id": order_id, "price": "1100.00", "size": "0.2"}).json()["success"]
    order = api.get(f"/orders/historical/{order_id}").json()["order"]
    assert order["order_configuration"]["limit_limit_gtc"]["limit_price"] == "1100"
    assert [e["price"] for e in order["edit_history"]] == ["1100"]
    refused = api.post("/orders/edit", {"order_id": "nope", "price": "1", "size": "1"}).json()
    assert refused["success"] is False
    assert refused["errors"][0]["edit_failure_reason"] == "ORDER_NOT_FOUND"
    assert api.post("/orders/edit", {"order_id": order_id}).status_code == 400


def test_preview_reports_errors_without_placing(api: Api) -> None:
    body = {"product_id": "BTC-USD", "side": "BUY", "order_configuration": {"market_market_ioc": {"quote_size": "1e9"}}}
    preview = api.post("/orders/preview", body).json()
    assert preview["errs"] == ["PREVIEW_INVALID_QUOTE_SIZE_PRECISION"] or preview["errs"]
    assert api.get("/orders/historical/batch").json()["orders"] == []
    assert api.post("/orders/preview", {"side": "BUY", "bogus": 1}).status_code == 400


def test_advancing_the_clock_fills_a_resting_order_the_market_reaches(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.exchange.limiter = RateLimiter(private_per_second=10_000)
    # A frozen clock: the advance below lands exactly on the minute the path was read for. With the wall
    # clock running, the seconds between reading the path and advancing (many on a loaded machine) moved
    # the market past the target price and the order stayed OPEN.
    sandbox.exchange.clock = SimClock(start=sandbox.exchange.now(), speed=0)
    api.client.post("/sandbox/admin/advance", json={"seconds": 0})  # a step on the server's loop, at the new clock
    market = sandbox.exchange.markets["BTC-USD"]
    now = sandbox.exchange.now().timestamp()
    ask = best_ask(api)
    # The replayed path of the next day. A bid resting just above its low fills when the clock gets there;
    # when now is the day's low (the clock starts at the wall time), an offer just below its high does.
    path = [(market.to_price(market.price_ticks(now + 60 * k)), k) for k in range(1, 1441)]
    (low, low_at), (high, high_at) = min(path), max(path)
    if low + D("0.03") < ask:
        side, price, minutes = "BUY", str(low + D("0.03")), low_at
    else:
        side, price, minutes = "SELL", str(high - D("0.03")), high_at
        assert D(price) > ask
    order_id = api.order("rest-fill", "limit_limit_gtc", side=side, base_size="0.0001", limit_price=price).json()[
        "order_id"
    ]
    assert api.get(f"/orders/historical/{order_id}").json()["order"]["status"] == "OPEN"
    api.client.post("/sandbox/admin/advance", json={"seconds": 60 * minutes})
    order = api.get(f"/orders/historical/{order_id}").json()["order"]
    assert order["status"] == "FILLED"
    fills = api.get("/orders/historical/fills", order_ids=order_id).json()["fills"]
    assert [(f["liquidity_indicator"], D(f["price"])) for f in fills] == [("MAKER", D(price))]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/orders", [1, 2], "JSON object"),
        ("/orders/batch_cancel", {}, "order_ids is required"),
        ("/orders/batch_cancel", {"order_ids": [str(i) for i in range(101)]}, "at most 100"),
        ("/orders/edit", {"order_id": "x", "price": "NaN", "size": "1"}, "decimals"),
        ("/orders/edit_preview", {"price": "1", "size": "1"}, "order_id is required"),
    ],
)
def test_unreadable_order_requests_are_invalid_argument(api: Api, path: str, body: object, message: str) -> None:
    response = api.post(path, body)
    assert response.status_code == 400
    assert message in response.json()["message"]


def test_order_and_fill_filters(api: Api) -> None:
    api.order("f-buy", "market_market_ioc", quote_size="50")
    api.order("f-sell", "market_market_ioc", side="SELL", base_size="0.001")
    api.order("f-rest", "limit_limit_gtc", base_size="0.01", limit_price="1000.00")
    sells = api.get("/orders/historical/batch", order_side="SELL").json()["orders"]
    assert [o["client_order_id"] for o in sells] == ["f-sell"]
    limits = api.get("/orders/historical/batch", order_types="LIMIT", time_in_forces="GOOD_UNTIL_CANCELLED").json()
    assert [o["client_order_id"] for o in limits["orders"]] == ["f-rest"]
    window = api.get("/orders/historical/batch", start_date="2000-01-01T00:00:00Z", end_date="2000-01-02T00:00:00Z")
    assert window.json()["orders"] == []
    # Without an offset it is no RFC3339 time (and comparing it with order times was an HTTP 500).
    naive = api.get("/orders/historical/batch", start_date="2000-01-01T00:00:00")
    assert (naive.status_code, naive.json()["message"]) == (400, "start_date argument is invalid")
    fills = api.get("/orders/historical/fills", product_ids="BTC-USD").json()["fills"]
    assert {f["side"] for f in fills} == {"BUY", "SELL"}
    trade = fills[0]["trade_id"]
    assert [f["trade_id"] for f in api.get("/orders/historical/fills", trade_ids=trade).json()["fills"]] == [trade]
    assert api.get("/orders/historical/fills", product_ids="ETH-USD").json() == {
        "fills": [],
        "cursor": "",
        "proof_token_required": False,
    }
