"""The composition root: keys and budgets from settings, the local sandbox started and stopped with the run."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from cryptoj.coinbase.auth import CdpKey
from cryptoj.config import load_settings
from cryptoj.errors import ConfigurationError
from cryptoj.services.runtime import load_key, open_runtime


def test_the_key_comes_from_a_key_file_or_inline_settings(ec_key: CdpKey, tmp_path: Path) -> None:
    name, pem = ec_key.name.get_secret_value(), ec_key.private_key_pem().get_secret_value()
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps({"name": name, "privateKey": pem}))
    from_file = load_key(load_settings(home=tmp_path, api_key_file=key_file))
    inline = load_key(load_settings(home=tmp_path, api_key_name=name, api_private_key=pem))
    assert from_file is not None
    assert inline is not None
    assert from_file.name.get_secret_value() == inline.name.get_secret_value() == name
    assert load_key(load_settings(home=tmp_path)) is None


async def test_the_client_takes_the_settings_url_key_and_budgets(ec_key: CdpKey, tmp_path: Path) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text(
        json.dumps({"name": ec_key.name.get_secret_value(), "privateKey": ec_key.private_key_pem().get_secret_value()})
    )
    settings = load_settings(
        home=tmp_path, api_key_file=key_file, rest_url="http://127.0.0.1:9999", private_requests_per_second=5.0
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/transaction_summary"):
            return httpx.Response(200, json={"fee_tier": {"maker_fee_rate": "0.001", "taker_fee_rate": "0.002"}})
        return httpx.Response(200, json={"accounts": []})

    async with open_runtime(settings, transport=httpx.MockTransport(handler)) as rt:
        await rt.client.list_accounts()
        assert rt.client.limits.private_requests_per_second == 5.0
        assert rt.sandbox_url is None
    assert {r.url.host for r in seen} == {"127.0.0.1"}
    signed = [r for r in seen if not r.url.path.endswith("/time")]  # the clock check is public: unsigned
    assert signed
    assert all(r.headers["authorization"].startswith("Bearer ") for r in signed)


async def test_with_no_settings_a_local_sandbox_serves_the_run_and_stops_with_it(tmp_path: Path) -> None:
    async with open_runtime(load_settings(home=tmp_path)) as rt:
        assert rt.sandbox_url is not None
        assert rt.sandbox_url.startswith("http://127.0.0.1:")
        assert rt.endpoints.rest_url == rt.sandbox_url
        assert not rt.endpoints.real_coinbase
        quotes = await rt.exchange.best_bid_ask(["BTC-USD"])
        assert quotes["BTC-USD"].mid is not None
        port = httpx.URL(rt.sandbox_url).port
    assert port is not None
    with socket.socket() as probe:  # the port is free again once the run ends
        probe.bind(("127.0.0.1", port))


async def test_a_sandbox_port_in_use_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError, match=rf"127\.0\.0\.1:{port}.*in use.*CRYPTOJ_SANDBOX_PORT"):
            async with open_runtime(load_settings(home=tmp_path, sandbox_port=port)):
                pass
