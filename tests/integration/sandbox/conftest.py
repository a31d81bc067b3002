"""Helpers for talking to the in-process sandbox over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.utils.fixtures.sandbox import SandboxHandle

PREFIX = "/api/v3/brokerage"


class Api:
    """A thin signed client: every call gets a fresh JWT for its own method and path."""

    def __init__(self, handle: SandboxHandle, client: httpx.Client) -> None:
        self.handle = handle
        self.client = client

    def get(self, path: str, *, auth: bool = True, **params: Any) -> httpx.Response:
        headers = self.handle.auth_headers("GET", PREFIX + path) if auth else {}
        return self.client.get(PREFIX + path, params=params, headers=headers)

    def post(self, path: str, body: Any, *, auth: bool = True) -> httpx.Response:
        headers = self.handle.auth_headers("POST", PREFIX + path) if auth else {}
        return self.client.post(PREFIX + path, json=body, headers=headers)

    def order(self, coid: str, config_key: str, *, side: str = "BUY", **config: str) -> httpx.Response:
        body = {
            "client_order_id": coid,
            "product_id": "BTC-USD",
            "side": side,
            "order_configuration": {config_key: config},
        }
        return self.post("/orders", body)


def use_forms(api: Api, dialect: str, **settings: float) -> None:
    """Switch the running sandbox's forms (`real` or `documented`) through its admin route."""
    response = api.client.post("/sandbox/admin/forms", json={"dialect": dialect, **settings})
    assert response.status_code == 200, response.text


def best_ask(api: Api) -> Decimal:
    """BTC-USD's best ask now."""
    price = api.get("/best_bid_ask", product_ids="BTC-USD").json()["pricebooks"][0]["asks"][0]["price"]
    return Decimal(price)


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[Api]:
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as client:
        yield Api(sandbox, client)
