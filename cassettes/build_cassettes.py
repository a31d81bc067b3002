"""Build the replay cassettes from the reference bodies in tests/data/coinbase (Coinbase is unreachable here).

Run from the repository root: ``uv run python cassettes/build_cassettes.py``. README.md next to this file
says where each body comes from and what was edited. Real recordings (``--record-mode=once`` with keys,
docs/recording.md) replace these files one by one.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "coinbase"
OUT = ROOT / "cassettes"
API = "https://api.coinbase.com/api/v3/brokerage"
DATE = "Sun, 22 Feb 2026 05:22:25 GMT"
EPOCH = 1771737745  # DATE in epoch seconds
_DROP = {"transfer-encoding", "content-length", "content-encoding", "set-cookie", "cf-ray", "report-to", "nel"}

# Doc examples use "<string>" placeholders where a value is a decimal or a time; these replace them.
_TIME = "2021-05-31T09:59:59.000Z"
_PLACEHOLDERS: dict[str, str] = {
    "price": "30000.00",
    "size": "0.5",
    "last": "30000.00",
    "mid_market": "30000.01",
    "spread_bps": "0.67",
    "spread_absolute": "0.02",
    "best_bid_price": "30000.00",
    "best_ask_price": "30000.02",
    "total_value_after_fees": "10005.00",
    "fee": "0",
    "outstanding_hold_amount": "0",
    "epochSeconds": "1622455199",
    "epochMillis": "1622455199000",
}


def _fill(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {name: _fill(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, key) for item in value]
    if value == "<string>":
        if key in _PLACEHOLDERS:
            return _PLACEHOLDERS[key]
        if key == "iso" or key.endswith(("time", "timestamp")):
            return _TIME
    return value


def example(name: str) -> Any:
    """A documented body with its decimal/time placeholders filled."""
    return _fill(json.loads((DATA / "examples" / name).read_text()))


_EXACT = "12345678.123456789012"  # twenty significant digits: a float keeps about seventeen
TRACE_ID = "6459377472123480980"  # illustrative; decimal like real ones


def _headers(extra: dict[str, str] | None = None, *, public: bool = False) -> dict[str, list[str]]:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Date": DATE,
        "Cache-Control": "public, max-age=1" if public else "no-store",
    }
    headers.update(extra or {})
    listed = {name: [value] for name, value in headers.items()}
    listed["trace-id"] = [TRACE_ID, TRACE_ID]  # every real answer carries it twice (real-traffic fact 18)
    return listed


def interaction(
    method: str,
    path: str,
    *,
    status: int = 200,
    reason: str = "OK",
    body: Any = None,
    text: str | None = None,
    request_body: Any = None,
    headers: dict[str, list[str]] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """One request/response pair in vcrpy's format; bodies are JSON unless `text` is given."""
    request_headers: dict[str, list[str]] = {"Accept": ["application/json"]}
    if request_body is not None:
        request_headers["Content-Type"] = ["application/json"]
    return {
        "request": {
            "method": method,
            "uri": API + path,
            "body": "" if request_body is None else json.dumps(request_body),
            "headers": request_headers,
        },
        "response": {
            "status": {"code": status, "message": reason},
            "headers": headers or _headers(public=public),
            "body": {"string": text if text is not None else json.dumps(body, separators=(",", ": "))},
        },
    }


def captured(name: str) -> dict[str, Any]:
    """A real recorded exchange, body verbatim; only volatile or cookie headers dropped."""
    data = json.loads((DATA / "captured" / name).read_text())
    headers: dict[str, list[str]] = {}
    for header, value in data["response"]["headers"].items():
        if header.lower() in _DROP:
            continue
        headers[header] = value if isinstance(value, list) else [value]
    return {
        "request": {"method": data["request"]["method"], "uri": data["request"]["uri"], "body": "", "headers": {}},
        "response": {
            "status": data["response"]["status"],
            "headers": headers,
            "body": {"string": data["response"]["body_text"]},
        },
    }


def clock_check() -> dict[str, Any]:
    """`GET /time`, which the client reads before its first signed request and after a 401 (Coinbase's clock
    at the cassettes' `Date`)."""
    millis = EPOCH * 1000
    body = {"iso": "2026-02-22T05:22:25.000Z", "epochSeconds": str(EPOCH), "epochMillis": str(millis)}
    return interaction("GET", "/time", body=body, public=True)


def _signed(first: dict[str, Any]) -> bool:
    path = first["request"]["uri"].removeprefix(API)
    return not path.startswith(("/market/", "/time"))


def write(name: str, *interactions: dict[str, Any]) -> None:
    """Write one cassette; one whose first request is signed opens with the client's clock check."""
    played = [clock_check(), *interactions] if _signed(interactions[0]) else list(interactions)
    text = yaml.safe_dump({"interactions": played, "version": 1}, sort_keys=False, width=1000)
    (OUT / name).write_text(text)


