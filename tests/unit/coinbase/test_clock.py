"""JWTs are signed on Coinbase's clock when ours is off: read from GET /time at start and after a 401."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from cryptoj.coinbase._clock import offset_from
from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.errors import AuthenticationError, UnknownOutcomeError
from cryptoj.coinbase.models import CreateOrderRequest, MarketConfig, OrderConfiguration, ServerTime
from tests.unit.coinbase.conftest import MakeClient, Script, json_response
from tests.utils.fixtures.coinbase import FakeTime

ACCOUNTS = {"accounts": [], "has_next": False}
UNAUTHORIZED = httpx.Response(401, text="Unauthorized", headers={"Content-Type": "text/plain"})


def _nbf(request: httpx.Request, key: CdpKey) -> int:
    token = request.headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, key.public_key_pem(), algorithms=["ES256"], options={"verify_exp": False,
                                                                                   "verify_nbf": False})  # fmt: skip
    nbf: int = claims["nbf"]
    return nbf


def _venue_checking_jwts_on(clock: Any, *, window: float = 30.0) -> Any:
    """A step that answers like a venue whose JWT clock is `clock()`: 401 unless nbf is within `window` of it."""

    def step(request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        nbf = jwt.decode(token, options={"verify_signature": False})["nbf"]
        return json_response(ACCOUNTS) if abs(nbf - clock()) <= window else UNAUTHORIZED

    return step


async def test_a_clock_that_is_off_is_corrected_before_the_first_signed_request(
    make_client: MakeClient, fake_time: FakeTime, ec_key: CdpKey, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(json_response(ACCOUNTS), json_response(ACCOUNTS), server_offset=300.0)
    async with make_client(script) as client:
        await client.list_accounts()
        await client.list_accounts()
        assert client.clock_offset == pytest.approx(300.0)
    assert len(script.time_requests) == 1  # read once, at the start
    assert [_nbf(request, ec_key) for request in script.requests] == [int(fake_time.wall()) + 300] * 2
    assert "our clock is 300 s behind Coinbase's (GET /time): signing JWTs with Coinbase's time" in caplog.text


async def test_a_clock_in_step_signs_with_its_own_time_and_says_nothing(
    make_client: MakeClient, fake_time: FakeTime, ec_key: CdpKey, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(json_response(ACCOUNTS), server_offset=-1.5)
    async with make_client(script) as client:
        await client.list_accounts()
        assert client.clock_offset == pytest.approx(-1.5)
    assert _nbf(script.requests[0], ec_key) == int(fake_time.wall())
    assert "our clock" not in caplog.text


async def test_a_clock_that_drifted_after_the_start_is_corrected_after_a_401(
    make_client: MakeClient, fake_time: FakeTime, ec_key: CdpKey
) -> None:
    script = Script(server_offset=0.0)

    def suspended_vm(request: httpx.Request) -> httpx.Response:
        script.server_offset = -600.0  # our clock jumped 600 s ahead (a VM resumed), after the start-up check
        return UNAUTHORIZED

    script.steps = [json_response(ACCOUNTS), suspended_vm, json_response(ACCOUNTS)]
    async with make_client(script) as client:
        await client.list_accounts()
        await client.list_accounts()  # 401, read the clock again, signed again: answered
    assert len(script.time_requests) == 2
    nbfs = [_nbf(request, ec_key) for request in script.requests]
    assert nbfs == [int(fake_time.wall()), int(fake_time.wall()), int(fake_time.wall()) - 600]


async def test_a_401_with_the_clocks_in_step_says_it_is_not_the_clock(make_client: MakeClient) -> None:
    script = Script(UNAUTHORIZED, server_offset=0.5)
    async with make_client(script) as client:
        with pytest.raises(AuthenticationError, match=r"agrees with Coinbase's within 0\.5 s") as caught:
            await client.list_accounts()
    assert len(script.requests) == 1  # no other clock to try
    assert caught.value.clock_offset == pytest.approx(0.5)
    assert caught.value.status == 401
    assert "check the key name, private key and scopes" in str(caught.value)


async def test_a_401_that_no_clock_cures_names_the_skew(make_client: MakeClient, ec_key: CdpKey) -> None:
    script = Script(UNAUTHORIZED, UNAUTHORIZED, server_offset=300.0)
    async with make_client(script) as client:
        with pytest.raises(AuthenticationError, match="300 s behind Coinbase's") as caught:
            await client.list_accounts()
        assert "still refused" in str(caught.value)
        assert caught.value.clock_offset == pytest.approx(300.0)
        # Coinbase's clock stays the one to sign with: the key, not the clock, was refused.
        script.steps = [json_response(ACCOUNTS)]
        await client.list_accounts()
    nbfs = [_nbf(request, ec_key) for request in script.requests]
    assert nbfs[1] == nbfs[0] - 300  # the corrected time, then our own
    assert nbfs[2] == nbfs[0]


async def test_where_time_is_not_the_jwt_clock_our_own_clock_wins_and_stays(
    make_client: MakeClient, fake_time: FakeTime, ec_key: CdpKey, caplog: pytest.LogCaptureFixture
) -> None:
    # A simulator answering /time with its simulated clock (an hour ahead) while checking JWTs on the real one.
    venue = _venue_checking_jwts_on(fake_time.wall)
    script = Script(venue, venue, venue, server_offset=3600.0)
    async with make_client(script) as client:
        await client.list_accounts()  # 401 with the corrected time, then answered on our own clock
        await client.list_accounts()
    nbfs = [_nbf(request, ec_key) for request in script.requests]
    assert nbfs == [int(fake_time.wall()) + 3600, int(fake_time.wall()), int(fake_time.wall())]
    assert len(script.time_requests) == 2
    assert "signing with our own clock again" in caplog.text


@pytest.mark.parametrize(
    "time_answer",
    [httpx.Response(404, text="404 page not found"), httpx.Response(200, text="<html>maintenance</html>")],
    ids=["404", "html"],
)
async def test_an_unreadable_server_clock_does_not_stop_requests(
    make_client: MakeClient, time_answer: httpx.Response
) -> None:
    script = Script(time_answer, json_response(ACCOUNTS), json_response(ACCOUNTS), server_offset=None)
    async with make_client(script) as client:
        await client.list_accounts()
        assert client.clock_offset is None
        await client.list_accounts()  # the start-up reading is not repeated
    paths = [request.url.path.rsplit("/", 1)[-1] for request in script.requests]
    assert paths == ["time", "accounts", "accounts"]


async def test_a_401_with_an_unreadable_server_clock_says_skew_is_not_ruled_out(make_client: MakeClient) -> None:
    script = Script(
        json_response({}),  # GET /time: an answer without a time
        UNAUTHORIZED,
        httpx.ConnectError("refused"),  # GET /time after the 401
        server_offset=None,
    )
    async with make_client(script) as client:
        with pytest.raises(AuthenticationError, match="clock skew is not ruled out") as caught:
            await client.list_accounts()
    assert caught.value.clock_offset is None


async def test_a_public_only_client_never_reads_the_clock(make_client: MakeClient) -> None:
    script = Script(json_response({"products": []}))
    async with make_client(script, key=None) as client:
        await client.list_public_products()
        assert client.clock_offset is None
    assert script.time_requests == []


async def test_an_order_refused_with_401_is_signed_again_under_the_same_id(
    make_client: MakeClient, fake_time: FakeTime, ec_key: CdpKey
) -> None:
    placed = {"success": True, "success_response": {"order_id": "o-1", "client_order_id": "c-1"}}
    script = Script(UNAUTHORIZED, json_response(placed), server_offset=0.0)
    order = CreateOrderRequest(
        client_order_id="c-1", product_id="BTC-USD", side="BUY",
        order_configuration=OrderConfiguration(market_market_ioc=MarketConfig(quote_size=10)),
    )  # fmt: skip

    def drifted(request: httpx.Request) -> httpx.Response:
        script.server_offset = 400.0
        return UNAUTHORIZED

    script.steps[0] = drifted
    async with make_client(script) as client:
        response = await client.create_order(order)  # a 401 is definite: signing again is safe
    assert response.success_response is not None
    assert script.requests[0].content == script.requests[1].content


async def test_an_edit_is_signed_again_after_a_401_but_not_after_an_ambiguous_attempt(make_client: MakeClient) -> None:
    from decimal import Decimal

    from cryptoj.coinbase.models import EditOrderRequest

    edit = EditOrderRequest(order_id="o-1", price=Decimal("1"))
    script = Script(UNAUTHORIZED, json_response({"success": True}), server_offset=300.0)
    script.steps.insert(0, httpx.ReadTimeout("no answer"))
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError):
            await client.edit_order(edit)  # never repeated: one attempt, unanswered
        assert len(script.requests) == 1
        answered = await client.edit_order(edit)  # 401 on the corrected clock, then our own clock: answered
    assert answered.success
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("body", "age", "expected"),
    [
        ({"epochMillis": "1700000010500"}, None, 10.0),
        ({"epochSeconds": "1700000010"}, None, 10.0),
        ({"iso": "2023-11-14T22:13:30.5Z"}, None, 10.0),
        ({"epochMillis": "1700000010500"}, "3", 13.0),  # a cached copy three seconds old
        ({"epochMillis": "1700000010500"}, "soon", 10.0),
        ({}, None, None),
    ],
)
def test_the_offset_reads_the_finest_time_at_the_middle_of_the_round_trip(
    body: dict[str, str], age: str | None, expected: float | None
) -> None:
    server = ServerTime.model_validate(body)
    offset = offset_from(server, sent=1_700_000_000.0, received=1_700_000_001.0, age=age)
    assert offset == (None if expected is None else pytest.approx(expected))
