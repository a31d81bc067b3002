"""The sandbox's injected faults, rate limits and error drills over real HTTP on loopback."""

from __future__ import annotations

import httpx
import pytest

from cryptoj.sandbox.ratelimit import RateLimiter
from tests.integration.sandbox.conftest import PREFIX, Api, use_forms
from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration


def test_fact_14_a_429_can_be_an_html_page_in_the_documented_forms_too(api: Api) -> None:
    use_forms(api, "documented")  # where html_errors chooses the page; real 429s always are (fact 21)
    api.client.post("/sandbox/admin/faults", json={"error_429_rate": 1.0, "html_errors": True})
    response = api.get("/accounts")
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text
    assert response.headers["retry-after"] == "1"


def test_the_documented_forms_answer_json_429_with_retry_after_and_ratelimit_headers(
    api: Api, sandbox: SandboxHandle
) -> None:
    # The older forms, kept so a client's header-driven hold stays tested (real answers carry none, fact 19).
    use_forms(api, "documented")
    sandbox.exchange.limiter = RateLimiter(private_per_second=2, clock=lambda: 1000.5)
    responses = [api.get("/accounts") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0].headers["x-ratelimit-remaining"] == "1"
    refused = responses[2]
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-ratelimit-limit"] == "2"
    assert refused.headers["x-ratelimit-reset"] == "1001"
    assert refused.json()["error"] == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize(("dialect", "status"), [("real", 502), ("documented", 503)])
def test_injected_5xx_is_served_and_can_be_switched_off(api: Api, dialect: str, status: int) -> None:
    use_forms(api, dialect)
    config = api.client.post("/sandbox/admin/faults", json={"error_5xx_rate": 1.0}).json()
    assert config["error_5xx_rate"] == 1.0
    assert api.get("/accounts").status_code == status
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
    # Past datetime's range the clock broke: a 500, then every market step failed.
    huge = api.client.post("/sandbox/admin/advance", content=b'{"seconds": 1e308}')
    assert huge.status_code == 400
    assert "from 0 to" in huge.json()["message"]
    assert api.client.post("/sandbox/admin/advance", content=b'{"seconds": NaN}').status_code == 400
    assert api.client.post("/sandbox/admin/advance", json={"seconds": 60}).status_code == 200
    assert api.client.get("/sandbox/admin/nothing").status_code == 404


def test_fact_14_a_gateway_error_can_be_an_html_502_in_the_documented_forms_too(api: Api) -> None:
    use_forms(api, "documented")
    api.client.post("/sandbox/admin/faults", json={"error_5xx_rate": 1.0, "html_errors": True})
    response = api.get("/accounts")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")


def test_http_faults_follow_the_seed_at_the_configured_rate(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.exchange.limiter = RateLimiter(private_per_second=10_000, public_per_second=10_000)

    def statuses() -> list[int]:
        api.client.post("/sandbox/admin/faults", json={"seed": 21, "error_5xx_rate": 0.3})
        return [api.get("/time", auth=False).status_code for _ in range(60)]

    first, second = statuses(), statuses()
    assert first == second  # the same seed, the same requests fail
    failed = sum(status != 200 for status in first)
    assert len(set(first)) == 2
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
