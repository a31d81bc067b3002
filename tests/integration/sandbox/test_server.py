"""The in-process runner: a context manager in a thread, or the calling thread as the CLI runs it."""

from __future__ import annotations

import threading

import httpx
import pytest

from cryptoj.coinbase.auth import build_rest_jwt
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.keys import generate_key
from cryptoj.sandbox.server import SandboxServer, SandboxStartError

pytestmark = pytest.mark.integration


def test_the_runner_is_a_context_manager_on_a_free_port() -> None:
    exchange = SandboxExchange(seed=1, clock=SimClock())
    with SandboxServer(exchange, step_interval=None) as server:
        assert server.port > 0
        assert server.ws_url == f"ws://127.0.0.1:{server.port}"
        assert exchange.hosts == [f"127.0.0.1:{server.port}", f"localhost:{server.port}"]
        assert httpx.get(server.base_url + "/api/v3/brokerage/time").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/api/v3/brokerage/time")


def test_an_ipv6_address_is_bracketed_in_urls_and_jwt_uris() -> None:
    exchange = SandboxExchange(seed=1, clock=SimClock())
    key = generate_key()
    exchange.trust(key)
    with SandboxServer(exchange, host="::1", step_interval=None) as server:
        assert server.base_url == f"http://[::1]:{server.port}"
        assert server.ws_url == f"ws://[::1]:{server.port}"
        path = "/api/v3/brokerage/accounts"
        token = build_rest_jwt(key, method="GET", host=server.authority, path=path)
        response = httpx.get(server.base_url + path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200


def test_run_forever_serves_in_the_calling_thread_until_stopped() -> None:
    server = SandboxServer(SandboxExchange(seed=1, clock=SimClock()))
    announced = threading.Event()
    thread = threading.Thread(target=server.run_forever, kwargs={"announce": lambda s: announced.set()})
    thread.start()
    try:
        assert announced.wait(10)
        # The socket listens from the announcement on: the request waits for the loop to accept it.
        assert httpx.get(server.base_url + "/api/v3/brokerage/time", timeout=10).status_code == 200
    finally:
        server.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_a_taken_port_is_a_clear_error() -> None:
    with SandboxServer(SandboxExchange(seed=1)) as first, pytest.raises(SandboxStartError, match="in use"):
        SandboxServer(SandboxExchange(seed=1), port=first.port).start()
