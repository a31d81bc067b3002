"""The real client against recorded Coinbase exchanges (cassettes/), replayed through pytest-recording.

Requests must match a cassette on method, host, path, query and JSON body, so these tests also pin the
request shapes. Public market cassettes hold real responses; the rest are built from documented bodies.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
import yaml

from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.errors import (
    AccountUnavailableError,
    AuthenticationError,
    CertificateError,
    EditRejectedError,
    InvalidRequestError,
    NotFoundError,
    OrderRejectedError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnknownOutcomeError,
)
from cryptoj.coinbase.models import (
    ClosePositionRequest,
    CreateOrderRequest,
    EditOrderRequest,
    Granularity,
    LimitConfig,
    OrderConfiguration,
    PreviewOrderRequest,
)
from cryptoj.domain.orders import OrderType, TimeInForce
from cryptoj.sandbox.faults import FaultConfig
from cryptoj.services.exchange import ExchangeService
from cryptoj.services.mapping import MappingError, intent_from_wire, status_from_wire
from tests.unit.coinbase.conftest import server_time
from tests.utils.fixtures.coinbase import CASSETTE_DIR, FakeTime, make_ec_key
from tests.utils.fixtures.recording import cassette_path, recorded_base_url, recording_client_for
from tests.utils.fixtures.sandbox import SandboxHandle

F = TypeVar("F", bound=Callable[..., Any])

pytestmark = pytest.mark.api


def cassette(name: str) -> Callable[[F], F]:
    """Replay `cassettes/<name>` (and record to it under --record-mode=once)."""

    def mark(test: F) -> F:
        marked: F = pytest.mark.vcr(pytest.mark.default_cassette(name)(test))
        return marked

    return mark


@pytest.fixture
async def client(
    request: pytest.FixtureRequest, ec_key: CdpKey, fake_time: FakeTime
) -> AsyncIterator[CoinbaseAdvancedClient]:
    """Replay: the cassette's own host, a throwaway key, a fake clock. Recording: the user's settings, guarded.

    The user's key and `rest_url` are read only when this test's cassette is really being recorded
    (docs/recording.md); an order write to api.coinbase.com is then refused unless --record-real-orders.
    """
    recorder = recording_client_for(request, fallback_key=ec_key)
    if recorder is not None:
        async with recorder as client:
            yield client
        return
    base_url = recorded_base_url(cassette_path(request.node))
    async with CoinbaseAdvancedClient(
        base_url=base_url, key=ec_key, max_retries=0, **fake_time.client_kwargs()
    ) as client:
        yield client


@pytest.fixture
async def public_client(fake_time: FakeTime) -> AsyncIterator[CoinbaseAdvancedClient]:
    async with CoinbaseAdvancedClient(max_retries=0, **fake_time.client_kwargs()) as client:
        yield client


def _limit_gtc() -> OrderConfiguration:
    return OrderConfiguration(
        limit_limit_gtc=LimitConfig(base_size=Decimal("0.001"), limit_price=Decimal("10000.00"), post_only=False)
    )


def _create(client_order_id: str = "0000-00000-000000") -> CreateOrderRequest:
    return CreateOrderRequest(
        client_order_id=client_order_id, product_id="BTC-USD", side="BUY", order_configuration=_limit_gtc()
    )


# Public market endpoints (real recorded responses) ---------------------------------------------------


@cassette("public_get_product.yaml")
async def test_public_product_parses_a_real_response_without_a_key(public_client: CoinbaseAdvancedClient) -> None:
    product = await public_client.get_public_product("BTC-USD")
    assert product.product_id == "BTC-USD"
    assert isinstance(product.price, Decimal)
    assert product.base_increment == Decimal("0.00000001")


@cassette("public_product_book.yaml")
async def test_public_product_book_is_decimal_and_ordered(public_client: CoinbaseAdvancedClient) -> None:
    book = await public_client.get_public_product_book("BTC-USD", limit=5)
    bids, asks = book.pricebook.bids, book.pricebook.asks
    assert len(bids) == 5
    assert all(isinstance(level.price, Decimal) for level in bids + asks)
    assert bids[0].price > bids[-1].price
    assert asks[0].price < asks[-1].price
    assert bids[0].price < asks[0].price


@cassette("public_candles.yaml")
async def test_public_candles_real_response_newest_first(public_client: CoinbaseAdvancedClient) -> None:
    start = datetime.fromtimestamp(1771651345, UTC)
    end = datetime.fromtimestamp(1771737745, UTC)
    response = await public_client.get_public_candles("BTC-USD", start=start, end=end, granularity=Granularity.ONE_HOUR)
    starts = [candle.start for candle in response.candles]
    assert len(starts) == 24
    assert starts == sorted(starts, reverse=True)
    assert all(candle.low <= candle.high for candle in response.candles)


@cassette("public_list_products.yaml")
async def test_public_products_real_list_parses_every_product(public_client: CoinbaseAdvancedClient) -> None:
    response = await public_client.list_public_products(get_all_products=False)
    assert len(response.products) > 500
    assert response.num_products == len(response.products)
    btc = next(product for product in response.products if product.product_id == "BTC-USD")
    assert btc.quote_increment == Decimal("0.01")


# Built cassettes (cassettes/README.md): their values are illustrative, so these tests check the mapping
# from the cassette's own body (exact decimals read from its text) to the typed fields, and the shapes.


def _exchanges(name: str, path: str) -> list[dict[str, Any]]:
    interactions: list[dict[str, Any]] = yaml.safe_load(_cassette_text(name))["interactions"]
    return [item for item in interactions if urlsplit(item["request"]["uri"]).path.endswith(path)]


def _body(name: str, path: str, index: int = 0) -> Any:
    """The JSON body a cassette answers `path` with (its `index`-th time), numbers as exact Decimals."""
    return json.loads(_exchanges(name, path)[index]["response"]["body"]["string"], parse_float=Decimal)


def _header(name: str, path: str, header: str) -> list[str]:
    headers: dict[str, list[str]] = _exchanges(name, path)[0]["response"]["headers"]
    return next(values for key, values in headers.items() if key.lower() == header)


def _money(text: str) -> Decimal:
    return Decimal(text)


@cassette("public_server_time.yaml")
async def test_server_time_reads_int64_strings(public_client: CoinbaseAdvancedClient) -> None:
    now = await public_client.get_server_time()
    body = _body("public_server_time.yaml", "/time")
    assert now.epoch_seconds == int(body["epochSeconds"])
    assert now.epoch_millis == int(body["epochMillis"])
    assert now.iso is not None
    assert now.iso.text == body["iso"]


# Accounts, products ------------------------------------------------------------------------------


@cassette("accounts_list.yaml")
async def test_iter_accounts_follows_the_cursor_until_has_next_is_false(client: CoinbaseAdvancedClient) -> None:
    accounts = [account async for account in client.iter_accounts()]
    pages = [_body("accounts_list.yaml", "/accounts", index) for index in (0, 1)]
    assert [account.uuid for account in accounts] == [item["uuid"] for page in pages for item in page["accounts"]]
    wire = pages[0]["accounts"][0]
    assert accounts[0].available_balance.value == _money(wire["available_balance"]["value"])
    assert accounts[0].created_at is not None
    assert accounts[0].created_at.text == wire["created_at"]


@cassette("accounts_get.yaml")
async def test_get_account_returns_the_wrapped_account(client: CoinbaseAdvancedClient) -> None:
    account = await client.get_account("8bfc20d7-f7c6-4422-bf07-8243ca4169fe")
    wire = _body("accounts_get.yaml", "/accounts/8bfc20d7-f7c6-4422-bf07-8243ca4169fe")["account"]
    assert (account.uuid, account.currency) == (wire["uuid"], wire["currency"])
    assert account.hold is not None
    assert account.hold.value == _money(wire["hold"]["value"])


@cassette("products_list.yaml")
async def test_list_products_sends_documented_query(client: CoinbaseAdvancedClient) -> None:
    response = await client.list_products(limit=1, product_type="SPOT")
    wire = _body("products_list.yaml", "/products")
    assert [product.product_id for product in response.products] == [item["product_id"] for item in wire["products"]]
    assert response.pagination is not None
    assert response.pagination.has_next is wire["pagination"]["has_next"]


@cassette("products_get.yaml")
async def test_get_product(client: CoinbaseAdvancedClient) -> None:
    product = await client.get_product("BTC-USD")
    wire = _body("products_get.yaml", "/products/BTC-USD")
    assert product.base_min_size == _money(wire["base_min_size"])
    assert product.quote_increment == _money(wire["quote_increment"])


@cassette("products_book.yaml")
async def test_get_product_book(client: CoinbaseAdvancedClient) -> None:
    book = await client.get_product_book("BTC-USD", limit=1)
    wire = _body("products_book.yaml", "/product_book")["pricebook"]
    assert [(level.price, level.size) for level in book.pricebook.bids] == [
        (_money(level["price"]), _money(level["size"])) for level in wire["bids"]
    ]


@cassette("products_best_bid_ask.yaml")
async def test_best_bid_ask_repeats_product_ids(client: CoinbaseAdvancedClient) -> None:
    response = await client.get_best_bid_ask(["BTC-USD", "ETH-USD"])
    wire = _body("products_best_bid_ask.yaml", "/best_bid_ask")
    assert [book.product_id for book in response.pricebooks] == [item["product_id"] for item in wire["pricebooks"]]


@cassette("products_candles.yaml")
async def test_candles_send_unix_second_strings(client: CoinbaseAdvancedClient) -> None:
    response = await client.get_candles(
        "BTC-USD",
        start=datetime.fromtimestamp(1639508000, UTC),
        end=datetime.fromtimestamp(1639508300, UTC),
        granularity=Granularity.FIVE_MINUTE,
    )
    wire = _body("products_candles.yaml", "/candles")["candles"][0]
    assert response.candles[0].start == int(wire["start"])
    assert response.candles[0].volume == _money(wire["volume"])


@cassette("products_market_trades.yaml")
async def test_market_trades(client: CoinbaseAdvancedClient) -> None:
    response = await client.get_market_trades("BTC-USD", limit=1)
    wire = _body("products_market_trades.yaml", "/ticker")
    assert response.trades[0].price == _money(wire["trades"][0]["price"])
    assert response.best_ask == _money(wire["best_ask"])


# Orders -----------------------------------------------------------------------------------------


@cassette("orders_create_success.yaml")
async def test_create_order_success_carries_unknown_failure_reason_and_succeeds(
    client: CoinbaseAdvancedClient,
) -> None:
    response = await client.create_order(_create())
    wire = _body("orders_create_success.yaml", "/orders")
    assert response.success_response is not None
    assert response.success_response.order_id == wire["success_response"]["order_id"]
    assert response.failure_reason == "UNKNOWN_FAILURE_REASON"  # on successes too (real-traffic fact 12)


@cassette("orders_create_insufficient_fund.yaml")
async def test_fact_12_rejection_cause_comes_from_error_response(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(OrderRejectedError) as caught:
        await client.create_order(_create())
    error, wire = caught.value, _body("orders_create_insufficient_fund.yaml", "/orders")
    assert wire["failure_reason"] == "UNKNOWN_FAILURE_REASON"  # the shape under test: the cause is elsewhere
    assert error.failure_reason == wire["error_response"]["error"]
    assert error.preview_failure_reason == wire["error_response"]["preview_failure_reason"]
    assert error.client_order_id == "0000-00000-000000"
    assert error.trace_id == _header("orders_create_insufficient_fund.yaml", "/orders", "trace-id")[0]


@cassette("orders_create_sor_limit_ioc.yaml")
async def test_fact_12_limit_ioc_is_sent_and_echoed_as_sor_limit_ioc(client: CoinbaseAdvancedClient) -> None:
    request = CreateOrderRequest(
        client_order_id="ioc-0001",
        product_id="BTC-USD",
        side="BUY",
        order_configuration=OrderConfiguration(
            sor_limit_ioc=LimitConfig(base_size=Decimal("0.001"), limit_price=Decimal("10000.00"))
        ),
    )
    response = await client.create_order(request)
    assert response.order_configuration is not None
    assert response.order_configuration.kind() == "sor_limit_ioc"


@cassette("orders_create_unknown_field.yaml")
async def test_fact_13_unknown_field_answer_is_an_invalid_request(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(InvalidRequestError, match="unknown field") as caught:
        await client.create_order(_create())
    assert caught.value.code == "unknown"  # not INVALID_ARGUMENT (real-traffic fact 22)


@cassette("orders_batch_cancel.yaml")
async def test_fact_15_batch_cancel_reports_per_id_failures(client: CoinbaseAdvancedClient) -> None:
    response = await client.cancel_orders(["0000-00000", "bad-id"])
    wire = _body("orders_batch_cancel.yaml", "/batch_cancel")["results"]
    assert [(result.success, result.failure_reason) for result in response.results] == [
        (item["success"], item["failure_reason"]) for item in wire
    ]
    assert response.results[-1].success is False


@cassette("orders_get.yaml")
async def test_get_order_fills_documented_fields(client: CoinbaseAdvancedClient) -> None:
    order = await client.get_order("0000-000000-000000")
    wire = _body("orders_get.yaml", "/orders/historical/0000-000000-000000")["order"]
    assert order.filled_size == _money(wire["filled_size"])
    assert order.edit_history[0].price == _money(wire["edit_history"][0]["price"])
    assert order.order_configuration is not None
    assert order.order_configuration.kind() == "limit_limit_gtc"
    assert order.attached_order_configuration is not None
    bracket = order.attached_order_configuration.trigger_bracket_gtc
    assert bracket is not None
    assert bracket.stop_trigger_price == _money(
        wire["attached_order_configuration"]["trigger_bracket_gtc"]["stop_trigger_price"]
    )


@cassette("orders_list.yaml")
async def test_iter_orders_follows_cursor(client: CoinbaseAdvancedClient) -> None:
    orders = [order async for order in client.iter_orders(product_ids=["BTC-USD"], order_status=["FILLED"])]
    pages = [_body("orders_list.yaml", "/orders/historical/batch", index) for index in (0, 1)]
    assert [order.order_id for order in orders] == [item["order_id"] for page in pages for item in page["orders"]]


@cassette("orders_fills.yaml")
async def test_iter_fills_stops_on_empty_cursor(client: CoinbaseAdvancedClient) -> None:
    fills = [fill async for fill in client.iter_fills(product_ids=["BTC-USD"])]
    pages = [_body("orders_fills.yaml", "/orders/historical/fills", index) for index in (0, 1)]
    assert [fill.entry_id for fill in fills] == [item["entry_id"] for page in pages for item in page["fills"]]
    wire = pages[0]["fills"][0]
    assert fills[0].commission == _money(wire["commission"])
    assert fills[0].trade_time.text == wire["trade_time"]


@cassette("orders_preview.yaml")
async def test_preview_order(client: CoinbaseAdvancedClient) -> None:
    request = PreviewOrderRequest(product_id="BTC-USD", side="BUY", order_configuration=_limit_gtc())
    response = await client.preview_order(request)
    wire = _body("orders_preview.yaml", "/orders/preview")
    for name in ("order_total", "commission_total", "quote_size", "base_size", "best_bid", "best_ask"):
        assert getattr(response, name) == _money(wire[name]), name
    assert response.errs == wire["errs"]
    assert response.preview_id == wire["preview_id"]


@cassette("orders_edit.yaml")
async def test_edit_order(client: CoinbaseAdvancedClient) -> None:
    request = EditOrderRequest(order_id="0000-000000-000000", price=Decimal("10001.00"), size=Decimal("0.001"))
    assert (await client.edit_order(request)).success


@cassette("orders_edit_not_found.yaml")
async def test_edit_rejection_is_typed(client: CoinbaseAdvancedClient) -> None:
    request = EditOrderRequest(order_id="0000-000000-000000", price=Decimal("10001.00"), size=Decimal("0.001"))
    with pytest.raises(EditRejectedError) as caught:
        await client.edit_order(request)
    wire = _body("orders_edit_not_found.yaml", "/orders/edit")["errors"][0]
    assert caught.value.edit_failure_reason == wire["edit_failure_reason"]
    assert caught.value.order_id == "0000-000000-000000"


@cassette("orders_edit_preview.yaml")
async def test_edit_preview(client: CoinbaseAdvancedClient) -> None:
    request = EditOrderRequest(order_id="0000-000000-000000", price=Decimal("10001.00"), size=Decimal("0.001"))
    response = await client.preview_edit_order(request)
    wire = _body("orders_edit_preview.yaml", "/orders/edit_preview")
    assert response.average_filled_price == _money(wire["average_filled_price"])
    assert response.commission_total == _money(wire["commission_total"])


@cassette("orders_close_position.yaml")
async def test_close_position(client: CoinbaseAdvancedClient) -> None:
    request = ClosePositionRequest(client_order_id="close-0001", product_id="BTC-USD", size=Decimal("0.001"))
    response = await client.close_position(request)
    wire = _body("orders_close_position.yaml", "/orders/close_position")["success_response"]
    assert response.success_response is not None
    assert (response.success_response.order_id, response.success_response.side) == (wire["order_id"], wire["side"])


# Portfolios, fees, permissions ---------------------------------------------------------------------


@cassette("portfolios_list.yaml")
async def test_list_portfolios(client: CoinbaseAdvancedClient) -> None:
    response = await client.list_portfolios()
    wire = _body("portfolios_list.yaml", "/portfolios")["portfolios"]
    assert [(item.uuid, item.type) for item in response.portfolios] == [(item["uuid"], item["type"]) for item in wire]


@cassette("portfolios_breakdown.yaml")
async def test_portfolio_breakdown_reads_json_numbers_as_exact_decimals(client: CoinbaseAdvancedClient) -> None:
    response = await client.get_portfolio_breakdown("9f2cb3d2-4f2a-4c1e-8f43-2b1f0e0d5a11", currency="USD")
    position = response.breakdown.spot_positions[0]
    wire = _body("portfolios_breakdown.yaml", "/portfolios/9f2cb3d2-4f2a-4c1e-8f43-2b1f0e0d5a11")
    wire_position = wire["breakdown"]["spot_positions"][0]
    assert isinstance(wire_position["total_balance_fiat"], Decimal)  # a JSON number on the wire
    assert position.total_balance_fiat == wire_position["total_balance_fiat"]
    assert position.total_balance_crypto == wire_position["total_balance_crypto"]
    # A kept unknown field, its number past a float's digits: exact too.
    extra = position.model_extra or {}
    assert str(extra["unrealized_pnl"]) == str(wire_position["unrealized_pnl"]) == "12345678.123456789012"


@cassette("fees_transaction_summary.yaml")
async def test_transaction_summary(client: CoinbaseAdvancedClient) -> None:
    summary = await client.get_transaction_summary(product_type="SPOT")
    wire = _body("fees_transaction_summary.yaml", "/transaction_summary")
    assert summary.fee_tier.taker_fee_rate == _money(wire["fee_tier"]["taker_fee_rate"])
    assert summary.total_fees == wire["total_fees"]  # a JSON number on the wire
    assert wire["fee_tier"]["aop_from"] == ""
    assert summary.fee_tier.aop_from is None  # Coinbase's "unset"


@cassette("key_permissions.yaml")
async def test_key_permissions(client: CoinbaseAdvancedClient) -> None:
    permissions = await client.get_key_permissions()
    wire = _body("key_permissions.yaml", "/key_permissions")
    assert (permissions.can_view, permissions.can_trade, permissions.can_transfer) == (
        wire["can_view"], wire["can_trade"], wire["can_transfer"]
    )  # fmt: skip


# Errors in the shapes real traffic shows (the quoted messages are real; trace-ids and Retry-After are not) ----


async def _first_account(client: CoinbaseAdvancedClient) -> None:
    await client.list_accounts(limit=250)


@cassette("error_401_plain_text.yaml")
async def test_fact_14_plain_text_401_is_an_authentication_error(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(AuthenticationError, match="Unauthorized") as caught:
        await _first_account(client)
    assert caught.value.status == 401
    # The replay's fake clock is years off the cassette's: the error says the clock was checked and corrected.
    assert caught.value.clock_offset is not None
    assert "signed with the corrected time, still refused" in str(caught.value)


@cassette("error_403_missing_scopes.yaml")
async def test_fact_17_missing_scopes_is_permission_denied(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(PermissionDeniedError, match="Missing required scopes") as caught:
        await _first_account(client)
    assert caught.value.code == "PERMISSION_DENIED"


@cassette("error_404_order.yaml")
async def test_fact_17_unknown_order_is_not_found(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(NotFoundError, match="order with this orderID was not found"):
        await client.get_order("no-such-order")


@cassette("error_404_unserved_path.yaml")
async def test_fact_14_plain_text_404_is_not_found(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(NotFoundError, match="404 page not found"):
        await client.get_product("BTC-USD")


ACCOUNT_UUID = "8bfc20d7-f7c6-4422-bf07-8243ca4169fe"


@cassette("error_400_account_not_available.yaml")
async def test_fact_17_account_not_available_is_a_typed_transient_error(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(AccountUnavailableError, match="account is not available") as caught:
        await client.get_account(ACCOUNT_UUID)  # this fixture's client makes no retries
    assert (caught.value.status, caught.value.code) == (400, "INVALID_ARGUMENT")


@cassette("error_400_account_not_available.yaml")
async def test_fact_28_account_not_available_passes_on_retry(ec_key: CdpKey, fake_time: FakeTime) -> None:
    async with CoinbaseAdvancedClient(key=ec_key, max_retries=2, **fake_time.client_kwargs()) as client:
        account = await client.get_account(ACCOUNT_UUID)
    assert account.uuid == ACCOUNT_UUID
    assert len(fake_time.sleeps) == 1  # one backoff, then the account answered


@cassette("error_400_too_many_candles.yaml")
async def test_too_many_candles_is_invalid_request(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(InvalidRequestError, match="less than 350"):
        await client.get_candles(
            "BTC-USD",
            start=datetime.fromtimestamp(1639000000, UTC),
            end=datetime.fromtimestamp(1639500000, UTC),
            granularity=Granularity.ONE_MINUTE,
        )


@cassette("error_429_html.yaml")
async def test_fact_14_html_429_is_rate_limited_with_retry_after(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(RateLimitedError, match="HTML page: 429 Too Many Requests") as caught:
        await _first_account(client)
    assert caught.value.retry_after == float(_header("error_429_html.yaml", "/accounts", "retry-after")[0])


@cassette("error_502_html.yaml")
async def test_fact_14_html_502_is_a_server_error(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(ServerError, match="502 Bad Gateway") as caught:
        await _first_account(client)
    assert caught.value.trace_id == _header("error_502_html.yaml", "/accounts", "trace-id")[0]


# Authentication flows: JWTs decoded and verified with the public key ---------------------------------


def _capture(fake_time: FakeTime) -> tuple[list[httpx.Request], httpx.MockTransport]:
    """A venue that records signed requests; its clock (`GET /time`) agrees with the test's."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/time"):
            return server_time(fake_time.wall())
        seen.append(request)
        return httpx.Response(200, json={"accounts": [], "has_next": False})

    return seen, httpx.MockTransport(handler)


