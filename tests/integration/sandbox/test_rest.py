"""The sandbox's REST API over real HTTP on loopback: shapes, status codes, headers and real-traffic facts."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from cryptoj.sandbox.ratelimit import RateLimiter
from tests.integration.sandbox.conftest import PREFIX, Api
from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration
D = Decimal


def best_ask(api: Api) -> Decimal:
    return D(api.get("/best_bid_ask", product_ids="BTC-USD").json()["pricebooks"][0]["asks"][0]["price"])


# --- authentication ------------------------------------------------------------------------------


def test_private_routes_need_a_jwt_and_answer_plain_text_unauthorized(api: Api) -> None:
    for response in (api.get("/accounts", auth=False), api.get("/products", auth=False)):
        assert response.status_code == 401
        assert response.text == "Unauthorized"
        assert response.headers["content-type"].startswith("text/plain")


def test_a_jwt_for_another_path_is_unauthorized(api: Api, sandbox: SandboxHandle) -> None:
    headers = sandbox.auth_headers("GET", PREFIX + "/portfolios")
    response = api.client.get(PREFIX + "/accounts", headers=headers)
    assert response.status_code == 401


def test_a_malformed_authorization_header_is_unauthorized(api: Api) -> None:
    for value in ("Bearer", "Basic abc", "Bearer not.a.jwt"):
        assert api.client.get(PREFIX + "/accounts", headers={"Authorization": value}).status_code == 401


def test_a_signed_request_is_served_and_the_official_sdks_empty_get_body_is_fine(
    api: Api, sandbox: SandboxHandle
) -> None:
    headers = sandbox.auth_headers("GET", PREFIX + "/accounts") | {"Content-Type": "application/json"}
    response = api.client.request("GET", PREFIX + "/accounts", headers=headers, content=b"{}")
    assert response.status_code == 200
    assert {a["currency"] for a in response.json()["accounts"]} >= {"USD", "BTC", "ETH"}


def test_public_market_routes_need_no_jwt(api: Api) -> None:
    assert api.get("/market/products/BTC-USD", auth=False).json()["product_id"] == "BTC-USD"
    assert api.get("/time", auth=False).status_code == 200


# --- real-traffic facts --------------------------------------------------------------------------


def test_fact_10_json_spacing_varies_between_responses_of_one_endpoint(api: Api) -> None:
    first, second = api.get("/market/products/BTC-USD", auth=False), api.get("/market/products/BTC-USD", auth=False)
    assert first.content != second.content
    assert b"\n" in first.content + second.content
    assert set(first.json()) == set(second.json())


def test_fact_11_cache_control_and_trace_id_headers(api: Api) -> None:
    public = api.get("/market/product_book", auth=False, product_id="BTC-USD")
    private = api.get("/accounts")
    assert public.headers["cache-control"] == "public, max-age=1"
    assert private.headers["cache-control"] == "no-store"
    responses = [public, private, api.get("/accounts", auth=False), api.client.get("/nowhere")]
    trace_ids = [r.headers["trace-id"] for r in responses]
    assert all(trace_ids)
    assert len(set(trace_ids)) == len(trace_ids)


def test_fact_12_a_rejection_is_http_200_with_the_cause_in_error_response(api: Api) -> None:
    response = api.order("broke", "limit_limit_gtc", base_size="1000", limit_price="1000.00")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["failure_reason"] == "UNKNOWN_FAILURE_REASON"
    assert body["error_response"]["error"] == "INSUFFICIENT_FUND"
    assert body["error_response"]["preview_failure_reason"] == "PREVIEW_INSUFFICIENT_FUND"
    assert body["order_configuration"] == {"limit_limit_gtc": {"base_size": "1000", "limit_price": "1000.00"}}


def test_fact_12_a_success_also_says_unknown_failure_reason_and_echoes_sor_limit_ioc(api: Api) -> None:
    price = str(best_ask(api) + 50)
    body = api.order("ioc-1", "sor_limit_ioc", base_size="0.001", limit_price=price).json()
    assert body["success"] is True
    assert body["failure_reason"] == "UNKNOWN_FAILURE_REASON"
    assert body["order_configuration"] == {
        "sor_limit_ioc": {"base_size": "0.001", "limit_price": price, "rfq_disabled": False}
    }
    assert body["success_response"]["client_order_id"] == "ioc-1"


def test_fact_13_unknown_fields_and_bad_enums_are_400(api: Api) -> None:
    unknown = api.post(
        "/orders",
        {
            "client_order_id": "x",
            "product_id": "BTC-USD",
            "side": "BUY",
            "max_floor": "1",
            "order_configuration": {"market_market_ioc": {"quote_size": "10"}},
        },
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "INVALID_ARGUMENT"
    assert 'unknown field "max_floor"' in unknown.json()["message"]
    enum = api.post(
        "/orders",
        {
            "client_order_id": "y",
            "product_id": "BTC-USD",
            "side": "PURCHASE",
            "order_configuration": {"market_market_ioc": {"quote_size": "10"}},
        },
    )
    assert enum.status_code == 400
    assert "OrderSide" in enum.json()["error_details"]


def test_fact_14_unserved_paths_answer_text_404_and_errors_are_coinbase_json(api: Api) -> None:
    for path in ("/api/v3/brokerage/nothing", "/", "/api/v3/brokerage/cfm/balance_summary"):
        response = api.client.get(path)
        assert response.status_code == 404
        assert response.text == "404 page not found"
        assert response.headers["content-type"].startswith("text/plain")
    missing = api.get("/orders/historical/not-an-order")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "NOT_FOUND",
        "error_details": "order with this orderID was not found",
        "message": "order with this orderID was not found",
    }


def test_fact_14_a_429_can_be_an_html_page(api: Api) -> None:
    api.client.post("/sandbox/admin/faults", json={"error_429_rate": 1.0, "html_errors": True})
    response = api.get("/accounts")
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text
    assert response.headers["retry-after"] == "1"


def test_fact_15_batch_cancel_fails_a_bad_id_alone(api: Api) -> None:
    order_id = api.order("rest-1", "limit_limit_gtc", base_size="0.01", limit_price="1000.00").json()["order_id"]
    response = api.post("/orders/batch_cancel", {"order_ids": ["bad-id", order_id]})
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"success": False, "failure_reason": "INVALID_CANCEL_REQUEST", "order_id": "bad-id"},
        {"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": order_id},
    ]


def test_fact_17_real_error_messages(api: Api) -> None:
    account = api.get("/accounts/00000000-0000-0000-0000-000000000000")
    assert account.status_code == 400
    assert account.json()["message"] == "account is not available"


# --- market data ---------------------------------------------------------------------------------


def test_candles_are_newest_first_and_more_than_350_is_invalid_argument(api: Api) -> None:
    now = int(time.time())
    ok = api.get("/products/BTC-USD/candles", start=now - 3600, end=now, granularity="FIVE_MINUTE")
    starts = [int(c["start"]) for c in ok.json()["candles"]]
    assert starts == sorted(starts, reverse=True)
    assert 12 <= len(starts) <= 13
    too_many = api.get("/products/BTC-USD/candles", start=now - 351 * 60, end=now, granularity="ONE_MINUTE")
    assert too_many.status_code == 400
    assert too_many.json() == {
        "error": "INVALID_ARGUMENT",
        "error_details": "start and end argument is invalid - number of candles requested should be less than 350",
        "message": "start and end argument is invalid - number of candles requested should be less than 350",
    }
    bad = api.get("/market/products/BTC-USD/candles", auth=False, start=now - 60, end=now, granularity="WEEKLY")
    assert bad.json()["message"] == "granularity argument is invalid"
    assert api.get("/products/BTC-USD/candles", granularity="ONE_MINUTE").status_code == 400


def test_product_book_has_realistic_depth_and_an_unknown_product_is_not_found(api: Api) -> None:
    body = api.get("/product_book", product_id="BTC-USD", limit=1000).json()
    assert len(body["pricebook"]["bids"]) == 1000
    assert len(body["pricebook"]["asks"]) == 1000
    bids = [D(level["price"]) for level in body["pricebook"]["bids"]]
    assert bids == sorted(bids, reverse=True)
    assert D(body["spread_absolute"]) > 0
    missing = api.get("/product_book", product_id="NOPE-USD")
    assert missing.status_code == 404
    assert missing.json()["message"] == "valid product_id is required"


def test_products_list_carries_pagination_fields_and_filters(api: Api) -> None:
    body = api.get("/products").json()
    assert [p["product_id"] for p in body["products"]] == ["BTC-USD", "ETH-USD", "SOL-USD"]
    assert body["num_products"] == 3
    assert set(body["pagination"]) == {"prev_cursor", "next_cursor", "has_next", "has_prev"}
    only = api.get("/products", product_ids="ETH-USD", limit=5).json()
    assert [p["product_id"] for p in only["products"]] == ["ETH-USD"]
    assert api.get("/products", product_type="FUTURE").json()["products"] == []
    assert api.get("/products", limit="many").status_code == 400


def test_market_trades_are_newest_first_with_the_top_of_the_book(api: Api, sandbox: SandboxHandle) -> None:
    api.client.post("/sandbox/admin/advance", json={"seconds": 30})
    body = api.get("/products/BTC-USD/ticker", limit=5).json()
    times = [t["time"] for t in body["trades"]]
    assert times == sorted(times, reverse=True)
    assert 0 < len(times) <= 5
    assert D(body["best_bid"]) < D(body["best_ask"])


def test_server_time_is_int64_strings(api: Api) -> None:
    body = api.get("/time", auth=False).json()
    assert body["epochMillis"][:10] == body["epochSeconds"]
    assert body["iso"].endswith("Z")


# --- accounts, orders and fills ------------------------------------------------------------------


def test_accounts_page_with_cursor_and_has_next(api: Api) -> None:
    first = api.get("/accounts", limit=2).json()
    assert first["has_next"] is True
    assert first["size"] == 2
    rest = api.get("/accounts", limit=2, cursor=first["cursor"]).json()
    currencies = [a["currency"] for a in first["accounts"] + rest["accounts"]]
    assert currencies == ["USD", "BTC", "ETH", "SOL"]
    assert rest["has_next"] is False
    one = api.get(f"/accounts/{first['accounts'][0]['uuid']}").json()
    assert one["account"]["available_balance"] == {"value": "100000", "currency": "USD"}


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


def test_portfolios_and_key_permissions(api: Api) -> None:
    portfolios = api.get("/portfolios").json()["portfolios"]
    assert [p["type"] for p in portfolios] == ["DEFAULT"]
    permissions = api.get("/key_permissions").json()
    assert permissions["can_trade"] is True
    assert permissions["portfolio_uuid"] == portfolios[0]["uuid"]
    assert api.get("/portfolios", portfolio_type="INTX").json()["portfolios"] == []


def test_a_body_that_is_not_json_is_invalid_argument(api: Api, sandbox: SandboxHandle) -> None:
    headers = sandbox.auth_headers("POST", PREFIX + "/orders")
    response = api.client.post(PREFIX + "/orders", content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_ARGUMENT"


# --- rate limits and faults ----------------------------------------------------------------------


def test_over_budget_requests_get_429_with_retry_after_and_ratelimit_headers(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.exchange.limiter = RateLimiter(private_per_second=2, clock=lambda: 1000.5)
    responses = [api.get("/accounts") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0].headers["x-ratelimit-remaining"] == "1"
    refused = responses[2]
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-ratelimit-limit"] == "2"
    assert refused.headers["x-ratelimit-reset"] == "1001"
    assert refused.json()["error"] == "RESOURCE_EXHAUSTED"


def test_injected_5xx_is_served_and_can_be_switched_off(api: Api) -> None:
    config = api.client.post("/sandbox/admin/faults", json={"error_5xx_rate": 1.0}).json()
    assert config["error_5xx_rate"] == 1.0
    assert api.get("/accounts").status_code == 503
    api.client.post("/sandbox/admin/faults", json={})
    assert api.get("/accounts").status_code == 200
    assert api.client.get("/sandbox/admin/faults").json()["error_5xx_rate"] == 0.0


def test_a_connection_reset_fault_drops_the_connection(api: Api) -> None:
    api.client.post("/sandbox/admin/faults", json={"reset_rate": 1.0})
    with pytest.raises(httpx.TransportError):
        api.get("/accounts")


def test_faults_spare_the_admin_endpoint_so_a_total_reset_can_be_switched_off(api: Api) -> None:
    api.client.post("/sandbox/admin/faults", json={"reset_rate": 1.0, "latency_rate": 1.0, "latency_ms": 1})
    assert api.client.get("/sandbox/admin/faults").json()["reset_rate"] == 1.0
    assert api.client.post("/sandbox/admin/faults", json={}).status_code == 200
    assert api.get("/accounts").status_code == 200


def test_admin_calls_do_not_shift_which_requests_fail(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.exchange.limiter = RateLimiter(private_per_second=10_000, public_per_second=10_000)

    def statuses(*, peek: bool) -> list[int]:
        api.client.post("/sandbox/admin/faults", json={"seed": 5, "error_5xx_rate": 0.5, "reset_rate": 0.1})
        seen = []
        for _ in range(30):
            if peek:
                api.client.get("/sandbox/admin/faults")
            try:
                seen.append(api.get("/time", auth=False).status_code)
            except httpx.TransportError:
                seen.append(0)
        return seen

    assert statuses(peek=True) == statuses(peek=False)


def test_accept_then_drop_leaves_an_order_the_client_never_heard_about(api: Api) -> None:
    api.client.post("/sandbox/admin/faults", json={"drop_after_accept_rate": 1.0})
    with pytest.raises(httpx.TransportError):
        api.order("unknown-outcome", "limit_limit_gtc", base_size="0.01", limit_price="1000.00")
    api.client.post("/sandbox/admin/faults", json={})
    orders = api.get("/orders/historical/batch").json()["orders"]
    assert [o["client_order_id"] for o in orders] == ["unknown-outcome"]
    # The lookup-then-resend path: the same client_order_id returns the order, no duplicate.
    again = api.order("unknown-outcome", "limit_limit_gtc", base_size="0.01", limit_price="1000.00").json()
    assert again["order_id"] == orders[0]["order_id"]


def test_latency_fault_still_answers(api: Api) -> None:
    api.client.post("/sandbox/admin/faults", json={"latency_rate": 1.0, "latency_ms": 20})
    assert api.get("/accounts").status_code == 200


def test_admin_refuses_bad_settings(api: Api) -> None:
    response = api.client.post("/sandbox/admin/faults", json={"error_5xx_rate": 7})
    assert response.status_code == 400
    assert "from 0 to 1" in response.json()["message"]
    assert api.client.post("/sandbox/admin/advance", json={"seconds": -1}).status_code == 400
    assert api.client.get("/sandbox/admin/nothing").status_code == 404


def test_advancing_the_clock_fills_a_resting_order_the_market_reaches(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.exchange.limiter = RateLimiter(private_per_second=10_000)
    market = sandbox.exchange.markets["BTC-USD"]
    now = sandbox.exchange.now().timestamp()
    ask = best_ask(api)
    # The lowest replayed price of the next day: a bid resting just above it fills when the clock gets there.
    low, minutes = min((market.to_price(market.price_ticks(now + 60 * k)), k) for k in range(1, 1441))
    price = str(low + D("0.03"))
    assert D(price) < ask
    order_id = api.order("rest-fill", "limit_limit_gtc", base_size="0.0001", limit_price=price).json()["order_id"]
    assert api.get(f"/orders/historical/{order_id}").json()["order"]["status"] == "OPEN"
    api.client.post("/sandbox/admin/advance", json={"seconds": 60 * minutes})
    order = api.get(f"/orders/historical/{order_id}").json()["order"]
    assert order["status"] == "FILLED"
    fills = api.get("/orders/historical/fills", order_ids=order_id).json()["fills"]
    assert [(f["liquidity_indicator"], D(f["price"])) for f in fills] == [("MAKER", D(price))]


def test_fact_04_the_book_has_thousands_of_levels_per_side(sandbox: SandboxHandle) -> None:
    from cryptoj.domain.book import BookSide

    book = sandbox.exchange.book("BTC-USD")
    assert book.level_count(BookSide.BID) > 2000
    assert book.level_count(BookSide.ASK) > 2000


def test_fact_16_order_and_account_objects_carry_the_newer_fields(api: Api) -> None:
    order_id = api.order("f16", "limit_limit_gtc", base_size="0.01", limit_price="1000.00").json()["order_id"]
    order = api.get(f"/orders/historical/{order_id}").json()["order"]
    newer = {
        "retail_portfolio_id",
        "edit_history",
        "leverage",
        "margin_type",
        "prediction_side",
        "equity_trading_session",
        "cost_basis_method",
        "displayed_order_config",
        "workable_size",
    }
    assert newer <= set(order)
    account = api.get("/accounts").json()["accounts"][0]
    assert {"retail_portfolio_id", "platform"} <= set(account)


def test_fact_14_a_gateway_error_can_be_an_html_502(api: Api) -> None:
    api.client.post("/sandbox/admin/faults", json={"error_5xx_rate": 1.0, "html_errors": True})
    response = api.get("/accounts")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")


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


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/orders/historical/batch", {"cursor": "abc"}),
        ("/orders/historical/batch", {"order_status": "WAITING"}),
        ("/orders/historical/batch", {"start_date": "yesterday"}),
        ("/orders/historical/fills", {"limit": "-1"}),
        ("/accounts", {"cursor": "x"}),
        ("/accounts", {"limit": "251"}),
    ],
)
def test_bad_list_parameters_are_invalid_argument(api: Api, path: str, params: dict[str, str]) -> None:
    response = api.get(path, **params)
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_ARGUMENT"


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
    fills = api.get("/orders/historical/fills", product_ids="BTC-USD").json()["fills"]
    assert {f["side"] for f in fills} == {"BUY", "SELL"}
    trade = fills[0]["trade_id"]
    assert [f["trade_id"] for f in api.get("/orders/historical/fills", trade_ids=trade).json()["fills"]] == [trade]
    assert api.get("/orders/historical/fills", product_ids="ETH-USD").json() == {
        "fills": [],
        "cursor": "",
        "proof_token_required": False,
    }


def test_http_faults_follow_the_seed_at_the_configured_rate(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.exchange.limiter = RateLimiter(private_per_second=10_000, public_per_second=10_000)

    def statuses() -> list[int]:
        api.client.post("/sandbox/admin/faults", json={"seed": 21, "error_5xx_rate": 0.3})
        return [api.get("/time", auth=False).status_code for _ in range(60)]

    first, second = statuses(), statuses()
    assert first == second  # the same seed, the same requests fail
    failed = first.count(503)
    assert set(first) == {200, 503}
    assert 6 <= failed <= 30  # 30% of 60, well inside four standard deviations


def test_coinbase_sandbox_error_drills_work_here_too(api: Api, sandbox: SandboxHandle) -> None:
    def post(path: str, body: object, drill: str) -> dict[str, object]:
        headers = sandbox.auth_headers("POST", PREFIX + path) | {"X-Sandbox": drill}
        response = api.client.post(PREFIX + path, json=body, headers=headers)
        assert response.status_code == 200
        result: dict[str, object] = response.json()
        return result

    order = {
        "client_order_id": "drill",
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": {"market_market_ioc": {"quote_size": "10.00"}},
    }
    created = post("/orders", order, "PostOrder_insufficient_fund")
    assert created["success"] is False
    assert created["error_response"]["error"] == "INSUFFICIENT_FUND"  # type: ignore[index]
    assert api.get("/orders/historical/batch").json()["orders"] == []
    preview = post(
        "/orders/preview", {k: v for k, v in order.items() if k != "client_order_id"}, "PreviewOrder_insufficient_fund"
    )
    assert preview["errs"] == ["PREVIEW_INSUFFICIENT_FUND"]
    order_id = api.order("drill-2", "limit_limit_gtc", base_size="0.01", limit_price="1000.00").json()["order_id"]
    cancelled = post("/orders/batch_cancel", {"order_ids": [order_id]}, "CancelOrders_failure")
    assert cancelled["results"] == [{"success": False, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": order_id}]
    edit = {"order_id": order_id, "price": "1001.00", "size": "0.01"}
    edited = post("/orders/edit", edit, "EditOrder_failure")
    assert edited["errors"][0]["edit_failure_reason"] == "ORDER_NOT_FOUND"  # type: ignore[index]
    previewed = post("/orders/edit_preview", edit, "PreviewEditOrder_failure")
    assert previewed["errors"][0]["edit_failure_reason"] == "ORDER_NOT_FOUND"  # type: ignore[index]
    assert api.get(f"/orders/historical/{order_id}").json()["order"]["status"] == "OPEN"


def test_the_key_name_never_appears_in_a_response(api: Api, sandbox: SandboxHandle) -> None:
    name = sandbox.key.name.get_secret_value()
    order_id = api.order("secret-1", "market_market_ioc", quote_size="10.00").json()["order_id"]
    responses = [
        api.get("/accounts"),
        api.get("/portfolios"),
        api.get("/key_permissions"),
        api.get(f"/orders/historical/{order_id}"),
        api.get("/orders/historical/fills"),
        api.get("/accounts", auth=False),
        api.client.get(PREFIX + "/accounts", headers={"Authorization": "Bearer x.y.z"}),
    ]
    for response in responses:
        assert name not in response.text
        assert all(name not in value for value in response.headers.values())
