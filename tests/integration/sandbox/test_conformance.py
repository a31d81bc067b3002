"""In the documented forms, every sandbox response has, field for field, the keys of Coinbase's documented example.

(The real forms, the default, are held to recorded and documented bodies key, type and format in
test_conformance_real.py.)

The documented examples (tests/data/coinbase/examples) are compared recursively: each documented key must
be present (objects inside objects, the first element of lists). Keys the sandbox sends beyond the
documentation are allowed only where real traffic shows them, listed below with the reason.

One exception: the inside of an `order_configuration` variant. The generated docs examples carry
`quote_size` and `base_size` together, which no real order does (an order is sized one way); the sandbox
echoes the sizes sent, with the boolean flags spelled out.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.sandbox.conftest import Api, use_forms

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "coinbase" / "examples"

# Beyond the docs, from real traffic (../shared/coinbase/real-traffic.md facts 12 and 16, captured bodies).
REAL_EXTRAS = {
    "create_order_success.json": {"failure_reason", "order_id"},  # fact 12: legacy top-level fields
    "create_order_failure.json": {"failure_reason", "order_id"},
    "get_product.json": {"base_cbrn", "quote_cbrn", "product_cbrn"},  # captured market_product_btc_usd.json
    "list_products.json": {"base_cbrn", "quote_cbrn", "product_cbrn"},
}


CONFIGURATION_KEYS = {"limit_limit_gtc", "market_market_ioc", "trigger_bracket_gtc"}


def missing_keys(documented: Any, served: Any, path: str = "$") -> list[str]:
    """Paths of documented keys the served body lacks (None served for an object counts as present)."""
    missing: list[str] = []
    if path.endswith("order_configuration"):  # the variant sent decides the keys inside
        return missing
    if isinstance(documented, dict) and isinstance(served, dict):
        for key, value in documented.items():
            if key not in served:
                missing.append(f"{path}.{key}")
            else:
                missing += missing_keys(value, served[key], f"{path}.{key}")
    elif isinstance(documented, list) and isinstance(served, list) and documented:
        if not served:
            # An empty list would compare nothing: the test must arrange for elements to be served.
            return [f"{path}[] (served empty)"] if isinstance(documented[0], dict) else []
        missing += missing_keys(documented[0], served[0], f"{path}[0]")
    return missing


def extra_keys(documented: Any, served: Any) -> set[str]:
    """Keys the served body has that the documented one lacks, at any depth."""
    extras: set[str] = set()
    if isinstance(documented, dict) and isinstance(served, dict):
        if set(documented) & CONFIGURATION_KEYS:
            return extras  # inside order_configuration: the variant sent decides its fields
        extras |= set(served) - set(documented)
        for key in documented.keys() & served.keys():
            extras |= extra_keys(documented[key], served[key])
    elif isinstance(documented, list) and isinstance(served, list) and documented and served:
        extras |= extra_keys(documented[0], served[0])
    return extras


def check(name: str, served: Any) -> None:
    documented = json.loads((EXAMPLES / name).read_text())
    assert missing_keys(documented, served) == [], name
    assert extra_keys(documented, served) <= REAL_EXTRAS.get(name, set()), name


def test_every_sandbox_response_matches_its_documented_example_key_for_key(api: Api) -> None:
    use_forms(api, "documented")
    now = int(time.time())
    api.client.post("/sandbox/admin/advance", json={"seconds": 5})
    accounts = api.get("/accounts", limit=1).json()
    check("list_accounts.json", accounts)
    check("get_account.json", api.get(f"/accounts/{accounts['accounts'][0]['uuid']}").json())
    check("list_products.json", api.get("/products").json())
    check("get_product.json", api.get("/market/products/BTC-USD", auth=False).json())
    check("get_product_book.json", api.get("/product_book", product_id="BTC-USD", limit=3).json())
    check("best_bid_ask.json", api.get("/best_bid_ask", product_ids="BTC-USD").json())
    check(
        "get_candles.json",
        api.get("/products/BTC-USD/candles", start=now - 600, end=now, granularity="ONE_MINUTE").json(),
    )
    check("get_market_trades.json", api.get("/products/BTC-USD/ticker", limit=3).json())
    check("get_server_time.json", api.get("/time", auth=False).json())
    resting = api.order("conf-1", "limit_limit_gtc", base_size="0.001", limit_price="1000.00").json()
    check("create_order_success.json", resting)
    check("create_order_failure.json", api.order("conf-2", "market_market_ioc", quote_size="99999999.00").json())
    api.order("conf-3", "market_market_ioc", quote_size="20.00")
    api.post("/orders/edit", {"order_id": resting["order_id"], "price": "1001.00", "size": "0.001"})
    check("get_order.json", api.get(f"/orders/historical/{resting['order_id']}").json())
    # The edited order, so its edit_history has an element to compare.
    check("list_orders.json", api.get("/orders/historical/batch", order_ids=resting["order_id"]).json())
    check("list_fills.json", api.get("/orders/historical/fills").json())
    check("cancel_orders.json", api.post("/orders/batch_cancel", {"order_ids": [resting["order_id"]]}).json())


def test_the_comparison_catches_a_missing_nested_key() -> None:
    documented = {"a": {"b": 1, "c": [{"d": 1}]}}
    assert missing_keys(documented, {"a": {"b": 1, "c": [{}]}}) == ["$.a.c[0].d"]
    assert missing_keys(documented, {"a": {"c": []}}) == ["$.a.b", "$.a.c[] (served empty)"]
    assert missing_keys({"a": [1]}, {"a": []}) == []  # a list of scalars has no keys to compare
    assert (
        missing_keys(
            {"order_configuration": {"limit_limit_gtc": {"quote_size": "1"}}},
            {"order_configuration": {"limit_limit_gtc": {"base_size": "1"}}},
        )
        == []
    )
    assert extra_keys(documented, {"a": {"b": 1, "x": 2, "c": [{"d": 1, "y": 1}]}}) == {"x", "y"}