def _claims(token: str, key: CdpKey, algorithm: str) -> dict[str, Any]:
    # Signed on the test's fake clock (2023): check the signature here and the times against that clock.
    claims: dict[str, Any] = jwt.decode(
        token, key.public_key_pem(), algorithms=[algorithm], options={"verify_exp": False, "verify_nbf": False}
    )
    return claims


@pytest.mark.parametrize(("key_fixture", "algorithm"), [("ec_key", "ES256"), ("ed_key", "EdDSA")])
async def test_every_private_request_carries_a_fresh_verifiable_jwt(
    request: pytest.FixtureRequest, key_fixture: str, algorithm: str, fake_time: FakeTime
) -> None:
    key: CdpKey = request.getfixturevalue(key_fixture)
    seen, transport = _capture(fake_time)
    async with CoinbaseAdvancedClient(key=key, transport=transport, **fake_time.client_kwargs()) as client:
        await client.list_accounts(limit=5, cursor="abc")
        await client.list_accounts(limit=5, cursor="abc")
    tokens = [sent.headers["Authorization"].removeprefix("Bearer ") for sent in seen]
    assert tokens[0] != tokens[1]
    header = jwt.get_unverified_header(tokens[0])
    assert header["alg"] == algorithm
    assert header["kid"] == key.name.get_secret_value()
    assert header["typ"] == "JWT"
    assert len(header["nonce"]) == 64
    claims = _claims(tokens[0], key, algorithm)
    # no scheme, no query string: a query in the uri gets a 401 from Coinbase
    assert claims["uri"] == "GET api.coinbase.com/api/v3/brokerage/accounts"
    assert claims["sub"] == key.name.get_secret_value()
    assert claims["iss"] == "cdp"
    assert claims["nbf"] == int(fake_time.wall())
    assert claims["exp"] - claims["nbf"] == 120
    assert seen[0].url.query == b"limit=5&cursor=abc"


