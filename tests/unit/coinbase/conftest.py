"""Helpers for driving the client through httpx.MockTransport handlers (faults injected at the transport)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
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
    `GET /time` (which the client reads before its first signed request and after a 401) is answered apart,
    from the test's wall clock plus `server_offset` seconds, and recorded in `time_requests`; with
    `server_offset=None` it is a step like any other request.
    """

    def __init__(self, *steps: httpx.Response | Exception | Handler, server_offset: float | None = 0.0) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []
        self.time_requests: list[httpx.Request] = []
        self.server_offset = server_offset
        self.wall: Callable[[], float] = time.time  # make_client sets the test's fake wall clock

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.server_offset is not None and request.url.path.endswith("/brokerage/time"):
            self.time_requests.append(request)
            return server_time(self.wall() + self.server_offset)
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)


def server_time(epoch: float) -> httpx.Response:
    """Coinbase's `GET /time` answer for `epoch` seconds (int64s as strings, as Coinbase sends them)."""
    millis = int(epoch * 1000)
    iso = datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {"iso": iso, "epochSeconds": str(millis // 1000), "epochMillis": str(millis)}
    return httpx.Response(200, json=body, headers={"Cache-Control": "public, max-age=1"})


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
        script.wall = fake_time.wall
        kwargs = {**fake_time.client_kwargs(), **options}
        return CoinbaseAdvancedClient(transport=httpx.MockTransport(script), **kwargs)

    return build
