"""Orders the engine refuses: unreadable bodies (400) and rule breaches (rejections with Coinbase's reasons)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cryptoj.sandbox.engine import BadRequest, Engine, Rejection
from tests.unit.sandbox.conftest import ME, NOW, balance, order_body, place

D = Decimal


def test_post_only_limit_that_would_cross_is_rejected(engine: Engine) -> None:
    with pytest.raises(Rejection) as caught:
        place(engine, "limit_limit_gtc", base_size="1", limit_price="101", post_only=True)
    assert caught.value.error == "INVALID_LIMIT_PRICE_POST_ONLY"
    assert caught.value.preview_reason == "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY"
    assert balance(engine, "USD") == (D("1000"), D(0))


def test_insufficient_funds_is_rejected_as_coinbase_does(engine: Engine) -> None:
    with pytest.raises(Rejection) as caught:
        place(engine, "limit_limit_gtc", base_size="20", limit_price="90")
    assert caught.value.error == "INSUFFICIENT_FUND"
    assert caught.value.preview_reason == "PREVIEW_INSUFFICIENT_FUND"
    assert engine.orders(ME) == []


def test_held_funds_cannot_be_spent_twice(engine: Engine) -> None:
    place(engine, "limit_limit_gtc", base_size="10", limit_price="90")  # holds 901.8 USD
    with pytest.raises(Rejection, match="INSUFFICIENT_FUND"):
        place(engine, "limit_limit_gtc", base_size="2", limit_price="90", coid="c2")


@pytest.mark.parametrize(
    ("config", "error", "preview"),
    [
        ({"base_size": "0.000000001", "limit_price": "90"}, "INVALID_SIZE_PRECISION", "PREVIEW_INVALID_SIZE_PRECISION"),
        ({"base_size": "1", "limit_price": "90.001"}, "INVALID_PRICE_PRECISION", "PREVIEW_INVALID_PRICE_PRECISION"),
        ({"base_size": "5000", "limit_price": "90"}, "UNKNOWN_FAILURE_REASON", "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE"),
        ({"limit_price": "90"}, "UNKNOWN_FAILURE_REASON", "UNKNOWN_PREVIEW_FAILURE_REASON"),
    ],
)
def test_product_rule_violations_are_rejected_with_coinbases_reasons(
    engine: Engine, config: dict[str, str], error: str, preview: str
) -> None:
    with pytest.raises(Rejection) as caught:
        place(engine, "limit_limit_gtc", **config)
    assert (caught.value.error, caught.value.preview_reason) == (error, preview)


def test_quote_size_below_the_minimum_is_rejected(engine: Engine) -> None:
    with pytest.raises(Rejection) as caught:
        place(engine, "market_market_ioc", quote_size="0.5")
    assert caught.value.preview_reason == "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL"


def test_market_order_without_a_size_gets_the_documented_message(engine: Engine) -> None:
    with pytest.raises(Rejection) as caught:
        place(engine, "market_market_ioc")
    assert caught.value.details == "Market orders cannot be placed with empty order sizes"


def test_unknown_product_is_rejected(engine: Engine) -> None:
    body = order_body("market_market_ioc", base_size="1") | {"product_id": "DOGE-EUR"}
    with pytest.raises(Rejection, match="INVALID_PRODUCT_ID"):
        engine.create(ME, body, now=NOW)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (order_body("market_market_ioc", base_size="1") | {"max_floor": "1"}, 'unknown field "max_floor"'),
        (order_body("market_market_ioc", base_size="1") | {"side": "HOLD"}, 'unknown value "HOLD"'),
        (order_body("market_market_ioc", base_size="1", iceberg="1"), 'unknown field "iceberg"'),
        (order_body("nonsense_config", base_size="1"), 'unknown field "nonsense_config"'),
        (order_body("market_market_ioc", base_size=1), "decimal string"),
        (order_body("market_market_ioc", base_size="lots"), "not a decimal"),
        ({"product_id": "BTC-USD", "side": "BUY", "order_configuration": {}}, "client_order_id is required"),
        ([], "JSON object"),
    ],
)
def test_unreadable_requests_are_bad_requests_not_rejections(engine: Engine, body: Any, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        engine.create(ME, body, now=NOW)


def test_unsupported_order_configuration_is_a_rejection(engine: Engine) -> None:
    with pytest.raises(Rejection, match="UNSUPPORTED_ORDER_CONFIGURATION"):
        place(engine, "trigger_bracket_gtc", base_size="1", limit_price="90", stop_trigger_price="80")


def test_stop_on_the_wrong_side_of_the_last_trade_is_rejected_and_previewed_so(engine: Engine) -> None:
    config = {
        "base_size": "1",
        "limit_price": "99",
        "stop_price": "100.5",
        "stop_direction": "STOP_DIRECTION_STOP_DOWN",
    }
    with pytest.raises(Rejection) as caught:
        place(engine, "stop_limit_stop_limit_gtc", side="SELL", **config)
    assert caught.value.preview_reason == "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE"
    # The preview said nothing was wrong with the order the create then refused.
    preview = engine.preview(ME, order_body("stop_limit_stop_limit_gtc", side="SELL", **config), now=NOW)
    assert preview["errs"] == ["PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE"]


def test_gtd_end_time_in_the_past_is_rejected(engine: Engine) -> None:
    with pytest.raises(Rejection) as caught:
        place(engine, "limit_limit_gtd", base_size="1", limit_price="90", end_time="2020-01-01T00:00:00Z")
    assert caught.value.preview_reason == "PREVIEW_END_TIME_IS_IN_THE_PAST"


@pytest.mark.parametrize(
    ("key", "config", "preview"),
    [
        (
            "limit_limit_gtc",
            {"base_size": "1", "quote_size": "10", "limit_price": "90"},
            "PREVIEW_INVALID_ORDER_CONFIG",
        ),
        ("market_market_ioc", {"quote_size": "10.001"}, "PREVIEW_INVALID_QUOTE_SIZE_PRECISION"),
        ("market_market_ioc", {"quote_size": "999999999"}, "PREVIEW_INVALID_QUOTE_SIZE_TOO_LARGE"),
        ("limit_limit_gtc", {"base_size": "1"}, "PREVIEW_INVALID_ORDER_CONFIG"),
        ("limit_limit_gtd", {"base_size": "1", "limit_price": "90"}, "PREVIEW_GTD_ORDERS_MUST_HAVE_END_TIME"),
        (
            "stop_limit_stop_limit_gtc",
            {"base_size": "1", "limit_price": "90", "stop_direction": "STOP_DIRECTION_STOP_DOWN"},
            "PREVIEW_INVALID_STOP_PRICE",
        ),
        (
            "stop_limit_stop_limit_gtc",
            {"base_size": "1", "limit_price": "103", "stop_price": "99", "stop_direction": "STOP_DIRECTION_STOP_UP"},
            "PREVIEW_STOP_PRICE_BELOW_LAST_TRADE_PRICE",
        ),
    ],
)
def test_more_rule_violations_are_rejections(engine: Engine, key: str, config: dict[str, str], preview: str) -> None:
    with pytest.raises(Rejection) as caught:
        place(engine, key, **config)
    assert caught.value.preview_reason == preview


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"base_size": "1", "limit_price": "90", "end_time": "tomorrow"}, "RFC3339"),
        ({"base_size": "1", "limit_price": "90", "end_time": "2030-01-01T00:00:00"}, "time zone"),
        ({"base_size": "1", "limit_price": "90", "end_time": "2030-01-01T00:00:00Z", "post_only": "yes"}, "boolean"),
        ({"base_size": "NaN", "limit_price": "90", "end_time": "2030-01-01T00:00:00Z"}, "not a decimal"),
    ],
)
def test_malformed_gtd_fields_are_bad_requests(engine: Engine, config: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        place(engine, "limit_limit_gtd", **config)


def test_a_bad_stop_direction_is_a_bad_request(engine: Engine) -> None:
    with pytest.raises(BadRequest, match="StopDirection"):
        place(
            engine, "stop_limit_stop_limit_gtc", base_size="1", limit_price="90", stop_price="95", stop_direction="UP"
        )


def test_a_missing_product_id_is_a_bad_request(engine: Engine) -> None:
    body = order_body("market_market_ioc", base_size="1")
    del body["product_id"]
    with pytest.raises(BadRequest, match="product_id"):
        engine.create(ME, body, now=NOW)


@pytest.mark.parametrize(
    ("flag", "value", "error"),
    [("trading_disabled", True, "ORDER_ENTRY_DISABLED"), ("limit_only", True, "ORDER_ENTRY_DISABLED")],
)
def test_disabled_products_refuse_orders(engine: Engine, flag: str, value: bool, error: str) -> None:
    from dataclasses import replace

    engine.products["BTC-USD"] = replace(engine.products["BTC-USD"], **{flag: value})
    with pytest.raises(Rejection, match=error):
        place(engine, "market_market_ioc", base_size="0.1")