def _error(code: str, message: str) -> dict[str, str]:
    return {"error": code, "error_details": message, "message": message}


def _html(title: str) -> str:
    return f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>\n"


def build_public() -> None:
    """Public market endpoints: real responses, verbatim."""
    write("public_get_product.yaml", captured("market_product_btc_usd.json"))
    write("public_product_book.yaml", captured("market_product_book_btc_usd.json"))
    write("public_candles.yaml", captured("market_candles_btc_usd_one_hour.json"))
    write("public_list_products.yaml", captured("market_products.json"))
    write("public_server_time.yaml", interaction("GET", "/time", body=example("get_server_time.json"), public=True))


def build_accounts_and_products() -> None:
    """Accounts (two pages: the documented page, then the same page marked last) and products."""
    page1 = example("list_accounts.json")
    page2 = copy.deepcopy(page1)
    page2["accounts"][0]["uuid"] = "8bfc20d7-f7c6-4422-bf07-8243ca4169ff"
    page2["has_next"], page2["cursor"] = False, ""
    write(
        "accounts_list.yaml",
        interaction("GET", "/accounts?limit=250", body=page1),
        interaction("GET", "/accounts?limit=250&cursor=789100", body=page2),
    )
    account = example("get_account.json")
    write("accounts_get.yaml", interaction("GET", f"/accounts/{account['account']['uuid']}", body=account))

    # Products (authenticated).
    write(
        "products_list.yaml",
        interaction("GET", "/products?limit=1&product_type=SPOT", body=example("list_products.json")),
    )
    write("products_get.yaml", interaction("GET", "/products/BTC-USD", body=example("get_product.json")))
    write(
        "products_book.yaml",
        interaction("GET", "/product_book?product_id=BTC-USD&limit=1", body=example("get_product_book.json")),
    )
    write(
        "products_best_bid_ask.yaml",
        interaction("GET", "/best_bid_ask?product_ids=BTC-USD&product_ids=ETH-USD", body=example("best_bid_ask.json")),
    )
    write(
        "products_candles.yaml",
        interaction(
            "GET",
            "/products/BTC-USD/candles?start=1639508000&end=1639508300&granularity=FIVE_MINUTE",
            body=example("get_candles.json"),
        ),
    )
    write(
        "products_market_trades.yaml",
        interaction("GET", "/products/BTC-USD/ticker?limit=1", body=example("get_market_trades.json")),
    )


def build_orders() -> None:
    """Create (accepted, rejected, IOC), cancel, edit, preview, list, get, fills, close position."""
    limit_gtc = {"limit_limit_gtc": {"base_size": "0.001", "limit_price": "10000.00", "post_only": False}}
    create = {
        "client_order_id": "0000-00000-000000",
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": limit_gtc,
    }
    success = example("create_order_success.json")
    success["failure_reason"] = "UNKNOWN_FAILURE_REASON"  # real successes carry it too (real-traffic fact 12)
    write("orders_create_success.yaml", interaction("POST", "/orders", body=success, request_body=create))
    insufficient = {
        "success": False,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "",
        "error_response": {
            "error": "INSUFFICIENT_FUND",
            "message": "Insufficient balance in source account",
            "error_details": "",
            "preview_failure_reason": "PREVIEW_INSUFFICIENT_FUND",
        },
        "order_configuration": limit_gtc,
    }
    write(
        "orders_create_insufficient_fund.yaml", interaction("POST", "/orders", body=insufficient, request_body=create)
    )
    ioc = {"sor_limit_ioc": {"base_size": "0.001", "limit_price": "10000.00"}}
    ioc_request = {**create, "client_order_id": "ioc-0001", "order_configuration": ioc}
    ioc_answer = {
        "success": True,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "11111-00000-000001",
        "success_response": {
            "order_id": "11111-00000-000001",
            "product_id": "BTC-USD",
            "side": "BUY",
            "client_order_id": "ioc-0001",
        },
        "order_configuration": {
            "sor_limit_ioc": {"base_size": "0.001", "limit_price": "10000.00", "rfq_disabled": False}
        },
    }
    write("orders_create_sor_limit_ioc.yaml", interaction("POST", "/orders", body=ioc_answer, request_body=ioc_request))
    unknown_field = _error("unknown", 'proto: (line 1:155): unknown field "max_floor"')  # fact 22: "unknown"
    write(
        "orders_create_unknown_field.yaml",
        interaction("POST", "/orders", status=400, reason="Bad Request", body=unknown_field, request_body=create),
    )
    cancel_request = {"order_ids": ["0000-00000", "bad-id"]}
    cancel_answer = example("cancel_orders.json")
    cancel_answer["results"].append(
        {"success": False, "failure_reason": "INVALID_CANCEL_REQUEST", "order_id": "bad-id"}
    )
    write(
        "orders_batch_cancel.yaml",
        interaction("POST", "/orders/batch_cancel", body=cancel_answer, request_body=cancel_request),
    )
    order = example("get_order.json")
    write("orders_get.yaml", interaction("GET", f"/orders/historical/{order['order']['order_id']}", body=order))
    orders_page1 = example("list_orders.json")
    orders_page2 = copy.deepcopy(orders_page1)
    orders_page2["orders"][0]["order_id"] = "0000-000000-000001"
    orders_page2["has_next"], orders_page2["cursor"] = False, ""
    write(
        "orders_list.yaml",
        interaction(
            "GET", "/orders/historical/batch?product_ids=BTC-USD&order_status=FILLED&limit=100", body=orders_page1
        ),
        interaction(
            "GET",
            "/orders/historical/batch?product_ids=BTC-USD&order_status=FILLED&limit=100&cursor=789100",
            body=orders_page2,
        ),
    )
    fills_page1 = example("list_fills.json")
    fills_page2 = copy.deepcopy(fills_page1)
    fills_page2["fills"][0]["entry_id"] = "22222-2222222-22222223"
    fills_page2["cursor"] = ""
    write(
        "orders_fills.yaml",
        interaction("GET", "/orders/historical/fills?product_ids=BTC-USD&limit=100", body=fills_page1),
        interaction("GET", "/orders/historical/fills?product_ids=BTC-USD&limit=100&cursor=789100", body=fills_page2),
    )


