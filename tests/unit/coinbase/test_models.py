"""Wire models: documented bodies parse to Decimal, unknown fields are kept, requests send only documented fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from cryptoj.coinbase import models
from cryptoj.coinbase.errors import InvalidArgumentError
from cryptoj.coinbase.models import (
    Account,
    BatchCancelRequest,
    BatchCancelResponse,
    CandlesResponse,
    ClosePositionRequest,
    CreateOrderRequest,
    CreateOrderResponse,
    EditOrderRequest,
    GetAccountResponse,
    GetOrderResponse,
    Granularity,
    LimitConfig,
    ListAccountsResponse,
    ListFillsResponse,
    ListOrdersResponse,
    ListProductsResponse,
    MarketConfig,
    MarketTradesResponse,
    Order,
    OrderConfiguration,
    PreviewOrderRequest,
    Product,
    TransactionSummary,
    WireTime,
)
from cryptoj.errors import CryptojError

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "coinbase" / "examples"
CAPTURED = Path(__file__).resolve().parents[2] / "data" / "coinbase" / "captured"


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def _no_placeholders(value: Any, key: str = "") -> Any:
    # Doc examples hold "<string>" where a decimal or time goes; blank them (Coinbase's "unset").
    if isinstance(value, dict):
        return {name: _no_placeholders(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_no_placeholders(item, key) for item in value]
    return "" if value == "<string>" else value


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("list_accounts.json", ListAccountsResponse),
        ("get_account.json", GetAccountResponse),
        ("get_candles.json", CandlesResponse),
        ("get_market_trades.json", MarketTradesResponse),
        ("create_order_success.json", CreateOrderResponse),
        ("create_order_failure.json", CreateOrderResponse),
        ("create_order_docs_example.json", CreateOrderResponse),
        ("cancel_orders.json", BatchCancelResponse),
        ("get_order.json", GetOrderResponse),
        ("list_orders.json", ListOrdersResponse),
        ("list_fills.json", ListFillsResponse),
        ("get_product.json", Product),
    ],
)
def test_every_documented_body_parses(name: str, model: type[BaseModel]) -> None:
    parsed = model.model_validate(_no_placeholders(_example(name)))
    assert parsed.model_dump()


def test_real_captured_product_keeps_money_as_decimal() -> None:
    body = json.loads((CAPTURED / "market_product_btc_usd.json").read_text())["response"]["body_text"]
    product = Product.model_validate_json(body)
    assert isinstance(product.price, Decimal)
    assert product.quote_increment == Decimal("0.01")


def test_datetimes_take_nine_fractional_digits() -> None:
    account = Account.model_validate(
        {**_example("get_account.json")["account"], "created_at": "2023-02-09T20:32:50.714964855Z"}
    )
    assert account.created_at is not None
    assert account.created_at.text == "2023-02-09T20:32:50.714964855Z"
    assert (account.created_at.microsecond, account.created_at.nanosecond) == (714964, 855)
    assert account.created_at > WireTime.parse("2023-02-09T20:32:50.714964854Z")


def test_zero_time_and_empty_strings_read_as_unset() -> None:
    order = Order.model_validate(
        {"order_id": "o", "product_id": "BTC-USD", "status": "OPEN", "last_fill_time": "0001-01-01T00:00:00Z",
         "average_filled_price": "", "fee": ""}
    )  # fmt: skip
    assert order.last_fill_time is None
    assert order.average_filled_price is None
    assert order.fee is None


def test_fact_16_unknown_fields_on_orders_and_accounts_are_kept() -> None:
    grown = {
        "order_id": "o1", "product_id": "BTC-USD", "status": "FILLED", "platform": "PLATFORM_CONSUMER",
        "prediction_side": "", "equity_trading_session": "", "cost_basis_method": "FIFO",
        "displayed_order_config": {"x": 1}, "workable_size": "0", "edit_history": [],
    }  # fmt: skip
    order = Order.model_validate(grown)
    assert order.model_extra is not None
    assert order.model_extra["cost_basis_method"] == "FIFO"
    assert order.model_extra["displayed_order_config"] == {"x": 1}
    account = Account.model_validate({**_example("get_account.json")["account"], "margin_type": "CROSS"})
    assert account.model_extra == {"margin_type": "CROSS"}


def test_fact_02_client_id_absent_or_present_never_required() -> None:
    body = _no_placeholders(_example("list_orders.json"))
    with_client_id = {**body, "client_id": ""}
    assert ListOrdersResponse.model_validate(body).orders
    assert ListOrdersResponse.model_validate(with_client_id).model_extra == {"client_id": ""}


def test_missing_required_field_is_named() -> None:
    body = _example("get_account.json")
    del body["account"]["uuid"]
    with pytest.raises(ValidationError, match=r"account\.uuid"):
        GetAccountResponse.model_validate(body)


def test_placeholder_text_in_a_decimal_is_refused() -> None:
    with pytest.raises(ValidationError, match="decimal"):
        MarketTradesResponse.model_validate({"trades": [], "best_bid": "<string>"})


def test_json_numbers_become_exact_decimals_not_binary_floats() -> None:
    summary = TransactionSummary.model_validate_json('{"total_fees": 0.1, "total_volume": 1e3, "fee_tier": {}}')
    assert summary.total_fees == Decimal("0.1")
    assert summary.total_volume == Decimal("1000.0")


def test_fact_12_unknown_order_configuration_in_an_answer_is_kept() -> None:
    config = OrderConfiguration.model_validate({"scaled_limit_gtc": {"num_orders": 3}})
    assert config.kind() == "scaled_limit_gtc"
    assert OrderConfiguration().kind() == ""


def _request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_order_id": "c-1",
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": {"market_market_ioc": {"quote_size": "10"}},
    }
    body.update(overrides)
    return body


def test_fact_13_request_sends_only_set_documented_fields_with_string_amounts() -> None:
    wire = CreateOrderRequest.model_validate(_request()).to_wire()
    assert wire == {
        "client_order_id": "c-1",
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": {"market_market_ioc": {"quote_size": "10"}},
    }


def test_fact_13_unknown_request_field_is_refused_before_sending() -> None:
    with pytest.raises(InvalidArgumentError, match="max_floor"):
        CreateOrderRequest.model_validate(_request(max_floor="1"))


def test_fact_13_unknown_field_inside_a_configuration_is_refused() -> None:
    config = {"limit_limit_gtc": {"base_size": "1", "limit_price": "2", "max_floor": "1"}}
    with pytest.raises(InvalidArgumentError, match="max_floor"):
        CreateOrderRequest.model_validate(_request(order_configuration=config))


def test_fact_13_unknown_order_type_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown order configuration"):
        PreviewOrderRequest.model_validate(
            {"product_id": "BTC-USD", "side": "BUY", "order_configuration": {"iceberg": {"base_size": "1"}}}
        )


def test_fact_13_bad_side_is_refused_before_sending() -> None:
    with pytest.raises(InvalidArgumentError, match="side"):
        CreateOrderRequest.model_validate(_request(side="buy"))


def test_order_configuration_needs_exactly_one_type() -> None:
    two = OrderConfiguration(
        market_market_ioc=MarketConfig(quote_size=Decimal("1")),
        limit_limit_gtc=LimitConfig(base_size=Decimal("1"), limit_price=Decimal("1")),
    )
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        CreateOrderRequest(client_order_id="c", product_id="BTC-USD", side="BUY", order_configuration=two)
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        CreateOrderRequest(
            client_order_id="c", product_id="BTC-USD", side="BUY", order_configuration=OrderConfiguration()
        )


def test_an_order_cannot_be_built_without_a_client_order_id() -> None:
    with pytest.raises(InvalidArgumentError, match="client_order_id"):
        CreateOrderRequest.model_validate(_request(client_order_id=""))
    with pytest.raises(InvalidArgumentError, match="blank"):
        CreateOrderRequest.model_validate(_request(client_order_id="   "))


def test_bad_input_building_a_request_is_a_typed_error_naming_the_field_not_its_value() -> None:
    secret_looking = "organizations/o/apiKeys/k"
    with pytest.raises(InvalidArgumentError, match=r"CreateOrderRequest: side:") as caught:
        CreateOrderRequest(
            client_order_id="c", product_id="BTC-USD", side=secret_looking, order_configuration=OrderConfiguration()
        )
    assert isinstance(caught.value, CryptojError)
    assert isinstance(caught.value.__cause__, ValidationError)
    assert secret_looking not in str(caught.value)
    with pytest.raises(InvalidArgumentError, match="side") as parsed:
        CreateOrderRequest.model_validate(_request(side=secret_looking))
    assert secret_looking not in str(parsed.value)
    with pytest.raises(InvalidArgumentError, match="client_order_id"):
        CreateOrderRequest.model_validate_json(json.dumps(_request(client_order_id="")))
    with pytest.raises(InvalidArgumentError, match="order_ids"):
        BatchCancelRequest(order_ids=[])


def test_bad_input_building_an_order_configuration_is_a_typed_error() -> None:
    with pytest.raises(InvalidArgumentError, match=r"LimitConfig: base_size: .*decimal"):
        LimitConfig(base_size="one", limit_price=Decimal("1"))  # type: ignore[arg-type]


def test_a_misfit_inside_a_parsed_answer_keeps_its_full_location() -> None:
    # Parsing is not "building in code": nested models keep pydantic's path to the bad field.
    body = _no_placeholders(_example("list_orders.json"))
    body["orders"][0]["order_configuration"] = {"limit_limit_gtc": {"base_size": "one"}}
    with pytest.raises(ValidationError, match=r"orders\.0\.order_configuration\.limit_limit_gtc\.base_size"):
        ListOrdersResponse.model_validate(body)


def test_decimal_amounts_are_sent_without_exponent() -> None:
    config = OrderConfiguration(limit_limit_gtc=LimitConfig(base_size=Decimal("1E-8"), limit_price=Decimal("1E+5")))
    wire = CreateOrderRequest(
        client_order_id="c", product_id="BTC-USD", side="SELL", order_configuration=config
    ).to_wire()
    assert wire["order_configuration"]["limit_limit_gtc"] == {"base_size": "0.00000001", "limit_price": "100000"}


def test_gtd_end_time_is_sent_as_rfc3339() -> None:
    end = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    config = OrderConfiguration(
        limit_limit_gtd=LimitConfig(base_size=Decimal("1"), limit_price=Decimal("2"), end_time=end)
    )
    wire = CreateOrderRequest(
        client_order_id="c", product_id="BTC-USD", side="BUY", order_configuration=config
    ).to_wire()
    assert wire["order_configuration"]["limit_limit_gtd"]["end_time"] == "2026-01-01T12:00:00Z"


def test_edit_needs_a_new_price_or_size() -> None:
    with pytest.raises(InvalidArgumentError, match="new price or a new size"):
        EditOrderRequest(order_id="o")
    assert EditOrderRequest(order_id="o", size=Decimal("2")).to_wire() == {"order_id": "o", "size": "2"}


def test_granularity_widths() -> None:
    assert Granularity.ONE_MINUTE.seconds == 60
    assert Granularity.FOUR_HOUR.seconds == 14400
    assert Granularity.ONE_DAY.seconds == 86400


def test_models_are_frozen() -> None:
    account = Account.model_validate(_example("get_account.json")["account"])
    with pytest.raises(ValidationError):
        account.uuid = "x"  # type: ignore[misc]


def test_public_names_are_exported() -> None:
    for name in models.__all__:
        assert hasattr(models, name)
    assert "CreateOrderRequest" in models.__all__


def test_a_close_position_needs_a_real_client_order_id_like_an_order() -> None:
    with pytest.raises(InvalidArgumentError, match="blank"):
        ClosePositionRequest(client_order_id="   ", product_id="BTC-USD")
    with pytest.raises(InvalidArgumentError, match="client_order_id"):
        ClosePositionRequest(client_order_id="x" * 129, product_id="BTC-USD")
    assert ClosePositionRequest(client_order_id="c-1", product_id="BTC-USD").to_wire() == {
        "client_order_id": "c-1",
        "product_id": "BTC-USD",
    }


EXACT = "12345678.123456789012"  # 20 significant digits: a binary float keeps about 17


def test_json_numbers_in_declared_fields_parse_exactly() -> None:
    summary = TransactionSummary.model_validate_json(f'{{"total_volume": {EXACT}, "fee_tier": {{}}}}')
    assert summary.total_volume == Decimal(EXACT)
    assert str(summary.total_volume) == EXACT


def test_json_numbers_in_kept_unknown_fields_parse_exactly() -> None:
    body = f'{{"fee_tier": {{}}, "margin_rate": {{"value": {EXACT}}}, "volume_breakdown": [{{"volume": {EXACT}}}]}}'
    summary = TransactionSummary.model_validate_json(body)
    extra = summary.model_extra or {}
    assert extra["margin_rate"]["value"] == Decimal(EXACT)
    assert isinstance(extra["margin_rate"]["value"], Decimal)
    assert extra["volume_breakdown"][0]["volume"] == Decimal(EXACT)


def test_json_integers_stay_integers_and_bad_json_is_a_validation_error() -> None:
    products = ListProductsResponse.model_validate_json('{"products": [], "num_products": 0, "size": 12}')
    assert products.num_products == 0
    assert products.model_extra == {"size": 12}
    with pytest.raises(ValidationError, match="Invalid JSON"):
        ListProductsResponse.model_validate_json(b'{"products": [')


def _sandbox_order_2026(**changes: Any) -> dict[str, Any]:
    """An order in the shape Coinbase's own sandbox returned in 2026 (real-traffic fact 24)."""
    order: dict[str, Any] = {
        "order_id": "o-1", "product_id": "BTC-USD", "status": "OPEN", "side": "BUY",
        "completion_percentage": "100.00", "commission_detail_total": None, "last_update_time": None,
        "workable_size": "", "workable_size_completion_pct": "", "cost_basis_method": "COST_BASIS_METHOD_UNSPECIFIED",
        "equity_trading_session": "UNKNOWN_EQUITY_TRADING_SESSION", "prediction_side": "PREDICTION_SIDE_UNKNOWN",
        "attached_order_configuration": {
            "trigger_bracket_gtc": {"limit_price": "70000.12", "stop_trigger_price": "60000.34"}
        },
    }  # fmt: skip
    order.update(changes)
    return order