async def test_jwt_uri_names_a_custom_base_urls_host_and_port(ec_key: CdpKey, fake_time: FakeTime) -> None:
    seen, transport = _capture(fake_time)
    async with CoinbaseAdvancedClient(
        base_url="http://127.0.0.1:8443/", key=ec_key, transport=transport, **fake_time.client_kwargs()
    ) as client:
        await client.list_accounts()
    token = seen[0].headers["Authorization"].removeprefix("Bearer ")
    claims = _claims(token, ec_key, "ES256")
    assert claims["uri"] == "GET 127.0.0.1:8443/api/v3/brokerage/accounts"


async def test_a_jwt_signed_by_another_key_does_not_verify(ec_key: CdpKey, fake_time: FakeTime) -> None:
    seen, transport = _capture(fake_time)
    async with CoinbaseAdvancedClient(key=make_ec_key(), transport=transport, **fake_time.client_kwargs()) as client:
        await client.list_accounts()
    token = seen[0].headers["Authorization"].removeprefix("Bearer ")
    with pytest.raises(jwt.InvalidSignatureError):
        _claims(token, ec_key, "ES256")


async def test_public_endpoints_go_unsigned_even_with_a_key(ec_key: CdpKey, fake_time: FakeTime) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"iso": "2026-01-01T00:00:00Z", "epochSeconds": "1", "epochMillis": "1"})

    transport = httpx.MockTransport(handler)
    async with CoinbaseAdvancedClient(key=ec_key, transport=transport, **fake_time.client_kwargs()) as client:
        await client.get_server_time()
    assert "authorization" not in seen[0].headers


