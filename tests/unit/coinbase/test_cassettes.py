"""Cassettes hold no secret: no JWT, no PEM block, no key name; and the recording hooks scrub them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
import yaml
from vcr.request import Request as VcrRequest

from cryptoj.coinbase.auth import build_rest_jwt
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from tests.unit.coinbase.conftest import server_time
from tests.utils.fixtures.coinbase import (
    CASSETTE_DIR,
    JWT_PATTERN,
    KEY_NAME_PATTERN,
    PEM_PATTERN,
    make_ec_key,
    scrub_request,
    scrub_response,
)

CASSETTES = sorted(CASSETTE_DIR.rglob("*.yaml"))


def test_the_cassette_tree_is_not_empty() -> None:
    assert len(CASSETTES) >= 30


@pytest.mark.parametrize("path", CASSETTES, ids=lambda path: path.name)
def test_no_cassette_holds_a_jwt_pem_block_or_key_name(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not JWT_PATTERN.search(text), "a JWT"
    assert not PEM_PATTERN.search(text), "a PEM block"
    assert not KEY_NAME_PATTERN.search(text), "a key name"
    data = yaml.safe_load(text)
    for interaction in data["interactions"]:
        request_headers = {name.lower() for name in interaction["request"].get("headers", {})}
        response_headers = {name.lower() for name in interaction["response"].get("headers", {})}
        assert "authorization" not in request_headers
        assert "cookie" not in request_headers
        assert "set-cookie" not in response_headers


def test_the_detectors_catch_what_they_are_for() -> None:
    key = make_ec_key()
    token = build_rest_jwt(key, method="GET", host="api.coinbase.com", path="/x")
    assert JWT_PATTERN.search(f"Bearer {token}")
    assert PEM_PATTERN.search(key.private_key_pem().get_secret_value())
    assert KEY_NAME_PATTERN.search('"kid": "organizations/abc/apiKeys/def"')


def test_recording_hooks_scrub_requests_and_lowercase_response_headers() -> None:
    key = make_ec_key()
    token = build_rest_jwt(key, method="POST", host="api.coinbase.com", path="/orders")
    body = f'{{"note": "organizations/o/apiKeys/k", "jwt": "{token}"}}'.encode()
    request = VcrRequest(
        "POST",
        "https://api.coinbase.com/api/v3/brokerage/orders",
        body,
        {"authorization": f"Bearer {token}", "cookie": "a=b", "content-type": "application/json"},
    )
    scrubbed = scrub_request(request)
    assert "authorization" not in {name.lower() for name in scrubbed.headers}
    assert "cookie" not in {name.lower() for name in scrubbed.headers}
    assert token.encode() not in scrubbed.body
    assert b"apiKeys/k" not in scrubbed.body

    response: dict[str, Any] = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"set-cookie": ["__cf_bm=secret"], "content-type": ["application/json"]},
        "body": {"string": f'{{"echo": "{token}"}}'.encode()},
    }
    cleaned = scrub_response(response)
    assert "set-cookie" not in cleaned["headers"]
    assert token.encode() not in cleaned["body"]["string"]
    text_response: dict[str, Any] = {"headers": {}, "body": {"string": "-----BEGIN EC PRIVATE KEY-----"}}
    assert "BEGIN" not in scrub_response(text_response)["body"]["string"]


def test_vcr_config_ignores_localhost_and_leaves_record_mode_to_the_cli(vcr_config: dict[str, Any]) -> None:
    assert vcr_config["ignore_localhost"] is True
    assert "record_mode" not in vcr_config
    assert ("authorization", None) in vcr_config["filter_headers"]


async def test_recording_with_real_keys_writes_no_secret(vcr_config: dict[str, Any], tmp_path: Path) -> None:
    """The --record-mode=once path end to end: vcrpy records a real signed exchange through our hooks."""
    key = make_ec_key("organizations/real-org/apiKeys/real-key")
    seen: list[str] = []

    def venue(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/time"):  # the client's clock check before its first signed request
            return server_time(time.time())
        # A gateway page that echoes the request's token and key name, and sets a cookie.
        seen.append(request.headers["authorization"])
        body = {
            "accounts": [],
            "has_next": False,
            "echo": request.headers["authorization"],
            "kid": key.name.get_secret_value(),
        }
        return httpx.Response(200, json=body, headers={"Set-Cookie": "__cf_bm=abc; path=/", "trace-id": "t-1"})

    cassette = tmp_path / "recorded.yaml"
    recorder = vcr.VCR(**vcr_config)
    with recorder.use_cassette(str(cassette), record_mode="once"):
        async with CoinbaseAdvancedClient(key=key, transport=httpx.MockTransport(venue)) as client:
            await client.list_accounts()
    assert seen
    assert seen[0].startswith("Bearer ey")  # the request really was signed
    text = cassette.read_text(encoding="utf-8")
    assert "/api/v3/brokerage/accounts" in text  # the exchange really was recorded
    assert not JWT_PATTERN.search(text)
    assert not KEY_NAME_PATTERN.search(text)
    assert not PEM_PATTERN.search(text)
    time_check, interaction = yaml.safe_load(text)["interactions"]  # the clock check, then the signed request
    assert time_check["request"]["uri"].endswith("/brokerage/time")
    assert "authorization" not in {name.lower() for name in interaction["request"]["headers"]}
    assert "set-cookie" not in {name.lower() for name in interaction["response"]["headers"]}
    assert "trace-id" in {name.lower() for name in interaction["response"]["headers"]}
