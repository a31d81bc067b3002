"""Client construction, settings, path safety, public names, and that no secret shows in a repr or error."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from cryptoj import coinbase
from cryptoj.coinbase import errors
from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.errors import AuthenticationError, InvalidArgumentError, OrderRejectedError
from cryptoj.coinbase.models import ClosePositionRequest
from cryptoj.errors import ConfigurationError
from tests.unit.coinbase.conftest import MakeClient, Script, json_response


def test_package_exports_resolve() -> None:
    for module in (coinbase, errors):
        for name in module.__all__:
            assert hasattr(module, name), name


def test_base_url_must_be_http_or_https() -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        CoinbaseAdvancedClient(base_url="api.coinbase.com")


async def test_repr_shows_the_url_and_no_secret(ec_key: CdpKey) -> None:
    async with CoinbaseAdvancedClient(key=ec_key) as client:
        text = repr(client) + repr(client._session._auth)
    assert "api.coinbase.com" in text
    assert "apiKeys" not in text
    assert "BEGIN" not in text


@pytest.mark.parametrize("bad", ["", "../accounts", "a/b", "a?b=c", "a#b", "%2e", ".."])
async def test_ids_that_would_change_the_route_are_refused(make_client: MakeClient, bad: str) -> None:
    async with make_client(Script()) as client:
        with pytest.raises(InvalidArgumentError, match="not a valid id"):
            await client.get_order(bad)


async def test_batch_cancel_respects_the_venue_cap(make_client: MakeClient) -> None:
    async with make_client(Script()) as client:
        with pytest.raises(InvalidArgumentError, match="at most 100"):
            await client.cancel_orders([str(index) for index in range(101)])


async def test_naive_datetimes_are_refused(make_client: MakeClient) -> None:
    from datetime import datetime

    async with make_client(Script()) as client:
        with pytest.raises(InvalidArgumentError, match="timezone-aware"):
            await client.list_orders(start_date=datetime(2026, 1, 1))  # noqa: DTZ001


async def test_a_single_product_id_string_is_not_split_into_characters(make_client: MakeClient) -> None:
    script = Script(json_response({"pricebooks": []}))
    async with make_client(script) as client:
        await client.get_best_bid_ask("BTC-USD")  # type: ignore[arg-type]
    assert script.requests[0].url.params.get_list("product_ids") == ["BTC-USD"]


async def test_close_position_rejection_is_typed_and_falls_back_to_unknown(make_client: MakeClient) -> None:
    script = Script(json_response({"success": False, "failure_reason": "UNKNOWN_FAILURE_REASON"}))
    async with make_client(script) as client:
        with pytest.raises(OrderRejectedError) as caught:
            await client.close_position(ClosePositionRequest(client_order_id="c", product_id="BTC-USD"))
    assert caught.value.failure_reason == "UNKNOWN_FAILURE_REASON"
    assert "no message" in str(caught.value)


async def test_new_order_failure_reason_beats_unknown_top_level(make_client: MakeClient) -> None:
    body = {
        "success": False,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "error_response": {"error": "UNKNOWN_FAILURE_REASON", "message": "bad size",
                           "new_order_failure_reason": "INVALID_SIZE_PRECISION"},
    }  # fmt: skip
    script = Script(json_response(body))
    async with make_client(script) as client:
        with pytest.raises(OrderRejectedError) as caught:
            await client.close_position(
                ClosePositionRequest(client_order_id="c", product_id="BTC-USD", size=Decimal("0.1"))
            )
    assert caught.value.failure_reason == "INVALID_SIZE_PRECISION"
    assert caught.value.new_order_failure_reason == "INVALID_SIZE_PRECISION"


async def test_edit_rejected_without_reasons_still_says_so(make_client: MakeClient) -> None:
    from cryptoj.coinbase.errors import EditRejectedError
    from cryptoj.coinbase.models import EditOrderRequest

    script = Script(json_response({"success": False, "errors": []}))
    async with make_client(script) as client:
        with pytest.raises(EditRejectedError, match="no reason given"):
            await client.edit_order(EditOrderRequest(order_id="o", size=Decimal("1")))


async def test_portfolio_and_public_routes(make_client: MakeClient) -> None:
    book = {"pricebook": {"product_id": "BTC-USD", "bids": [], "asks": []}}
    product = {"product_id": "BTC-USD"}
    trades = {"trades": []}
    script = Script(json_response(book), json_response(product), json_response(trades), json_response(product))
    async with make_client(script, key=None) as client:
        await client.get_public_product_book("BTC-USD", limit=2)
        await client.get_public_product("BTC-USD")
        from datetime import UTC, datetime

        await client.get_public_market_trades("BTC-USD", limit=3, start=datetime(2026, 1, 1, tzinfo=UTC))
        await client.list_public_products(product_ids=["BTC-USD"], get_all_products=True)
    paths = [request.url.path.removeprefix("/api/v3/brokerage") for request in script.requests]
    assert paths == ["/market/product_book", "/market/products/BTC-USD", "/market/products/BTC-USD/ticker",
                     "/market/products"]  # fmt: skip
    assert script.requests[2].url.params["start"] == "1767225600"
    assert script.requests[3].url.params["get_all_products"] == "True"


async def test_no_secret_reaches_logs_or_error_text(
    make_client: MakeClient, ec_key: CdpKey, caplog: pytest.LogCaptureFixture
) -> None:
    from cryptoj.coinbase.errors import UnknownOutcomeError
    from cryptoj.coinbase.models import CreateOrderRequest, MarketConfig, OrderConfiguration
    from tests.utils.fixtures.coinbase import JWT_PATTERN

    # The venue echoing the request back is the worst case; the error keeps only a short snippet of text.
    script = Script(
        httpx.ReadTimeout("no answer"),
        lambda request: httpx.Response(500, text=f"bad: {request.headers['authorization']}"),
    )
    order = CreateOrderRequest(
        client_order_id="c-secret-test",
        product_id="BTC-USD",
        side="BUY",
        order_configuration=OrderConfiguration(market_market_ioc=MarketConfig(quote_size=Decimal("5"))),
    )
    caplog.set_level("DEBUG", logger="cryptoj")
    async with make_client(script, max_retries=1) as client:
        with pytest.raises(UnknownOutcomeError) as caught:
            await client.create_order(order)
    name = ec_key.name.get_secret_value()
    for text in (caplog.text, str(caught.value), repr(caught.value)):
        assert name not in text
        assert "BEGIN" not in text
        assert not JWT_PATTERN.search(text)
    assert "[jwt]" in str(caught.value)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
async def test_an_error_page_quoting_the_key_name_does_not_carry_it_into_the_error(
    make_client: MakeClient, ec_key: CdpKey, content_type: str
) -> None:
    name = ec_key.name.get_secret_value()
    text = f"key {name} is not authorized"
    body = text if content_type == "text/plain" else f'{{"error": "UNAUTHENTICATED", "message": "{text}"}}'
    script = Script(httpx.Response(401, text=body, headers={"content-type": content_type}))
    async with make_client(script) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.list_accounts()
    assert name not in str(caught.value)
    assert "[key name] is not authorized" in str(caught.value)


async def test_open_mixed_with_other_statuses_is_refused_before_sending(make_client: MakeClient) -> None:
    script = Script()
    async with make_client(script) as client:
        with pytest.raises(InvalidArgumentError, match="OPEN combined"):
            await client.list_orders(order_status=["OPEN", "FILLED"])
    assert script.requests == []


async def test_cookies_the_cdn_sets_are_neither_kept_nor_sent(make_client: MakeClient) -> None:
    cookie = {"set-cookie": "__cf_bm=abc; path=/; domain=.coinbase.com; Secure"}
    accounts = {"accounts": [], "has_next": False}
    script = Script(json_response(accounts, headers=cookie), json_response(accounts))
    async with make_client(script) as client:
        await client.list_accounts()
        await client.list_accounts()
        jar = client._session.client.cookies  # the pooled client's jar: parsing into it costs CPU per answer
        assert len(jar) == 0
    assert "cookie" not in script.requests[1].headers


async def test_json_numbers_in_answers_reach_the_models_exactly(make_client: MakeClient) -> None:
    exact = "12345678.123456789012"
    body = (
        f'{{"breakdown": {{"portfolio": {{"name": "Default", "uuid": "p"}}, "spot_positions": [{{"asset": "BTC",'
        f' "total_balance_fiat": {exact}, "unrealized_pnl": {exact}}}]}}}}'
    ).encode()
    script = Script(httpx.Response(200, content=body, headers={"Content-Type": "application/json"}))
    async with make_client(script) as client:
        breakdown = await client.get_portfolio_breakdown("p")
    position = breakdown.breakdown.spot_positions[0]
    assert str(position.total_balance_fiat) == exact
    assert position.model_extra == {"unrealized_pnl": Decimal(exact)}
    assert str((position.model_extra or {})["unrealized_pnl"]) == exact
