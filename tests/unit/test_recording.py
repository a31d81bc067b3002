"""Recording cassettes honours the user's rest_url and never places a real order by accident (issue 14)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml

from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.models import (
    ClosePositionRequest,
    CreateOrderRequest,
    EditOrderRequest,
    LimitConfig,
    OrderConfiguration,
    PreviewOrderRequest,
)
from cryptoj.config import Settings, load_settings
from tests.utils.fixtures.coinbase import CASSETTE_DIR, make_ec_key
from tests.utils.fixtures.environment import user_settings
from tests.utils.fixtures.recording import reaches_network, recorded_base_url, recording_client

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "coinbase" / "examples"
SANDBOX = "https://api-sandbox.coinbase.com"
Call = Callable[[CoinbaseAdvancedClient], Awaitable[Any]]


def _order() -> CreateOrderRequest:
    config = LimitConfig(base_size=Decimal("0.001"), limit_price=Decimal("10000.00"), post_only=False)
    return CreateOrderRequest(
        client_order_id="0000-00000-000000",
        product_id="BTC-USD",
        side="BUY",
        order_configuration=OrderConfiguration(limit_limit_gtc=config),
    )


def _recorded_body(cassette: str, path: str) -> bytes:
    data = yaml.safe_load((CASSETTE_DIR / cassette).read_text(encoding="utf-8"))
    body: str = next(
        item["response"]["body"]["string"] for item in data["interactions"] if item["request"]["uri"].endswith(path)
    )
    return body.encode("utf-8")


class Network:
    """The network a recording would reach: answers with a documented body and keeps what was sent.

    The client's clock check (GET /time, before its first signed request) is answered with the time now and
    kept apart in `clock_checks`: it reads, and every test here is about the request under test.
    """

    def __init__(self, body: bytes) -> None:
        self.sent: list[httpx.Request] = []
        self.clock_checks: list[httpx.Request] = []
        self._body = body

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.method == "GET" and request.url.path == "/api/v3/brokerage/time":
                self.clock_checks.append(request)
                now = str(int(time.time()))
                return httpx.Response(200, json={"epochSeconds": now, "epochMillis": now + "000"})
            self.sent.append(request)
            return httpx.Response(200, content=self._body, headers={"Content-Type": "application/json"})

        return httpx.MockTransport(handler)


def _client(settings: Settings, network: Network, *, allow: bool = False) -> CoinbaseAdvancedClient:
    return recording_client(
        settings, fallback_key=make_ec_key(), allow_real_orders=allow, transport=network.transport()
    )


async def test_a_recording_sends_to_the_rest_url_the_user_set() -> None:
    network = Network((EXAMPLES / "create_order_success.json").read_bytes())
    async with _client(load_settings(rest_url=SANDBOX), network) as client:
        response = await client.create_order(_order())
    assert response.success_response is not None
    assert [request.url.host for request in network.sent] == ["api-sandbox.coinbase.com"]


ORDER_WRITES: dict[str, Call] = {
    "create": lambda client: client.create_order(_order()),
    "cancel": lambda client: client.cancel_orders(["0000-00000"]),
    "edit": lambda client: client.edit_order(
        EditOrderRequest(order_id="0000-000000-000000", price=Decimal("10001.00"), size=Decimal("0.001"))
    ),
    "close": lambda client: client.close_position(
        ClosePositionRequest(client_order_id="close-0001", product_id="BTC-USD", size=Decimal("0.001"))
    ),
}


@pytest.mark.parametrize("write", sorted(ORDER_WRITES))
async def test_recording_an_order_write_on_coinbase_is_refused_before_anything_is_sent(write: str) -> None:
    network = Network(b"{}")
    async with _client(load_settings(), network) as client:
        with pytest.raises(pytest.fail.Exception, match=r"refusing to record POST /api/v3/brokerage/orders") as caught:
            await ORDER_WRITES[write](client)
    assert network.sent == []
    assert "api.coinbase.com" in str(caught.value)
    assert "CRYPTOJ_REST_URL=https://api-sandbox.coinbase.com" in str(caught.value)


async def test_the_explicit_confirmation_lets_an_order_reach_coinbase() -> None:
    network = Network((EXAMPLES / "create_order_success.json").read_bytes())
    async with _client(load_settings(), network, allow=True) as client:
        await client.create_order(_order())
    assert [(request.method, request.url.host) for request in network.sent] == [("POST", "api.coinbase.com")]


async def test_reads_and_previews_on_coinbase_are_recorded() -> None:
    accounts = Network((EXAMPLES / "list_accounts.json").read_bytes())
    async with _client(load_settings(), accounts) as client:
        await client.list_accounts()
    preview = Network(_recorded_body("orders_preview.yaml", "/orders/preview"))
    request = PreviewOrderRequest(product_id="BTC-USD", side="BUY", order_configuration=_order().order_configuration)
    async with _client(load_settings(), preview) as client:
        await client.preview_order(request)
    assert [request.url.path for request in accounts.sent + preview.sent] == [
        "/api/v3/brokerage/accounts",
        "/api/v3/brokerage/orders/preview",
    ]


async def test_a_recording_signs_with_the_users_key_file(tmp_path: Path) -> None:
    key = make_ec_key("organizations/user-org/apiKeys/user-key")
    key_file = tmp_path / "key.json"
    key_file.write_text(
        json.dumps({"name": key.name.get_secret_value(), "privateKey": key.private_key_pem().get_secret_value()})
    )
    network = Network((EXAMPLES / "list_accounts.json").read_bytes())
    async with _client(load_settings(api_key_file=key_file, rest_url=SANDBOX), network) as client:
        await client.list_accounts()
    token = network.sent[0].headers["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, key.public_key_pem(), algorithms=["ES256"])
    assert claims["uri"] == "GET api-sandbox.coinbase.com/api/v3/brokerage/accounts"


@pytest.mark.parametrize(
    ("mode", "exists", "sends"),
    [
        (None, True, False),  # pytest-recording's default
        ("none", True, False),
        ("none", False, False),
        ("once", True, False),  # an existing cassette replays
        ("once", False, True),
        ("new_episodes", True, True),
        ("all", True, True),
        ("rewrite", True, True),
    ],
)
def test_only_a_cassette_being_recorded_reaches_the_network(
    tmp_path: Path, mode: str | None, exists: bool, sends: bool
) -> None:
    cassette = tmp_path / "orders_create_success.yaml"
    if exists:
        cassette.write_text("interactions: []\nversion: 1\n")
    assert reaches_network(mode, cassette) is sends


def test_a_replay_uses_the_host_its_cassette_was_recorded_from(tmp_path: Path) -> None:
    assert recorded_base_url(CASSETTE_DIR / "orders_create_success.yaml") == "https://api.coinbase.com"
    recorded = tmp_path / "orders_create_success.yaml"
    recorded.write_text(
        yaml.safe_dump({"interactions": [{"request": {"uri": f"{SANDBOX}/api/v3/brokerage/orders"}}], "version": 1})
    )
    assert recorded_base_url(recorded) == SANDBOX
    assert recorded_base_url(tmp_path / "missing.yaml") == "https://api.coinbase.com"


def test_a_replay_never_reads_the_users_settings(request: pytest.FixtureRequest) -> None:
    assert request.config.getoption("--record-mode") in (None, "none")
    assert user_settings(request.config) is None


async def test_without_a_key_of_the_users_a_throwaway_one_signs_for_the_static_sandbox() -> None:
    network = Network((EXAMPLES / "list_accounts.json").read_bytes())
    async with _client(load_settings(rest_url=SANDBOX), network) as client:
        await client.list_accounts()  # the static sandbox checks no key, but the client signs every private call
    assert network.sent[0].headers["authorization"].startswith("Bearer ")