async def test_a_private_call_without_a_key_fails_before_sending(fake_time: FakeTime) -> None:
    seen, transport = _capture(fake_time)
    async with CoinbaseAdvancedClient(transport=transport, **fake_time.client_kwargs()) as client:
        with pytest.raises(AuthenticationError, match="needs an API key"):
            await client.list_accounts()
    assert seen == []


# The local sandbox over real loopback HTTP ---------------------------------------------------------


async def test_client_round_trip_against_the_local_sandbox(sandbox: SandboxHandle) -> None:
    async with CoinbaseAdvancedClient(base_url=sandbox.base_url, key=sandbox.key) as client:
        assert (await client.get_server_time()).epoch_seconds is not None
        accounts = [account async for account in client.iter_accounts()]
        assert accounts
        assert all(isinstance(account.available_balance.value, Decimal) for account in accounts)
        product = await client.get_product("BTC-USD")
        assert product.base_increment is not None
        book = await client.get_product_book("BTC-USD", limit=5)
        assert book.pricebook.bids
        order = CreateOrderRequest(
            client_order_id="sandbox-roundtrip-1",
            product_id="BTC-USD",
            side="BUY",
            order_configuration=OrderConfiguration(
                limit_limit_gtc=LimitConfig(
                    base_size=Decimal("0.001"),
                    limit_price=(book.pricebook.bids[-1].price * Decimal("0.9")).quantize(
                        product.quote_increment or Decimal("0.01")
                    ),
                    post_only=False,
                )
            ),
        )
        placed = await client.create_order(order)
        again = await client.create_order(order)  # same client_order_id: the same order comes back
        assert placed.success_response is not None
        assert again.success_response is not None
        assert again.success_response.order_id == placed.success_response.order_id
        fetched = await client.get_order(placed.success_response.order_id)
        assert fetched.client_order_id == "sandbox-roundtrip-1"
        cancelled = await client.cancel_orders([placed.success_response.order_id])
        assert cancelled.results[0].success


