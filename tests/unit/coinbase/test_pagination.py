"""Paging: cursors followed to the end, cursor loops refused, candles split into windows of at most 350."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from cryptoj.coinbase.errors import InvalidArgumentError, UnexpectedResponseError
from cryptoj.coinbase.limits import VenueLimits
from cryptoj.coinbase.models import Granularity
from tests.unit.coinbase.conftest import MakeClient, Script, json_response

START = datetime(2026, 1, 1, tzinfo=UTC)


def _query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


def _account(uuid: str) -> dict[str, object]:
    return {"uuid": uuid, "name": uuid, "currency": "BTC", "available_balance": {"value": "1", "currency": "BTC"}}


async def test_accounts_cursor_is_passed_back_until_has_next_is_false(make_client: MakeClient) -> None:
    script = Script(
        json_response({"accounts": [_account("a")], "has_next": True, "cursor": "c1"}),
        json_response({"accounts": [_account("b")], "has_next": True, "cursor": "c2"}),
        json_response({"accounts": [_account("c")], "has_next": False, "cursor": ""}),
    )
    async with make_client(script) as client:
        uuids = [account.uuid async for account in client.iter_accounts()]
    assert uuids == ["a", "b", "c"]
    assert [_query(request).get("cursor") for request in script.requests] == [None, ["c1"], ["c2"]]
    assert _query(script.requests[0])["limit"] == ["250"]


async def test_a_cursor_served_twice_is_refused_not_looped(make_client: MakeClient) -> None:
    page = {"accounts": [_account("a")], "has_next": True, "cursor": "same"}
    script = Script(json_response(page), json_response(page))
    async with make_client(script) as client:
        with pytest.raises(UnexpectedResponseError, match="came back twice"):
            _ = [account async for account in client.iter_accounts()]


async def test_has_next_without_a_cursor_is_refused(make_client: MakeClient) -> None:
    script = Script(json_response({"orders": [], "has_next": True, "cursor": ""}))
    async with make_client(script) as client:
        with pytest.raises(UnexpectedResponseError, match="no cursor"):
            _ = [order async for order in client.iter_orders(order_status=["OPEN"])]


async def test_orders_filters_are_repeated_keys_and_dates_rfc3339(make_client: MakeClient) -> None:
    order = {"order_id": "o1", "product_id": "BTC-USD", "status": "FILLED"}
    script = Script(
        json_response({"orders": [order], "has_next": True, "cursor": "n"}),
        json_response({"orders": [{**order, "order_id": "o2"}], "has_next": False}),
    )
    async with make_client(script) as client:
        orders = [
            order.order_id
            async for order in client.iter_orders(
                product_ids=["BTC-USD", "ETH-USD"], order_status=["FILLED"], start_date=START, end_date=START
            )
        ]
    assert orders == ["o1", "o2"]
    query = _query(script.requests[0])
    assert query["product_ids"] == ["BTC-USD", "ETH-USD"]
    assert query["start_date"] == ["2026-01-01T00:00:00Z"]


async def test_fills_stop_on_an_empty_cursor_without_has_next(make_client: MakeClient) -> None:
    fill = {"entry_id": "e1", "trade_id": "t", "order_id": "o", "trade_time": "2026-01-01T00:00:00Z",
            "product_id": "BTC-USD", "price": "1", "size": "1", "commission": "0.01"}  # fmt: skip
    script = Script(
        json_response({"fills": [fill], "cursor": "k"}),
        json_response({"fills": [{**fill, "entry_id": "e2"}], "cursor": ""}),
    )
    async with make_client(script) as client:
        fills = [fill.entry_id async for fill in client.iter_fills(order_ids=["o"], start_sequence_timestamp=START)]
    assert fills == ["e1", "e2"]


async def test_fills_stop_on_an_empty_page(make_client: MakeClient) -> None:
    script = Script(json_response({"fills": [], "cursor": "still-something"}))
    async with make_client(script) as client:
        assert [fill async for fill in client.iter_fills()] == []


async def test_products_page_by_offset_until_a_short_page(make_client: MakeClient) -> None:
    def products(count: int, first: int) -> dict[str, object]:
        return {"products": [{"product_id": f"P{first + index}"} for index in range(count)]}

    script = Script(json_response(products(2, 0)), json_response(products(2, 2)), json_response(products(1, 4)))
    async with make_client(script, limits=VenueLimits(products_page_size=2)) as client:
        ids = [product.product_id async for product in client.iter_products(product_type="SPOT")]
    assert ids == ["P0", "P1", "P2", "P3", "P4"]
    assert [_query(request)["offset"] for request in script.requests] == [["0"], ["2"], ["4"]]


async def test_products_paging_ends_when_the_venue_ignores_offset(make_client: MakeClient) -> None:
    same_page = {"products": [{"product_id": "P0"}, {"product_id": "P1"}]}
    script = Script(*[json_response(same_page) for _ in range(3)])
    async with make_client(script, limits=VenueLimits(products_page_size=2)) as client:
        ids = [product.product_id async for product in client.iter_products()]
    assert ids == ["P0", "P1"]
    assert len(script.requests) == 2


async def test_a_listing_added_mid_paging_yields_no_product_twice(make_client: MakeClient) -> None:
    # A new product sorted first shifts P1 onto the second page.
    script = Script(
        json_response({"products": [{"product_id": "P0"}, {"product_id": "P1"}]}),
        json_response({"products": [{"product_id": "P1"}, {"product_id": "P2"}]}),
        json_response({"products": [{"product_id": "P3"}]}),
    )
    async with make_client(script, limits=VenueLimits(products_page_size=2)) as client:
        ids = [product.product_id async for product in client.iter_products()]
    assert ids == ["P0", "P1", "P2", "P3"]


async def test_public_products_paging_needs_no_key(make_client: MakeClient) -> None:
    script = Script(json_response({"products": []}))
    async with make_client(script, key=None) as client:
        assert [product async for product in client.iter_products(public=True)] == []
    assert script.requests[0].url.path.endswith("/market/products")
    assert "authorization" not in script.requests[0].headers


def _candles_for(request: httpx.Request) -> httpx.Response:
    query = _query(request)
    start, end = int(query["start"][0]), int(query["end"][0])
    # Coinbase answers newest first, end inclusive.
    candles = [
        {"start": str(at), "low": "1", "high": "2", "open": "1", "close": "2", "volume": "3"}
        for at in range(end - (end - start) % 60, start - 1, -60)
    ]
    assert len(candles) <= 350, "a window asked for more than 350 candles"
    return json_response({"candles": candles})


async def test_candles_over_a_long_range_are_windowed_oldest_first_each_once(make_client: MakeClient) -> None:
    end = START + timedelta(minutes=1000)
    script = Script(*[_candles_for for _ in range(3)])
    async with make_client(script) as client:
        starts = [
            candle.start
            async for candle in client.iter_candles("BTC-USD", start=START, end=end, granularity=Granularity.ONE_MINUTE)
        ]
    expected = list(range(int(START.timestamp()), int(end.timestamp()) + 1, 60))
    assert starts == expected
    assert len(script.requests) == 3


async def test_candles_within_one_window_take_one_call(make_client: MakeClient) -> None:
    script = Script(_candles_for)
    async with make_client(script) as client:
        got = [
            candle
            async for candle in client.iter_candles(
                "BTC-USD", start=START, end=START + timedelta(hours=5), granularity=Granularity.ONE_MINUTE
            )
        ]
    assert len(got) == 301
    assert script.requests[0].url.path.endswith("/products/BTC-USD/candles")


async def test_public_candles_use_the_market_route(make_client: MakeClient) -> None:
    script = Script(_candles_for)
    async with make_client(script, key=None) as client:
        _ = [
            candle
            async for candle in client.iter_candles(
                "BTC-USD", start=START, end=START, granularity=Granularity.ONE_HOUR, public=True
            )
        ]
    assert script.requests[0].url.path == "/api/v3/brokerage/market/products/BTC-USD/candles"


async def test_candles_refuse_a_reversed_range(make_client: MakeClient) -> None:
    async with make_client(Script()) as client:
        with pytest.raises(InvalidArgumentError, match="before start"):
            _ = [
                candle
                async for candle in client.iter_candles(
                    "BTC-USD", start=START, end=START - timedelta(days=1), granularity=Granularity.ONE_DAY
                )
            ]


async def test_naive_times_are_refused_before_sending_not_read_as_local_time(make_client: MakeClient) -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the naive time under test
    script = Script()
    async with make_client(script) as client:
        with pytest.raises(InvalidArgumentError, match="timezone-aware"):
            await client.get_candles("BTC-USD", start=naive, end=START, granularity=Granularity.ONE_MINUTE)
        with pytest.raises(InvalidArgumentError, match="timezone-aware"):
            await client.get_public_market_trades("BTC-USD", limit=10, start=naive)
        with pytest.raises(InvalidArgumentError, match="timezone-aware"):
            _ = [
                candle
                async for candle in client.iter_candles(
                    "BTC-USD", start=START, end=naive, granularity=Granularity.ONE_MINUTE
                )
            ]
    assert script.requests == []


async def test_a_fills_cursor_built_from_a_fill_time_is_its_exact_wire_text(make_client: MakeClient) -> None:
    nine = "2024-06-18T19:59:10.102220957Z"
    fill = {"entry_id": "e1", "trade_id": "t", "order_id": "o", "trade_time": nine, "sequence_timestamp": nine,
            "product_id": "BTC-USD", "price": "1", "size": "1", "commission": "0"}  # fmt: skip
    script = Script(json_response({"fills": [fill], "cursor": ""}), json_response({"fills": [], "cursor": ""}))
    async with make_client(script) as client:
        first = (await client.list_fills(product_ids=["BTC-USD"])).fills[-1]
        assert first.sequence_timestamp is not None
        _ = [later async for later in client.iter_fills(start_sequence_timestamp=first.sequence_timestamp)]
    # Not .102220Z, which lands before the fill and re-reads every fill of that microsecond.
    assert _query(script.requests[1])["start_sequence_timestamp"] == [nine]


async def test_granularity_takes_the_string_the_official_sdk_and_the_docs_use(make_client: MakeClient) -> None:
    script = Script(_candles_for, _candles_for, _candles_for)
    async with make_client(script) as client:
        await client.get_candles("BTC-USD", start=START, end=START + timedelta(hours=1), granularity="ONE_MINUTE")
        await client.get_public_candles("BTC-USD", start=START, end=START, granularity="one_hour")
        windowed = [
            candle.start
            async for candle in client.iter_candles(
                "BTC-USD", start=START, end=START + timedelta(minutes=10), granularity="FIVE_MINUTE"
            )
        ]
    assert [_query(request)["granularity"] for request in script.requests] == [
        ["ONE_MINUTE"],
        ["ONE_HOUR"],
        ["FIVE_MINUTE"],
    ]
    assert windowed  # the windows were sized from the string's width (a str has no `.seconds`)


@pytest.mark.parametrize("bad", ["ONE_MINUT", "", "60", "UNKNOWN_GRANULARITY"])
async def test_a_wrong_granularity_lists_the_allowed_ones_and_sends_nothing(make_client: MakeClient, bad: str) -> None:
    script = Script()
    async with make_client(script) as client:
        with pytest.raises(InvalidArgumentError, match="granularity must be one of ONE_MINUTE, FIVE_MINUTE") as caught:
            await client.get_candles("BTC-USD", start=START, end=START, granularity=bad)
        assert "ONE_DAY" in str(caught.value)
        with pytest.raises(InvalidArgumentError, match="granularity"):
            _ = [c async for c in client.iter_candles("BTC-USD", start=START, end=START, granularity=bad)]
        with pytest.raises(InvalidArgumentError, match="granularity"):
            await client.get_public_candles("BTC-USD", start=START, end=START, granularity=bad)
    assert script.requests == []