def test_edit_history_null_does_not_fail_the_orders_page() -> None:
    page = ListOrdersResponse.model_validate({"orders": [_sandbox_order_2026(edit_history=None)], "has_next": False})
    assert page.orders[0].edit_history == []


def test_fact_24_bracket_attachment_prices_are_typed_decimals() -> None:
    order = Order.model_validate(_sandbox_order_2026())
    attached = order.attached_order_configuration
    assert attached is not None
    assert attached.kind() == "trigger_bracket_gtc"
    bracket = attached.trigger_bracket_gtc
    assert bracket is not None
    assert bracket.limit_price == Decimal("70000.12")  # take profit
    assert bracket.stop_trigger_price == Decimal("60000.34")  # stop loss
    assert order.completion_percentage == Decimal("100.00")
    assert (order.model_extra or {})["commission_detail_total"] is None


def test_a_docs_attachment_with_a_json_number_size_is_exact() -> None:
    order = GetOrderResponse.model_validate_json(
        (EXAMPLES / "get_order.json").read_bytes().replace(b'"<string>"', b'""')
    )
    attached = order.order.attached_order_configuration
    assert attached is not None
    assert attached.trigger_bracket_gtc is not None
    assert attached.trigger_bracket_gtc.base_size == Decimal("0.001")