# Real-traffic facts 10 and 11 -------------------------------------------------------------------------


async def test_fact_10_json_spacing_varies_and_parses_the_same(ec_key: CdpKey, fake_time: FakeTime) -> None:
    compact = b'{"accounts":[],"has_next":false,"cursor":"","size":0}'
    spaced = b'{\n  "accounts" : [ ],\n  "has_next": false, "cursor" : "",   "size":0\n}'
    bodies = [compact, spaced]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/time"):
            return server_time(fake_time.wall())
        return httpx.Response(200, content=bodies.pop(0), headers={"Content-Type": "application/json"})

    transport = httpx.MockTransport(handler)
    async with CoinbaseAdvancedClient(key=ec_key, transport=transport, **fake_time.client_kwargs()) as client:
        first = await client.list_accounts()
        second = await client.list_accounts()
    assert first == second


@cassette("public_get_product.yaml")
async def test_fact_11_public_answers_are_cdn_cached_and_parse(public_client: CoinbaseAdvancedClient) -> None:
    # The cached public answer carries Age and Cache-Control: public; the client reads it like any other.
    product = await public_client.get_public_product("BTC-USD")
    assert product.product_id == "BTC-USD"
    text = _cassette_text("public_get_product.yaml")
    assert "public, max-age=" in text
    assert "trace-id" in text


