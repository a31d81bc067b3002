"""Helpers for driving the client through httpx.MockTransport handlers (faults injected at the transport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from tests.utils.fixtures.coinbase import FakeTime

Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """A transport handler that answers from a list of steps and records every request it saw.

    A step is an httpx.Response, an exception to raise (a transport fault), or a callable taking the request.
    """

    def __init__(self, *steps: httpx.Response | Exception | Handler) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)


def json_response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON answer with Coinbase's private headers."""
    base = {"trace-id": "trace-123", "Cache-Control": "no-store"}
    base.update(headers or {})
    return httpx.Response(status, json=body, headers=base)


MakeClient = Callable[..., CoinbaseAdvancedClient]


@pytest.fixture
def make_client(ec_key: CdpKey, fake_time: FakeTime) -> MakeClient:
    """Build clients on a Script (MockTransport holds no sockets, so nothing to tear down)."""

    def build(script: Script, **options: Any) -> CoinbaseAdvancedClient:
        options.setdefault("key", ec_key)
        kwargs = {**fake_time.client_kwargs(), **options}
        return CoinbaseAdvancedClient(transport=httpx.MockTransport(script), **kwargs)

    return build