PORTFOLIO = {"name": "Default", "uuid": "p-1"}


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (ListOrdersResponse, {"orders": None}),
        (ListFillsResponse, {"fills": None, "cursor": ""}),
        (ListAccountsResponse, {"accounts": None, "has_next": False}),
        (BatchCancelResponse, {"results": None}),
        (CandlesResponse, {"candles": None}),
        (MarketTradesResponse, {"trades": None}),
        (models.BestBidAskResponse, {"pricebooks": None}),
        (models.ListProductsResponse, {"products": None, "pagination": None}),
        (models.ListPortfoliosResponse, {"portfolios": None}),
        (models.PreviewOrderResponse, {"errs": None, "warning": None}),
        (models.EditOrderResponse, {"success": True, "errors": None}),
        (models.EditOrderPreviewResponse, {"errors": None}),
        (models.ProductBookResponse, {"pricebook": {"product_id": "BTC-USD", "bids": None, "asks": None}}),
        (
            models.PortfolioBreakdownResponse,
            {"breakdown": {"portfolio": {"name": "n", "uuid": "u"}, "spot_positions": None}},
        ),
    ],
)
def test_a_null_list_reads_as_empty(model: type[BaseModel], body: dict[str, Any]) -> None:
    parsed = model.model_validate(body)
    assert parsed.model_dump()