@cassette("error_403_missing_scopes.yaml")
async def test_fact_11_and_18_the_trace_id_sent_twice_is_kept_once_for_support(client: CoinbaseAdvancedClient) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        await client.list_accounts(limit=250)
    first, second = _header("error_403_missing_scopes.yaml", "/accounts", "trace-id")
    assert first == second
    assert caught.value.trace_id == first
    assert str(caught.value).endswith(f"trace_id={first})")


def _cassette_text(name: str) -> str:
    return (CASSETTE_DIR / name).read_text(encoding="utf-8")


def _sandbox_order(client_order_id: str, price: Decimal) -> CreateOrderRequest:
    config = LimitConfig(base_size=Decimal("0.001"), limit_price=price, post_only=False)
    return CreateOrderRequest(
        client_order_id=client_order_id,
        product_id="BTC-USD",
        side="BUY",
        order_configuration=OrderConfiguration(limit_limit_gtc=config),
    )


async def test_a_dropped_order_answer_is_resolved_by_lookup_never_duplicated(
    sandbox: SandboxHandle, fake_time: FakeTime
) -> None:
    sandbox.exchange.faults.configure(FaultConfig(seed=3, drop_after_accept_rate=1.0))
    async with CoinbaseAdvancedClient(
        base_url=sandbox.base_url, key=sandbox.key, max_retries=2, sleep=fake_time.sleep, jitter=lambda: 0.0
    ) as client:
        book = await client.get_product_book("BTC-USD", limit=1)
        price = (book.pricebook.bids[0].price * Decimal("0.8")).quantize(Decimal("0.01"))
        unknown: UnknownOutcomeError | None = None
        try:
            await client.create_order(_sandbox_order("dropped-1", price))  # a resend may return the existing order
        except UnknownOutcomeError as exc:
            unknown = exc
        sandbox.exchange.faults.configure(FaultConfig(seed=3))
        matches = [
            order
            async for order in client.iter_orders(product_ids=["BTC-USD"], order_status=["OPEN"])
            if order.client_order_id == "dropped-1"
        ]
    assert unknown is None or unknown.client_order_id == "dropped-1"
    assert len(matches) == 1, "the order exists exactly once, however many times it was sent"


