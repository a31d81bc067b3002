"""Bad credentials and hostile product ids against the real client and the loopback sandbox: typed errors only.

The sandbox checks JWTs as Coinbase does (key, signature, `uri`, `nbf`/`exp` with 30 s of leeway). A JWT that
names another host, one signed on a clock ten minutes behind with no way to read Coinbase's, and a key the
exchange does not trust all end in `AuthenticationError` (401, no JWT or key name in its text); a product id
that could change the route is refused before sending, and any other one is a typed answer from the exchange.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.errors import AuthenticationError, InvalidArgumentError, NotFoundError, RequestError
from cryptoj.sandbox.keys import generate_key
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.helpers.hostile import HOSTILE_TEXT

pytestmark = pytest.mark.integration


class Redirect(httpx.AsyncBaseTransport):
    """Sends every request to the sandbox whatever host its URL names (a proxy that rewrites the host).

    The client signs the host of its `base_url` into the JWT `uri`; the sandbox serves another one, so the
    `uri` names a request the sandbox did not get. `answer_time` answers `GET /time` instead of the sandbox.
    """

    def __init__(self, authority: str, *, answer_time: httpx.Response | None = None) -> None:
        self._authority = authority
        self._answer_time = answer_time
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._answer_time is not None and request.url.path.endswith("/brokerage/time"):
            return self._answer_time
        host, _, port = self._authority.partition(":")
        request.url = request.url.copy_with(host=host, port=int(port))
        request.headers["Host"] = self._authority
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _client(
    sandbox: SandboxHandle,
    *,
    key: CdpKey | None = None,
    base_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> CoinbaseAdvancedClient:
    return CoinbaseAdvancedClient(
        base_url=base_url or sandbox.base_url, key=key or sandbox.key, transport=transport, max_retries=0,
        wall_clock=wall_clock,
    )  # fmt: skip


def _assert_no_secret(error: AuthenticationError, key: CdpKey) -> None:
    text = str(error)
    assert "eyJ" not in text  # no JWT
    assert key.name.get_secret_value() not in text


async def test_a_jwt_whose_uri_names_another_host_is_an_authentication_error(sandbox: SandboxHandle) -> None:
    port = sandbox.authority.rpartition(":")[2]
    transport = Redirect(sandbox.authority)
    async with _client(sandbox, base_url=f"http://wrong-host.invalid:{port}", transport=transport) as client:
        with pytest.raises(AuthenticationError) as raised:
            await client.list_accounts()
    assert raised.value.status == 401
    assert raised.value.clock_offset is not None
    assert abs(raised.value.clock_offset) < 30  # the clock was read and ruled out ...
    assert "not clock skew" in str(raised.value)  # ... and the message says so
    _assert_no_secret(raised.value, sandbox.key)


async def test_a_jwt_signed_ten_minutes_in_the_past_is_cured_by_coinbases_clock(sandbox: SandboxHandle) -> None:
    # Expired by the time it arrives: the client reads GET /time first and signs on the exchange's clock.
    async with _client(sandbox, wall_clock=lambda: time.time() - 600) as client:
        accounts = await client.list_accounts()
        assert accounts.accounts
        assert client.clock_offset is not None
        assert client.clock_offset > 500


async def test_an_expired_jwt_with_no_readable_server_clock_is_an_authentication_error(sandbox: SandboxHandle) -> None:
    unreadable = httpx.Response(503, text="<html><title>503</title></html>")
    transport = Redirect(sandbox.authority, answer_time=unreadable)
    async with _client(sandbox, transport=transport, wall_clock=lambda: time.time() - 600) as client:
        with pytest.raises(AuthenticationError) as raised:
            await client.list_accounts()
    assert raised.value.status == 401
    assert raised.value.clock_offset is None
    assert "clock skew is not ruled out" in str(raised.value)
    _assert_no_secret(raised.value, sandbox.key)


async def test_a_key_the_exchange_does_not_trust_is_an_authentication_error(sandbox: SandboxHandle) -> None:
    stranger = generate_key()
    async with _client(sandbox, key=stranger) as client:
        with pytest.raises(AuthenticationError) as raised:
            await client.get_key_permissions()
    assert raised.value.status == 401
    assert "not clock skew" in str(raised.value)
    _assert_no_secret(raised.value, stranger)


# Few enough requests to stay inside the sandbox's budgets (a 429 is typed too, but would blur what is tested).
QUERY_VALUES = ["a\x00b", "\u202eBTC-USD", "'; DROP TABLE orders; --", "x" * 10_000, "BTC-USD&product_id=ETH-USD"]


async def test_hostile_product_ids_are_refused_before_sending_or_answered_with_a_typed_error(
    sandbox: SandboxHandle,
) -> None:
    outcomes: dict[str, type[Exception]] = {}
    async with _client(sandbox) as client:
        for product_id in [*HOSTILE_TEXT, "../accounts", "BTC-USD/../../accounts", "BTC-USD?x=1", "%2e%2e", "."]:
            with pytest.raises((InvalidArgumentError, NotFoundError)) as raised:
                await client.get_product(product_id)
            outcomes[product_id] = type(raised.value)
        for product_id in [*QUERY_VALUES, "\ud800"]:
            with pytest.raises(RequestError):  # sent encoded and refused by the exchange, or not sendable at all
                await client.get_product_book(product_id)
    # Refused here, nothing sent: whatever would change the route or be encoded (the JWT would name another path).
    for product_id in ("", " ", "\x00", "\\", "../accounts", "BTC-USD/../../accounts", "BTC-USD?x=1", "%2e%2e", "."):
        assert outcomes[product_id] is InvalidArgumentError
    # Sent as they are, and answered 404 by the exchange.
    for product_id in ("NaN", "1e999999", "UNKNOWN_ENUM_VALUE", "x" * 10_000):
        assert outcomes[product_id] is NotFoundError
