"""The sandbox's REST answers in the real forms (facts 18 to 28 of real-traffic.md), over HTTP on loopback.

Each test switches the running sandbox to the real forms itself, so it checks them whatever the default.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal

import pytest

from cryptoj.sandbox.cdn import CdnCache
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.ratelimit import RateLimiter
from tests.integration.sandbox.conftest import PREFIX, Api, best_ask, use_forms
from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration

FRACTION = re.compile(r"T\d\d:\d\d:\d\d(?:\.(\d+))?Z$")


@pytest.fixture
def real(api: Api) -> Api:
    """The sandbox in the real forms, its CDN holding answers for a minute (so a second read is a hit)."""
    use_forms(api, "real", cdn_ttl=60)
    return api


def digits(text: str) -> int:
    """How many fraction digits an RFC3339 time has."""
    found = FRACTION.search(text)
    assert found is not None, text
    return len(found.group(1) or "")


def test_fact_18_every_answer_sends_trace_id_twice_with_one_decimal_value(real: Api) -> None:
    answers = [
        real.get("/accounts"),  # 200 private
        real.get("/market/products/BTC-USD", auth=False),  # 200 public
        real.get("/accounts", auth=False),  # 401 text
        real.client.get("/nowhere"),  # 404
        real.get("/orders/historical/none"),  # 404 JSON
    ]
    values = []
    for response in answers:
        sent = response.headers.get_list("trace-id")
        assert len(sent) == 2
        assert sent[0] == sent[1]
        assert sent[0].isdigit()
        values.append(sent[0])
    assert len(set(values)) == len(values)


def test_fact_19_no_answer_carries_ratelimit_headers(real: Api, sandbox: SandboxHandle) -> None:
    sandbox.exchange.limiter = RateLimiter(private_per_second=1, clock=lambda: 1000.5)
    answers = [real.get("/accounts"), real.get("/accounts"), real.get("/time", auth=False)]
    assert [r.status_code for r in answers] == [200, 429, 200]
    for response in answers:
        assert not [name for name in response.headers if name.lower().startswith("x-ratelimit")]


def test_fact_20_market_answers_come_through_a_cdn_that_serves_cached_copies(real: Api) -> None:
    first = real.get("/market/product_book", auth=False, product_id="BTC-USD", limit=5)
    real.client.post("/sandbox/admin/advance", json={"seconds": 120})  # the market moves on
    again = real.get("/market/product_book", auth=False, product_id="BTC-USD", limit=5)
    fresh = real.get("/product_book", product_id="BTC-USD", limit=5)
    other = real.get("/market/product_book", auth=False, product_id="BTC-USD", limit=6)
    assert first.headers["cache-control"] == "public, max-age=14400"
    assert first.headers["cf-cache-status"] == "MISS"
    assert "age" not in first.headers
    assert {"expires", "last-modified", "cf-ray"} <= set(first.headers)
    # A hit: the same bytes, however the market moved since; the authenticated route has the new book.
    assert again.headers["cf-cache-status"] == "HIT"
    assert again.content == first.content
    assert int(again.headers["age"]) >= 0
    assert fresh.json()["pricebook"]["time"] != first.json()["pricebook"]["time"]
    assert other.headers["cf-cache-status"] == "MISS"
    private = real.get("/accounts")
    assert private.headers["cache-control"] == "no-store,no-store"
    assert "cf-cache-status" not in private.headers


def test_fact_20_a_copy_past_its_time_is_fetched_again_as_expired(real: Api, sandbox: SandboxHandle) -> None:
    now = [1_771_737_745.0]
    sandbox.exchange.cdn = CdnCache(ttl=1, clock=lambda: now[0])
    real.get("/market/products/ETH-USD", auth=False)
    now[0] += 5
    expired = real.get("/market/products/ETH-USD", auth=False)
    assert expired.headers["cf-cache-status"] == "EXPIRED"
    assert real.get("/market/products/ETH-USD", auth=False).headers["cf-cache-status"] == "HIT"


def test_fact_21_a_429_is_an_html_page_without_budget_headers(real: Api, sandbox: SandboxHandle) -> None:
    sandbox.exchange.limiter = RateLimiter(private_per_second=1, clock=lambda: 1000.5)
    real.get("/accounts")
    spent = real.get("/accounts")
    real.client.post("/sandbox/admin/faults", json={"error_429_rate": 1.0})
    injected = real.get("/time", auth=False)
    for response in (spent, injected):
        assert response.status_code == 429
        assert response.headers["content-type"].startswith("text/html")
        assert "<title>Coinbase</title>" in response.text
        assert "retry-after" not in response.headers


def test_fact_21_a_gateway_error_is_an_html_502(real: Api) -> None:
    real.client.post("/sandbox/admin/faults", json={"error_5xx_rate": 1.0})
    for response in (real.get("/accounts"), real.get("/market/products", auth=False)):
        assert response.status_code == 502
        assert response.headers["content-type"].startswith("text/html")
        assert "502 Bad Gateway" in response.text


def test_fact_22_an_unknown_field_is_400_unknown_pointing_at_the_field(real: Api, sandbox: SandboxHandle) -> None:
    body = (
        b'{"client_order_id":"f22","product_id":"BTC-USD","side":"BUY",'
        b'"order_configuration":{"market_market_ioc":{"quote_size":"10"}},"max_floor":"1"}'
    )
    column = body.index(b'"max_floor"') + 1
    response = real.client.post(
        PREFIX + "/orders",
        content=body,
        headers=sandbox.auth_headers("POST", PREFIX + "/orders") | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    details = f'proto: (line 1:{column}): unknown field "max_floor"'
    assert response.json() == {"error": "unknown", "error_details": details, "message": details}
    nested = real.order("f22b", "limit_limit_gtc", base_size="0.01", limit_price="1000.00", iceberg="1").json()
    assert nested["error"] == "unknown"
    assert nested["error_details"].endswith('unknown field "iceberg"')
    preview = real.post(
        "/orders/preview",
        {"product_id": "BTC-USD", "side": "BUY", "order_configuration": {"market_market_ioc": {}}, "x": 1},
    )
    assert preview.json()["error"] == "unknown"
    # A bad enum value is not a field the decoder lacks: Coinbase's INVALID_ARGUMENT (fact 13) stays.
    bad_side = real.order("f22c", "market_market_ioc", side="PURCHASE", quote_size="10")
    assert bad_side.json()["error"] == "INVALID_ARGUMENT"


def test_fact_24_order_objects_carry_coinbases_unset_values(real: Api) -> None:
    resting = real.order("f24a", "limit_limit_gtc", base_size="0.01", limit_price="1000.00").json()["order_id"]
    filled = real.order("f24b", "market_market_ioc", quote_size="20.00").json()["order_id"]
    orders = {o["order_id"]: o for o in real.get("/orders/historical/batch").json()["orders"]}
    for order in orders.values():
        assert order["commission_detail_total"] is None
        assert order["last_update_time"] is None
        assert order["workable_size"] == order["workable_size_completion_pct"] == ""
        assert order["cost_basis_method"] == "COST_BASIS_METHOD_UNSPECIFIED"
        assert order["equity_trading_session"] == "UNKNOWN_EQUITY_TRADING_SESSION"
        assert order["prediction_side"] == "PREDICTION_SIDE_UNKNOWN"
    assert orders[filled]["completion_percentage"] == "100.00"
    assert orders[resting]["completion_percentage"] == "0.00"
    assert real.get(f"/orders/historical/{resting}").json()["order"] == orders[resting]


def test_fact_25_rest_times_vary_in_precision_and_filter_by_what_is_on_the_wire(real: Api) -> None:
    for i in range(16):
        real.order(f"f25-{i}", "market_market_ioc", quote_size="5.00")
    orders = real.get("/orders/historical/batch").json()["orders"]
    created = [o["created_time"] for o in orders]
    assert {digits(t) for t in created} <= {0, 3, 6}
    assert 0 in {digits(t) for t in created}
    assert 6 in {digits(t) for t in created}
    # The wire value is the order's time: a start_date built from it finds the order, an end_date excludes it.
    newest = orders[0]
    since = real.get("/orders/historical/batch", start_date=newest["created_time"]).json()["orders"]
    assert newest["order_id"] in [o["order_id"] for o in since]
    before = real.get("/orders/historical/batch", end_date=newest["created_time"]).json()["orders"]
    assert newest["order_id"] not in [o["order_id"] for o in before]
    fills = real.get("/orders/historical/fills").json()["fills"]
    assert {digits(f["trade_time"]) for f in fills} >= {9}
    for fill in fills:
        assert fill["sequence_timestamp"] == fill["trade_time"]
        assert fill["trade_id"].isdigit()  # fact 23's numeric trade ids, here as in the market's trades
    accounts = real.get("/accounts").json()["accounts"]
    assert all(digits(a["created_at"]) in (0, 3, 6) for a in accounts)


def test_fact_27_public_products_leave_best_prices_out_or_empty_and_pagination_null(
    real: Api, sandbox: SandboxHandle
) -> None:
    sandbox.exchange.cdn = CdnCache(ttl=0)  # every read reaches the sandbox, so the forms can vary
    sandbox.exchange.limiter = RateLimiter(public_per_second=1000)
    forms = set()
    for _ in range(12):
        listing = real.get("/market/products", auth=False).json()
        assert listing["pagination"] is None
        product = listing["products"][0]
        forms.add(product.get("best_bid_price", "absent"))
        assert product.get("best_bid_price", "") == product.get("best_ask_price", "") == ""
    assert forms == {"absent", ""}
    one = real.get("/market/products/BTC-USD", auth=False).json()
    assert one.get("best_bid_price", "") == ""
    private = real.get("/products").json()
    assert set(private["pagination"]) == {"prev_cursor", "next_cursor", "has_next", "has_prev"}
    assert Decimal(private["products"][0]["best_bid_price"]) > 0


def test_fact_28_an_account_read_right_after_a_trade_can_fail_and_passes_on_retry(
    real: Api, sandbox: SandboxHandle
) -> None:
    sandbox.exchange.clock = SimClock(speed=0)  # "right after": no second passes however slow the machine
    real.client.post("/sandbox/admin/faults", json={"account_unavailable_rate": 1.0})
    accounts = {a["currency"]: a["uuid"] for a in real.get("/accounts").json()["accounts"]}
    assert real.get(f"/accounts/{accounts['BTC']}").status_code == 200  # untouched by any trade
    assert real.order("f28", "market_market_ioc", quote_size="20.00").json()["success"] is True
    caught = real.get(f"/accounts/{accounts['BTC']}")
    assert caught.status_code == 400
    assert caught.json() == {
        "error": "INVALID_ARGUMENT",
        "error_details": "account is not available",
        "message": "account is not available",
    }
    assert real.get(f"/accounts/{accounts['BTC']}").status_code == 200  # the retry
    assert real.get(f"/accounts/{accounts['USD']}").status_code == 400  # the other side of the trade, once
    real.client.post("/sandbox/admin/advance", json={"seconds": 2})
    real.order("f28b", "market_market_ioc", quote_size="20.00")
    real.client.post("/sandbox/admin/advance", json={"seconds": 2})
    assert real.get(f"/accounts/{accounts['BTC']}").status_code == 200  # a second later it has passed


def test_fact_10_real_answers_come_compact_or_with_spaced_commas(real: Api) -> None:
    answers = [real.get("/accounts") for _ in range(16)]
    layouts = {b", " in r.content for r in answers}
    assert layouts == {True, False}
    assert all(b"\n" not in r.content for r in answers)
    assert len({json.dumps(r.json(), sort_keys=True) for r in answers}) == 1


def test_fact_14_an_unserved_path_is_text_or_coinbase_json_404(real: Api) -> None:
    answers = [real.client.get(f"{PREFIX}/cfm/balance_summary?n={i}") for i in range(16)]
    assert {r.status_code for r in answers} == {404}
    texts = [r for r in answers if r.headers["content-type"].startswith("text/plain")]
    jsons = [r for r in answers if r.headers["content-type"].startswith("application/json")]
    assert texts
    assert jsons
    assert len(texts) + len(jsons) == len(answers)
    assert {r.text for r in texts} == {"404 page not found"}
    assert {r.json()["error"] for r in jsons} == {"NOT_FOUND"}


def test_the_forms_admin_route_reads_and_sets_and_refuses_bad_settings(api: Api) -> None:
    use_forms(api, "documented", cdn_ttl=0)
    assert api.client.get("/sandbox/admin/forms").json() == {"dialect": "documented", "cdn_ttl": 0}
    for bad, message in (
        ({"dialect": "tidy"}, "unknown dialect 'tidy'"),
        ({"cdn_ttl": -1}, "cdn_ttl must be"),
        ({"cdn_ttl": True}, "cdn_ttl must be"),
        ({"speed": 2}, '"dialect" and "cdn_ttl"'),
        ([], '"dialect" and "cdn_ttl"'),
    ):
        refused = api.client.post("/sandbox/admin/forms", json=bad)
        assert refused.status_code == 400
        assert message in refused.json()["message"]
    assert api.client.get("/sandbox/admin/forms").json() == {"dialect": "documented", "cdn_ttl": 0}
    assert api.client.post("/sandbox/admin/forms", json={"dialect": "real"}).json()["dialect"] == "real"


def test_a_real_order_answer_is_still_readable_by_the_rules_it_was_placed_under(real: Api) -> None:
    price = str(best_ask(real) + 50)
    body = real.order("ioc-real", "sor_limit_ioc", base_size="0.001", limit_price=price).json()
    assert body["success"] is True
    order = real.get(f"/orders/historical/{body['order_id']}").json()["order"]
    created = datetime.fromisoformat(order["created_time"].replace("Z", "+00:00"))
    assert created.tzinfo is not None
    expected = {"sor_limit_ioc": {"base_size": "0.001", "limit_price": price, "rfq_disabled": False}}
    assert order["order_configuration"] == expected