async def test_a_sandbox_clock_running_ahead_does_not_lock_the_client_out(sandbox: SandboxHandle) -> None:
    # The sandbox answers GET /time with its simulated clock but checks JWTs on the real one; Coinbase uses one
    # clock for both. A client that believed /time alone would be refused for ever.
    sandbox.exchange.clock.advance(3600)
    async with CoinbaseAdvancedClient(base_url=sandbox.base_url, key=sandbox.key) as client:
        first = [account async for account in client.iter_accounts()]
        again = [account async for account in client.iter_accounts()]
        assert client.clock_offset == pytest.approx(3600, abs=5)
    assert first
    assert [account.uuid for account in again] == [account.uuid for account in first]


async def test_sandbox_html_429_is_retried_then_raised_typed(sandbox: SandboxHandle, fake_time: FakeTime) -> None:
    sandbox.exchange.faults.configure(FaultConfig(seed=1, error_429_rate=1.0, html_errors=True))
    async with CoinbaseAdvancedClient(
        base_url=sandbox.base_url, key=sandbox.key, max_retries=2, sleep=fake_time.sleep
    ) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.list_accounts()
    assert caught.value.status == 429
    assert len(fake_time.sleeps) >= 2  # two retries (the limiter may also hold on the rate-limit headers)


async def test_client_verifies_the_sandbox_tls_certificate_with_its_ca(sandbox_tls: SandboxHandle) -> None:
    assert sandbox_tls.ca_file is not None
    async with CoinbaseAdvancedClient(
        base_url=sandbox_tls.base_url, key=sandbox_tls.key, verify=str(sandbox_tls.ca_file)
    ) as client:
        permissions = await client.get_key_permissions()
    assert permissions.can_view
    fake_time = FakeTime()
    async with CoinbaseAdvancedClient(
        base_url=sandbox_tls.base_url, key=sandbox_tls.key, max_retries=4, sleep=fake_time.sleep
    ) as client:
        with pytest.raises(CertificateError, match="certificate") as caught:
            await client.get_key_permissions()
    # A certificate that does not verify will not verify a second later: surfaced at once, not retried.
    assert fake_time.sleeps == []
    assert not isinstance(caught.value, TransportError)