def build_orders_more() -> None:
    """Previews, edits and close position."""
    limit_gtc = {"limit_limit_gtc": {"base_size": "0.001", "limit_price": "10000.00", "post_only": False}}
    preview_request = {"product_id": "BTC-USD", "side": "BUY", "order_configuration": limit_gtc}
    preview = {
        "order_total": "10.06", "commission_total": "0.06", "errs": [], "warning": [], "quote_size": "10",
        "base_size": "0.001", "best_bid": "10000.00", "best_ask": "10000.02", "is_max": False, "slippage": "0",
        "preview_id": "b40bbff9-17ce-4726-8b64-9de7ae57ad26",
    }  # fmt: skip
    write("orders_preview.yaml", interaction("POST", "/orders/preview", body=preview, request_body=preview_request))
    edit_request = {"order_id": "0000-000000-000000", "price": "10001.00", "size": "0.001"}
    write(
        "orders_edit.yaml",
        interaction("POST", "/orders/edit", body={"success": True, "errors": []}, request_body=edit_request),
    )
    edit_failed = {
        "success": False,
        "errors": [{"edit_failure_reason": "ORDER_NOT_FOUND", "preview_failure_reason": ""}],
    }
    write(
        "orders_edit_not_found.yaml", interaction("POST", "/orders/edit", body=edit_failed, request_body=edit_request)
    )
    edit_preview = {
        "errors": [], "slippage": "0", "order_total": "10.07", "commission_total": "0.06", "quote_size": "10.01",
        "base_size": "0.001", "best_bid": "10000.00", "best_ask": "10000.02", "average_filled_price": "10001.00",
    }  # fmt: skip
    write(
        "orders_edit_preview.yaml",
        interaction("POST", "/orders/edit_preview", body=edit_preview, request_body=edit_request),
    )
    close_request = {"client_order_id": "close-0001", "product_id": "BTC-USD", "size": "0.001"}
    close_answer = {
        "success": True,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "success_response": {
            "order_id": "33333-00000-000000",
            "product_id": "BTC-USD",
            "side": "SELL",
            "client_order_id": "close-0001",
        },
    }
    write(
        "orders_close_position.yaml",
        interaction("POST", "/orders/close_position", body=close_answer, request_body=close_request),
    )


