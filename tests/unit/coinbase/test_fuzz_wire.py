"""Fuzzing the REST wire: any answer body is either a usable model or `UnexpectedResponseError`, never a bare crash.

Bodies are the documented examples (and captured real answers) with one part deleted, retyped or replaced by
something hostile, plus arbitrary JSON and raw bytes. A model that parses must also be usable: printable (a
log line), serialisable, and every time in it convertible to UTC (the store's first step). The real client is
driven over `httpx.MockTransport` with truncated and undecodable bodies.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from cryptoj.coinbase._clock import offset_from
from cryptoj.coinbase._http import decode
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.errors import InvalidArgumentError, UnexpectedResponseError, UnknownOutcomeError
from cryptoj.coinbase.models import (
    BatchCancelResponse,
    BestBidAskResponse,
    CandlesResponse,
    CreateOrderRequest,
    CreateOrderResponse,
    GetAccountResponse,
    GetOrderResponse,
    ListAccountsResponse,
    ListFillsResponse,
    ListOrdersResponse,
    MarketTradesResponse,
    Product,
    ProductBookResponse,
    ServerTime,
    WireTime,
)
from cryptoj.coinbase.models.common import loads_exact
from cryptoj.errors import ConfigurationError
from tests.unit.coinbase.conftest import MakeClient, Script
from tests.utils.helpers.hostile import FUZZ, dumps, json_values, mutated

DATA = Path(__file__).resolve().parents[2] / "data" / "coinbase"


def _blank_placeholders(value: Any, key: str = "") -> Any:
    # Doc examples hold "<string>" where a decimal or time goes: Coinbase's "unset" is "", except for a
    # book level's price and size, which are required.
    if isinstance(value, dict):
        return {name: _blank_placeholders(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_blank_placeholders(item, key) for item in value]
    if value == "<string>":
        return _PLACEHOLDERS.get(key, "")
    return value


# What stands for "<string>" where the field is required (book levels) or the body is nothing but it (/time).
_PLACEHOLDERS = {
    "price": "1.5", "size": "1.5",
    "iso": "2023-06-23T20:31:56.121Z", "epochSeconds": "1687552316", "epochMillis": "1687552316121",
}  # fmt: skip


def _example(name: str) -> Any:
    return _blank_placeholders(json.loads((DATA / "examples" / name).read_text()))


def _captured(name: str) -> Any:
    return json.loads(json.loads((DATA / "captured" / name).read_text())["response"]["body_text"])


DOCUMENTED: list[tuple[str, type[BaseModel], Any]] = [
    ("list_accounts", ListAccountsResponse, _example("list_accounts.json")),
    ("get_account", GetAccountResponse, _example("get_account.json")),
    ("get_candles", CandlesResponse, _example("get_candles.json")),
    ("get_market_trades", MarketTradesResponse, _example("get_market_trades.json")),
    ("create_order_success", CreateOrderResponse, _example("create_order_success.json")),
    ("create_order_failure", CreateOrderResponse, _example("create_order_failure.json")),
    ("cancel_orders", BatchCancelResponse, _example("cancel_orders.json")),
    ("get_order", GetOrderResponse, _example("get_order.json")),
    ("list_orders", ListOrdersResponse, _example("list_orders.json")),
    ("list_fills", ListFillsResponse, _example("list_fills.json")),
    ("get_product", Product, _example("get_product.json")),
    ("best_bid_ask", BestBidAskResponse, _example("best_bid_ask.json")),
    ("get_product_book", ProductBookResponse, _example("get_product_book.json")),
    ("get_server_time", ServerTime, _example("get_server_time.json")),
    ("real_product", Product, _captured("market_product_btc_usd.json")),
    ("real_book", ProductBookResponse, _captured("market_product_book_btc_usd.json")),
    ("real_candles", CandlesResponse, _captured("market_candles_btc_usd_one_hour.json")),
]
MODELS = sorted({model for _, model, _ in DOCUMENTED}, key=lambda model: model.__name__)


def _answer(body: bytes, *, path: str = "/api/v3/brokerage/fuzz") -> httpx.Response:
    return httpx.Response(200, content=body, request=httpx.Request("GET", "https://api.example" + path))


def _times(value: Any) -> list[datetime]:
    """Every datetime inside a parsed model (declared fields, kept unknown ones are plain JSON values)."""
    if isinstance(value, datetime):
        return [value]
    if isinstance(value, BaseModel):
        return [found for name in type(value).model_fields for found in _times(getattr(value, name))]
    if isinstance(value, list):
        return [found for item in value for found in _times(item)]
    return []


def assert_model_or_typed_error(model: type[BaseModel], body: bytes) -> BaseModel | None:
    """The property: a usable model, or `UnexpectedResponseError` with a short message; nothing else escapes."""
    try:
        parsed = decode(_answer(body), model)
    except UnexpectedResponseError as exc:
        message = str(exc)
        assert message.startswith("/api/v3/brokerage/fuzz: answer ")
        assert len(message) < 2_000  # it names fields; it never echoes a 10 kB value
        return None
    assert isinstance(parsed, model)
    repr(parsed)  # a log line can print it (an int of a million digits cannot be printed)
    parsed.model_dump_json()
    for moment in _times(parsed):
        moment.astimezone(UTC)  # what the store does first with every time
    return parsed


@pytest.mark.parametrize(("name", "model", "body"), DOCUMENTED, ids=[name for name, _, _ in DOCUMENTED])
def test_every_documented_body_parses_before_it_is_mutated(name: str, model: type[BaseModel], body: Any) -> None:
    assert assert_model_or_typed_error(model, dumps(body).encode()) is not None


@FUZZ
@given(data=st.data())
def test_a_documented_body_with_one_part_deleted_retyped_or_made_hostile_parses_or_is_a_typed_error(
    data: st.DataObject,
) -> None:
    _, model, body = data.draw(st.sampled_from(DOCUMENTED), label="body")
    assert_model_or_typed_error(model, dumps(mutated(data, body)).encode())


@FUZZ
@given(model=st.sampled_from(MODELS), body=json_values)
def test_arbitrary_json_parses_or_is_a_typed_error(model: type[BaseModel], body: Any) -> None:
    assert_model_or_typed_error(model, dumps(body).encode())


@settings(FUZZ, max_examples=100)
@given(model=st.sampled_from(MODELS), body=st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_are_a_typed_error(model: type[BaseModel], body: bytes) -> None:
    assert_model_or_typed_error(model, body)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # msgspec stops at Python's recursion limit: RecursionError escaped
        b'{"product_id":"x","extra":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001,
        b'{"product_id":"x","price":"1',  # truncated
        b'{"product_id":"x","price":NaN}',
        b'{"product_id":"x","price":Infinity}',
        b"\xef\xbb\xbf{}",  # a byte-order mark
        b'{"product_id":"x"}\x00',
        b"<html><title>502</title></html>",
    ],
    ids=["deep-list", "deep-object", "truncated", "nan-literal", "infinity-literal", "bom", "trailing-nul", "html"],
)
def test_bodies_that_are_not_json_are_a_typed_error(body: bytes) -> None:
    with pytest.raises(UnexpectedResponseError, match="answer is not JSON"):
        decode(_answer(body), Product)


def test_json_nested_past_the_recursion_limit_is_a_decode_error_not_a_recursion_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        loads_exact("[" * 100_000)


@pytest.mark.parametrize("start", ["1e999999", str(10**400), "9223372036854775808"])
def test_an_int64_field_beyond_int64_is_refused_not_kept_as_an_unprintable_int(start: str) -> None:
    candle = f'{{"start":{start},"low":"1","high":"1","open":"1","close":"1","volume":"1"}}'
    with pytest.raises(UnexpectedResponseError, match=r"candles\.0\.start"):
        decode(_answer(f'{{"candles":[{candle}]}}'.encode()), CandlesResponse)


@pytest.mark.parametrize(
    "millis", ["1e999999", str(10**400), "-9223372036854775809"], ids=["exponent", "400-digits", "below-int64"]
)
def test_a_server_time_beyond_int64_is_refused_before_the_clock_divides_it(millis: str) -> None:
    # 10**400 / 1000 raised OverflowError in the clock check of every first signed request.
    with pytest.raises(UnexpectedResponseError, match="epochMillis"):
        decode(_answer(f'{{"epochMillis":{millis}}}'.encode()), ServerTime)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+00:01"])
def test_a_time_whose_instant_falls_outside_the_calendar_is_refused(text: str) -> None:
    # Both parse as datetimes, but astimezone(UTC) raises OverflowError (the store converts every time so).
    body = {"entry_id": "e", "trade_id": "t", "order_id": "o", "trade_time": text, "product_id": "BTC-USD"}
    with pytest.raises(UnexpectedResponseError, match=r"fills\.0\.trade_time: .*out of range"):
        decode(_answer(json.dumps({"fills": [body]}).encode()), ListFillsResponse)
    assert WireTime.parse("9999-12-31T23:59:59Z").astimezone(UTC).year == 9999  # the calendar's own ends still read


@pytest.mark.parametrize("age", ["inf", "Infinity", "nan", "-inf", "1e999"])
def test_an_age_header_that_is_no_finite_number_is_ignored_by_the_clock_check(age: str) -> None:
    # An infinite offset made every JWT's time int(inf): OverflowError out of the auth flow.
    offset = offset_from(ServerTime(epochSeconds=100), sent=90.0, received=100.0, age=age)
    assert offset == pytest.approx(5.5)


# --- the real client over a transport ------------------------------------------------------------------

_PRODUCT = dumps(_example("get_product.json")).encode()
_CREATED = dumps(_example("create_order_success.json")).encode()


def _order_request() -> CreateOrderRequest:
    return CreateOrderRequest.model_validate(
        {
            "client_order_id": "fuzz-1",
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"market_market_ioc": {"quote_size": "10"}},
        }
    )


async def _public_product(body: bytes, headers: dict[str, str] | None = None) -> Product:
    answer = httpx.Response(200, content=body, headers=headers)
    async with CoinbaseAdvancedClient(transport=httpx.MockTransport(lambda _: answer), max_retries=0) as client:
        return await client.get_public_product("BTC-USD")


@settings(FUZZ, max_examples=60)
@given(cut=st.integers(min_value=0, max_value=len(_PRODUCT) - 1))
def test_a_truncated_answer_through_the_client_is_unexpected_response(cut: int) -> None:
    with pytest.raises(UnexpectedResponseError) as raised:
        asyncio.run(_public_product(_PRODUCT[:cut]))
    assert raised.value.status == 200


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}),  # httpx.DecodingError
        (b"not brotli", {"Content-Encoding": "br"}),
        (b"\xff\xfe\x00", {"Content-Type": "application/json; charset=utf-8"}),
        (b"", {}),
    ],
    ids=["bad-gzip", "bad-brotli", "not-utf8", "empty"],
)
def test_an_undecodable_answer_through_the_client_is_unexpected_response(body: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(UnexpectedResponseError):
        asyncio.run(_public_product(body, headers))


async def test_a_truncated_answer_to_an_order_is_an_unknown_outcome_naming_the_order(make_client: MakeClient) -> None:
    # The order may well have been placed: never an error that invites a resend under a new id.
    for cut in (0, 1, len(_CREATED) // 2, len(_CREATED) - 1):
        async with make_client(Script(httpx.Response(200, content=_CREATED[:cut])), max_retries=0) as client:
            with pytest.raises(UnknownOutcomeError) as raised:
                await client.create_order(_order_request())
        assert raised.value.client_order_id == "fuzz-1"
        assert isinstance(raised.value.last_error, UnexpectedResponseError)


async def test_a_server_time_the_clock_cannot_use_leaves_signed_requests_working(make_client: MakeClient) -> None:
    # /time answering nonsense (or an infinite Age) must not break the first signed request.
    for answer in (
        httpx.Response(200, json={"epochMillis": str(10**400)}),
        httpx.Response(200, json={"epochSeconds": "1700000000"}, headers={"Age": "inf"}),
        httpx.Response(200, content=b"[" * 100_000),
    ):
        script = Script(answer, httpx.Response(200, content=_PRODUCT), server_offset=None)
        async with make_client(script) as client:
            product = await client.get_product("BTC-USD")
        assert product.product_id == "BTC-USD"
        assert product.price == Decimal("140.21")


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:99999", "http://host:abc", "http://ho\x00st", "http://\u202ehost", "http://h:0"]
)
def test_a_client_on_an_unreadable_base_url_is_a_configuration_error(base_url: str) -> None:
    # httpx.URL raised InvalidURL out of the constructor, or the bad port waited for the first connect.
    with pytest.raises(ConfigurationError, match="base_url must be http"):
        CoinbaseAdvancedClient(base_url=base_url)


@pytest.mark.parametrize(
    "order_id", ["\x00", "a\x00b", "\\", " ", "\u202e", "\ud800", "a/b", "..", "%2e", "x?y", "'; DROP TABLE orders; --"]
)
async def test_an_id_that_would_be_encoded_or_cannot_be_sent_is_refused_before_sending(
    make_client: MakeClient, order_id: str
) -> None:
    # "\x00" raised httpx.InvalidURL and "\ud800" UnicodeEncodeError; "\\" went out as %5C under a JWT naming "\".
    script = Script()
    async with make_client(script) as client:
        with pytest.raises(InvalidArgumentError, match="not a valid id for a URL path"):
            await client.get_order(order_id)
    assert script.requests == []


async def test_a_request_that_cannot_be_encoded_is_refused_before_sending(make_client: MakeClient) -> None:
    # httpx raised UnicodeEncodeError (a lone surrogate in a query) and InvalidURL (past 64 kB) out of the client.
    script = Script()
    async with make_client(script) as client:
        with pytest.raises(InvalidArgumentError, match=r"no valid request can be built \(not UTF-8\)"):
            await client.get_product_book("\ud800")
        with pytest.raises(InvalidArgumentError, match="too long"):
            await client.list_orders(product_ids=[f"P{index}-USD" for index in range(10_000)])
    assert script.requests == []