async def test_the_shared_default_tls_context_follows_ssl_cert_file(
    sandbox_tls: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Clients share one default context (loading the CA bundle costs 0.1 s a client), built per CA setting:
    # one made before SSL_CERT_FILE names the sandbox's CA must not be reused after.
    assert sandbox_tls.ca_file is not None
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with CoinbaseAdvancedClient(base_url=sandbox_tls.base_url, key=sandbox_tls.key, max_retries=0) as client:
        with pytest.raises(CertificateError):
            await client.get_key_permissions()
    monkeypatch.setenv("SSL_CERT_FILE", str(sandbox_tls.ca_file))
    async with CoinbaseAdvancedClient(base_url=sandbox_tls.base_url, key=sandbox_tls.key) as client:
        assert (await client.get_key_permissions()).can_view


# ExchangeService over the same cassettes: Coinbase's bodies become the domain's objects -------------------


@cassette("products_get.yaml")
async def test_exchange_service_turns_a_product_into_its_trading_rules(client: CoinbaseAdvancedClient) -> None:
    rules = (await ExchangeService(client).product_rules(["BTC-USD"]))["BTC-USD"]
    wire = _body("products_get.yaml", "/products/BTC-USD")
    assert (rules.base_increment, rules.quote_increment) == (
        _money(wire["base_increment"]),
        _money(wire["quote_increment"]),
    )
    assert (rules.base_min_size, rules.quote_min_size) == (
        _money(wire["base_min_size"]),
        _money(wire["quote_min_size"]),
    )
    for flag in ("trading_disabled", "cancel_only", "limit_only", "post_only"):
        assert getattr(rules, flag) is wire[flag]


@cassette("products_book.yaml")
async def test_exchange_service_turns_a_price_book_into_a_domain_book(client: CoinbaseAdvancedClient) -> None:
    book = await ExchangeService(client).book("BTC-USD", limit=1)
    wire = _body("products_book.yaml", "/product_book")["pricebook"]
    assert book.best_bid == (_money(wire["bids"][0]["price"]), _money(wire["bids"][0]["size"]))
    assert book.best_ask == (_money(wire["asks"][0]["price"]), _money(wire["asks"][0]["size"]))


@cassette("products_best_bid_ask.yaml")
async def test_exchange_service_reads_the_top_of_each_book(client: CoinbaseAdvancedClient) -> None:
    quotes = await ExchangeService(client).best_bid_ask(["BTC-USD", "ETH-USD"])
    for item in _body("products_best_bid_ask.yaml", "/best_bid_ask")["pricebooks"]:
        quote = quotes[item["product_id"]]
        assert quote.bid == (_money(item["bids"][0]["price"]) if item["bids"] else None)
        assert quote.ask == (_money(item["asks"][0]["price"]) if item["asks"] else None)


@cassette("products_candles.yaml")
async def test_exchange_service_reads_candles_oldest_first_within_the_range(client: CoinbaseAdvancedClient) -> None:
    start, end = datetime.fromtimestamp(1639508000, UTC), datetime.fromtimestamp(1639508300, UTC)
    candles = await ExchangeService(client).candles(
        "BTC-USD", start=start, end=end, granularity=Granularity.FIVE_MINUTE
    )
    wire = _body("products_candles.yaml", "/candles")["candles"]
    inside = sorted(int(c["start"]) for c in wire if 1639508000 <= int(c["start"]) < 1639508300)
    assert [int(candle.start.timestamp()) for candle in candles] == inside


@cassette("products_market_trades.yaml")
async def test_exchange_service_reads_the_ticker(client: CoinbaseAdvancedClient) -> None:
    ticker = await ExchangeService(client).ticker("BTC-USD", limit=1)
    wire = _body("products_market_trades.yaml", "/ticker")
    assert ticker.last_price == _money(wire["trades"][0]["price"])
    assert (ticker.bid, ticker.ask) == (_money(wire["best_bid"]), _money(wire["best_ask"]))


@cassette("accounts_list.yaml")
async def test_exchange_service_sums_each_currencys_wallets(client: CoinbaseAdvancedClient) -> None:
    balances = await ExchangeService(client).balances()
    pages = [_body("accounts_list.yaml", "/accounts", index) for index in (0, 1)]
    expected: dict[str, Decimal] = {}
    for page in pages:
        for account in page["accounts"]:
            expected[account["currency"]] = expected.get(account["currency"], Decimal(0)) + _money(
                account["available_balance"]["value"]
            )
    assert {currency: balance.available for currency, balance in balances.items()} == expected


@cassette("orders_get.yaml")
async def test_exchange_service_maps_an_order_to_its_intent_or_says_why_not(client: CoinbaseAdvancedClient) -> None:
    order = await ExchangeService(client).get_order("0000-000000-000000")
    wire = _body("orders_get.yaml", "/orders/historical/0000-000000-000000")["order"]
    assert status_from_wire(order.status).value == wire["status"]
    # The documented example leaves `side` empty: an order CryptoJ cannot model says why, it is not guessed.
    assert wire["side"] == ""
    with pytest.raises(MappingError, match="no side BUY or SELL"):
        intent_from_wire(order)
    sided = order.model_copy(update={"side": "BUY"})
    intent = intent_from_wire(sided)
    config = wire["order_configuration"]["limit_limit_gtc"]
    assert intent.order_type is OrderType.LIMIT
    assert intent.time_in_force is TimeInForce.GOOD_UNTIL_CANCELLED
    assert (intent.base_size, intent.limit_price) == (_money(config["base_size"]), _money(config["limit_price"]))