def build_portfolios_and_fees() -> None:
    """Portfolios, fees, key permissions (bodies follow the documented field lists; values illustrative)."""
    portfolio = {"name": "Default", "uuid": "9f2cb3d2-4f2a-4c1e-8f43-2b1f0e0d5a11", "type": "DEFAULT", "deleted": False}
    write("portfolios_list.yaml", interaction("GET", "/portfolios", body={"portfolios": [portfolio]}))
    breakdown = {
        "breakdown": {
            "portfolio": portfolio,
            "portfolio_balances": {
                "total_balance": {"value": "1523.45", "currency": "USD"},
                "total_crypto_balance": {"value": "523.45", "currency": "USD"},
                "total_cash_equivalent_balance": {"value": "1000.00", "currency": "USD"},
            },
            "spot_positions": [
                {
                    "asset": "BTC",
                    "account_uuid": "8bfc20d7-f7c6-4422-bf07-8243ca4169fe",
                    "total_balance_fiat": 523.45,
                    "total_balance_crypto": 0.0101,
                    "available_to_trade_fiat": 523.45,
                    "allocation": 0.3436,
                    "cost_basis": {"value": "500.00", "currency": "USD"},
                    "is_cash": False,
                    "unrealized_pnl": _EXACT,  # a newer field, kept unknown: a JSON number past float's digits
                }
            ],
            "perp_positions": [],
            "futures_positions": [],
        }
    }
    text = json.dumps(breakdown, separators=(",", ": ")).replace(f'"{_EXACT}"', _EXACT)  # the number, unquoted
    write("portfolios_breakdown.yaml", interaction("GET", f"/portfolios/{portfolio['uuid']}?currency=USD", text=text))
    summary = {
        "total_volume": 1000.5, "total_fees": 6.003,
        "fee_tier": {"pricing_tier": "Advanced 1", "usd_from": "0", "usd_to": "10000", "taker_fee_rate": "0.006",
                     "maker_fee_rate": "0.004", "aop_from": "", "aop_to": ""},
        "margin_rate": {"value": ""}, "goods_and_services_tax": {"rate": "", "type": "INCLUSIVE"},
        "advanced_trade_only_volume": 1000.5, "advanced_trade_only_fees": 6.003, "coinbase_pro_volume": 0,
        "coinbase_pro_fees": 0, "total_balance": "1523.45", "has_promo_fee": False,
    }  # fmt: skip
    write("fees_transaction_summary.yaml", interaction("GET", "/transaction_summary?product_type=SPOT", body=summary))
    permissions = {
        "can_view": True,
        "can_trade": True,
        "can_transfer": False,
        "portfolio_uuid": portfolio["uuid"],
        "portfolio_type": "DEFAULT",
    }
    write("key_permissions.yaml", interaction("GET", "/key_permissions", body=permissions))


def build_errors() -> None:
    """Error scenarios, in the shapes real traffic shows (real-traffic facts 11, 13, 14, 17)."""
    unauthorized = interaction(
        "GET",
        "/accounts?limit=250",
        status=401,
        reason="Unauthorized",
        text="Unauthorized",
        headers=_headers({"Content-Type": "text/plain; charset=utf-8"}),
    )
    # After a 401 the client reads Coinbase's clock again and signs once more with the clock not yet tried
    # (the replay's fake clock is years off Coinbase's, so: corrected first, then its own).
    write("error_401_plain_text.yaml", unauthorized, clock_check(), unauthorized)
    write(
        "error_403_missing_scopes.yaml",
        interaction(
            "GET",
            "/accounts?limit=250",
            status=403,
            reason="Forbidden",
            body=_error("PERMISSION_DENIED", "Missing required scopes"),
        ),
    )
    write(
        "error_404_order.yaml",
        interaction(
            "GET",
            "/orders/historical/no-such-order",
            status=404,
            reason="Not Found",
            body=_error("NOT_FOUND", "order with this orderID was not found"),
        ),
    )
    write(
        "error_404_unserved_path.yaml",
        interaction(
            "GET",
            "/products/BTC-USD",
            status=404,
            reason="Not Found",
            text="404 page not found",
            headers=_headers({"Content-Type": "text/plain; charset=utf-8"}),
        ),
    )
    # Right after a trade the account is briefly "not available", then answers (real-traffic fact 28).
    account = example("get_account.json")
    account_path = f"/accounts/{account['account']['uuid']}"
    write(
        "error_400_account_not_available.yaml",
        interaction(
            "GET",
            account_path,
            status=400,
            reason="Bad Request",
            body=_error("INVALID_ARGUMENT", "account is not available"),
        ),
        interaction("GET", account_path, body=account),
    )
    too_many = _error(
        "INVALID_ARGUMENT", "start and end argument is invalid - number of candles requested should be less than 350"
    )
    write(
        "error_400_too_many_candles.yaml",
        interaction(
            "GET",
            "/products/BTC-USD/candles?start=1639000000&end=1639500000&granularity=ONE_MINUTE",
            status=400,
            reason="Bad Request",
            body=too_many,
        ),
    )
    html = _headers({"Content-Type": "text/html; charset=UTF-8", "Retry-After": "2"})
    write(
        "error_429_html.yaml",
        interaction(
            "GET",
            "/accounts?limit=250",
            status=429,
            reason="Too Many Requests",
            text=_html("429 Too Many Requests"),
            headers=html,
        ),
    )
    write(
        "error_502_html.yaml",
        interaction(
            "GET",
            "/accounts?limit=250",
            status=502,
            reason="Bad Gateway",
            text=_html("502 Bad Gateway"),
            headers=_headers({"Content-Type": "text/html"}),
        ),
    )


def build() -> None:
    """Write every cassette."""
    build_public()
    build_accounts_and_products()
    build_orders()
    build_orders_more()
    build_portfolios_and_fees()
    build_errors()


if __name__ == "__main__":
    build()
