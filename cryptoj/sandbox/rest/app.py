"""The sandbox's ASGI app: REST under /api/v3/brokerage and the WebSocket feed at "/", on one port.

Every request passes the same steps: faults, routing (text 404 when nothing serves the path), JWT check
for private routes (text 401), rate limit (429), the handler, then Coinbase's headers (`trace-id`,
`Cache-Control`, `x-ratelimit-*`).

Local controls (no JWT; a sandbox is a local tool):
    GET  /sandbox/admin/faults    the fault settings in force
    POST /sandbox/admin/faults    replace them (`FaultConfig` fields as JSON; `{}` switches faults off)
    POST /sandbox/admin/advance   `{"seconds": N}`: move the simulated clock and step the market
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.faults import FaultConfig, FaultConfigError
from cryptoj.sandbox.keys import AuthFailed
from cryptoj.sandbox.rest.http import ApiError, Call, html_page, json_response, text_response
from cryptoj.sandbox.rest.routes import match

__all__ = ["SandboxApp"]

ADMIN_PREFIX = "/sandbox/admin"
# Ten years: further and the clock leaves what datetime can hold, which broke every later market step.
MAX_ADVANCE_SECONDS = 10 * 365 * 86_400


class SandboxApp:
    """ASGI application serving one `SandboxExchange`.

    Parameters:
        exchange: the exchange it serves.
        step_interval: real seconds between market steps while serving (None: no background stepping).
    """

    def __init__(self, exchange: SandboxExchange, *, step_interval: float | None = 0.25) -> None:
        self.exchange = exchange
        self._step_interval = step_interval
        self._responses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # --- lifespan and WebSocket --------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        task: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._step_interval is not None:
                    task = asyncio.create_task(self.exchange.run(interval=self._step_interval))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        from cryptoj.sandbox.feed import serve_feed

        websocket = WebSocket(scope, receive, send)
        if scope["path"] != "/":
            await websocket.close(code=1008, reason="no WebSocket at this path")
            return
        await serve_feed(websocket, self.exchange)

    # --- HTTP --------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        trace_id = uuid.uuid4().hex
        faults = self.exchange.faults
        path = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            # No faults here: a reset_rate of 1 must still be switchable off, and admin calls draw nothing
            # from the seeded streams, so they never shift which API requests fail.
            response = await self._admin(request)
        else:
            if faults.fires("reset"):
                await _drop(send)
                return
            if faults.fires("latency"):
                await asyncio.sleep(faults.config.latency_ms / 1000)
            response, executed_order = await self._api(request)
            if executed_order and faults.fires("drop_after_accept"):
                await _drop(send)  # the order exists; the client never hears so (unknown outcome)
                return
        response.headers["trace-id"] = trace_id
        await response(scope, receive, send)

    async def _api(self, request: Request) -> tuple[Response, bool]:
        """Answer one API request; the flag says an order was created (a drop-after-accept candidate)."""
        method, path = request.method, request.url.path
        faults = self.exchange.faults
        found = match(method, path)
        if found is None:
            return text_response("404 page not found", status=404), False
        route, params = found
        public = route.public
        cache = {"Cache-Control": "public, max-age=1" if public else "no-store"}
        if faults.fires("error_5xx"):
            # The gateway's HTML page is a 502; a JSON answer says the service is unavailable.
            if faults.config.html_errors:
                return self._error_page(502, "Bad Gateway", cache), False
            return self._error_page(503, "Service Temporarily Unavailable", cache), False
        owner = None
        if not public:
            owner = self._authenticate(request)
            if owner is None:
                return text_response("Unauthorized", status=401, headers=cache), False
        client = request.client.host if request.client else "unknown"
        decision = self.exchange.limiter.check(owner or client, public=public)
        headers = {**cache, **decision.headers()}
        if not decision.allowed or faults.fires("error_429"):
            if decision.allowed:  # an injected 429 reads like a spent budget
                headers.update({"Retry-After": "1", "x-ratelimit-remaining": "0"})
            return self._error_page(429, "Too Many Requests", headers), False
        try:
            body = await _json_body(request)
            drill = request.headers.get("x-sandbox", "")
            call = Call(self.exchange, method, path, request.query_params, params, body, owner, drill)
            result = await route.handler(call)
        except ApiError as exc:
            return json_response(exc.body(), status=exc.status, headers=headers), False
        created = route.creates_order and bool(result.get("success"))
        self._responses += 1
        return json_response(result, headers=headers, spaced=self._responses % 2 == 0), created

    def _error_page(self, status: int, title: str, headers: dict[str, str]) -> Response:
        if self.exchange.faults.config.html_errors:
            return Response(html_page(status, title), status_code=status, headers=headers, media_type="text/html")
        code = "RESOURCE_EXHAUSTED" if status == 429 else "UNAVAILABLE"
        return json_response(ApiError(status, code, title).body(), status=status, headers=headers)

    def _authenticate(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        hosts = [request.headers.get("host", ""), *self.exchange.hosts]
        try:
            return self.exchange.keys.verify_rest(
                token.strip(), method=request.method, hosts=hosts, path=request.url.path
            )
        except AuthFailed:
            return None

    async def _admin(self, request: Request) -> Response:
        """Local controls: read or set the fault plan, move the simulated clock."""
        path, method = request.url.path, request.method
        exchange = self.exchange
        try:
            if path == f"{ADMIN_PREFIX}/faults" and method == "GET":
                return json_response(exchange.faults.config.to_dict())
            if path == f"{ADMIN_PREFIX}/faults" and method == "POST":
                exchange.faults.configure(FaultConfig.from_dict(await _json_body(request)))
                return json_response(exchange.faults.config.to_dict())
            if path == f"{ADMIN_PREFIX}/advance" and method == "POST":
                body = await _json_body(request)
                seconds = body.get("seconds") if isinstance(body, dict) else None
                if (
                    not isinstance(seconds, int | float)
                    or isinstance(seconds, bool)
                    or not 0 <= seconds <= MAX_ADVANCE_SECONDS  # NaN fails this too
                ):
                    raise ApiError(400, "INVALID_ARGUMENT", f"seconds must be a number from 0 to {MAX_ADVANCE_SECONDS}")
                exchange.advance(float(seconds))
                return json_response({"time": exchange.now().isoformat()})
        except FaultConfigError as exc:
            return json_response(ApiError(400, "INVALID_ARGUMENT", str(exc)).body(), status=400)
        except ApiError as exc:
            return json_response(exc.body(), status=exc.status)
        return text_response("404 page not found", status=404)


async def _json_body(request: Request) -> Any:
    """The JSON body, or None when there is none (GETs may carry `{}`: the official SDK sends one)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "INVALID_ARGUMENT", "request body is not valid JSON") from None


async def _drop(send: Send) -> None:
    """Cut the TCP connection without an answer (uvicorn's transport; elsewhere, fail the request)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionResetError("fault injected: connection dropped")
    transport.abort()
    await asyncio.sleep(0)  # let the server see the disconnect before the app returns
