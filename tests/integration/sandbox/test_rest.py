"""The sandbox's REST API over real HTTP on loopback: shapes, status codes, headers and real-traffic facts."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tests.integration.sandbox.conftest import PREFIX, Api, best_ask, use_forms
from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration
D = Decimal


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


def test_fact_10_json_spacing_varies_between_responses_of_one_endpoint_in_the_documented_forms(api: Api) -> None:
    use_forms(api, "documented")  # they alternate compact and indented answers (the real forms: test_rest_real_forms)
    first, second = api.get("/market/products/BTC-USD", auth=False), api.get("/market/products/BTC-USD", auth=False)
    assert first.content != second.content
    assert b"\n" in first.content + second.content
    assert set(first.json()) == set(second.json())


def test_fact_11_cache_control_and_one_hex_trace_id_in_the_documented_forms(api: Api) -> None:
    use_forms(api, "documented")
    public = api.get("/market/product_book", auth=False, product_id="BTC-USD")
    private = api.get("/accounts")
    assert public.headers["cache-control"] == "public, max-age=1"
    assert private.headers["cache-control"] == "no-store"
    responses = [public, private, api.get("/accounts", auth=False), api.client.get("/nowhere")]
    trace_ids = [r.headers["trace-id"] for r in responses]
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in trace_ids)
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


def test_fact_13_unknown_fields_and_bad_enums_are_400_invalid_argument_in_the_documented_forms(api: Api) -> None:
    use_forms(api, "documented")  # real unknown-field answers say "unknown" (fact 22, test_rest_real_forms)
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
    use_forms(api, "documented")  # the real forms also answer some unserved paths in JSON (test_rest_real_forms)
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


def test_a_candle_range_of_decades_or_past_int64_is_invalid_argument_not_a_server_crash(api: Api) -> None:
    # Counting the buckets built them all first: about 30 million for this range, 10^21 (an OverflowError) for the next.
    now = int(time.time())
    decades = api.get("/products/BTC-USD/candles", start=0, end=now, granularity="ONE_MINUTE")
    assert decades.status_code == 400
    beyond = api.get("/products/BTC-USD/candles", start=0, end=10**23, granularity="ONE_MINUTE")
    assert beyond.status_code == 400
    assert "less than 350" in beyond.json()["message"]


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


# --- accounts --------------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/orders/historical/batch", {"cursor": "abc"}),
        ("/orders/historical/batch", {"order_status": "WAITING"}),
        ("/orders/historical/batch", {"start_date": "yesterday"}),
        ("/orders/historical/fills", {"limit": "-1"}),
        ("/accounts", {"cursor": "x"}),
        ("/accounts", {"limit": "251"}),
        # str.isdigit() passes these and int() refuses them: they were HTTP 500s.
        ("/accounts", {"cursor": "²"}),
        ("/orders/historical/batch", {"cursor": "٣"}),
        ("/orders/historical/fills", {"cursor": "²"}),
    ],
)
def test_bad_list_parameters_are_invalid_argument(api: Api, path: str, params: dict[str, str]) -> None:
    response = api.get(path, **params)
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_ARGUMENT"


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
