"""Request bodies are capped before they are read (issue 17): a huge POST costs the sandbox nothing.

Raw sockets on loopback: the client declares or starts a body it never finishes, and the answer (413)
comes back anyway, which shows the server refused it without waiting for, or holding, the rest.
"""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from cryptoj.sandbox.rest.http import MAX_BODY_BYTES
from tests.integration.sandbox.conftest import PREFIX, Api
from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration


def exchange_raw(sandbox: SandboxHandle, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send a request head (and part of a body), never the rest; the status line's code and the answer."""
    with socket.create_connection(("127.0.0.1", sandbox.server.port), timeout=10) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


def post_head(sandbox: SandboxHandle, path: str, framing: str) -> bytes:
    """A JSON POST's head (signed for API paths) with `framing` (its Content-Length or Transfer-Encoding)."""
    headers = sandbox.auth_headers("POST", path) if path.startswith(PREFIX) else {}
    auth = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST {path} HTTP/1.1\r\nHost: {sandbox.authority}\r\n{auth}Content-Type: application/json\r\n"
        f"{framing}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("path", [PREFIX + "/orders", "/sandbox/admin/faults", "/sandbox/admin/advance"])
def test_a_declared_400_mb_body_is_refused_413_without_a_byte_of_it(sandbox: SandboxHandle, path: str) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {sandbox.authority}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {400 * 1024 * 1024}\r\n\r\n"
    ).encode()
    status, body = exchange_raw(sandbox, head)
    assert status == 413
    assert json.loads(body)["message"] == f"request body too large: 419430400 bytes, at most {MAX_BODY_BYTES} bytes"


@pytest.mark.parametrize("path", [PREFIX + "/orders", "/sandbox/admin/faults"])
def test_a_chunked_body_is_refused_413_once_it_passes_the_cap(sandbox: SandboxHandle, path: str) -> None:
    head = post_head(sandbox, path, "Transfer-Encoding: chunked")
    piece = b" " * 65536
    chunks = (b"%x\r\n" % len(piece) + piece + b"\r\n") * (MAX_BODY_BYTES // len(piece) + 1)
    status, body = exchange_raw(sandbox, head, chunks)  # the upload is never finished
    assert status == 413
    assert "request body too large" in json.loads(body)["message"]


def test_a_body_at_the_cap_is_read(api: Api) -> None:
    body = b"{}" + b" " * (MAX_BODY_BYTES - 2)
    response = api.client.post("/sandbox/admin/faults", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["error_5xx_rate"] == 0.0


def test_an_http_client_sending_a_large_body_gets_the_413_and_the_server_goes_on(api: Api) -> None:
    # The server answers at once and discards the rest of the upload as it arrives (uvicorn, after a response).
    response = api.client.post("/sandbox/admin/faults", content=b"{}" + b" " * (8 * MAX_BODY_BYTES))
    assert response.status_code == 413
    assert api.get("/time", auth=False).status_code == 200


@pytest.mark.parametrize("path", [PREFIX + "/orders", "/sandbox/admin/faults"])
def test_a_client_gone_mid_body_is_let_go_quietly_and_nothing_is_done(
    sandbox: SandboxHandle, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Seen in the long run: a worker killed while sending a create left a ClientDisconnect traceback."""
    head = post_head(sandbox, path, "Content-Length: 400")
    owner = sandbox.key.name.get_secret_value()
    caplog.set_level(logging.INFO, logger="cryptoj.sandbox")
    with socket.create_connection(("127.0.0.1", sandbox.server.port), timeout=10) as sock:
        sock.sendall(head + b'{"client_order_id": "gone", "product_id": "BTC-USD"')  # and then it is gone
    until = time.monotonic() + 10
    while not any("client left" in r.getMessage() for r in caplog.records) and time.monotonic() < until:
        time.sleep(0.02)  # the server's thread notices the disconnect on its own time
    assert [r.getMessage() for r in caplog.records if r.name.startswith("cryptoj.sandbox")] == [
        f"client left before sending all of POST {path}"
    ]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    next_request = f"GET /sandbox/admin/faults HTTP/1.1\r\nHost: {sandbox.authority}\r\n\r\n"
    status, _ = exchange_raw(sandbox, next_request.encode())
    assert status == 200  # the server answers the next client
    assert sandbox.exchange.engine.orders(owner) == []
