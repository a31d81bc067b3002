"""The sandbox's ASGI app: REST under /api/v3/brokerage and the WebSocket feed at "/", on one port.

Every request passes the same steps: the body cap (413 before a byte of an oversized body is read), faults,
routing (404 when nothing serves the path), JWT check for private routes (text 401), rate limit (429), the
CDN cache of `/market/*`, the handler, then the edge's headers (`trace-id`, `Cache-Control`, ...). Each in
the forms of the exchange's dialect (`cryptoj.sandbox.forms`): the real ones by default.

Local controls (no JWT; a sandbox is a local tool; bodies capped like every other):
    GET  /sandbox/admin/faults    the fault settings in force
    POST /sandbox/admin/faults    replace them (`FaultConfig` fields as JSON; `{}` switches faults off)
    GET  /sandbox/admin/forms     the forms in force: `{"dialect": "real"|"documented", "cdn_ttl": seconds}`
    POST /sandbox/admin/forms     change them (either field)
    POST /sandbox/admin/advance   `{"seconds": N}`: move the simulated clock and step the market
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from cryptoj.sandbox.cdn import CACHE_CONTROL, CdnCache
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.faults import FaultConfig, FaultConfigError
from cryptoj.sandbox.forms import FormsError
from cryptoj.sandbox.keys import AuthFailed
from cryptoj.sandbox.rest.http import (
    JSON_TYPE,
    ApiError,
    Call,
    JsonLayout,
    declared_too_large,
    html_page,
    json_bytes,
    json_response,
    rate_limit_page,
    read_body,
    text_response,
)
from cryptoj.sandbox.rest.routes import PREFIX, Route, match

_log = logging.getLogger(__name__)

__all__ = ["SandboxApp"]

ADMIN_PREFIX = "/sandbox/admin"
# Ten years: further and the clock leaves what datetime can hold, which broke every later market step.
MAX_ADVANCE_SECONDS = 10 * 365 * 86_400
_MARKET_PREFIX = PREFIX + "/market/"


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
        await serve_feed(websocket, self.exchange, forms=self.exchange.forms)

    # --- HTTP --------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._answer(request, send)
        except ClientDisconnect:
            # The client went away before its body was read (a killed process): nothing was done, no one to answer.
            _log.info("client left before sending all of %s %s", request.method, request.url.path)
            return
        if response is not None:
            self._edge_headers(response)
            await response(scope, receive, send)

    async def _answer(self, request: Request, send: Send) -> Response | None:
        """The answer to one HTTP request; None when a fault dropped the connection instead."""
        faults = self.exchange.faults
        path = request.scope["path"]
        refused = declared_too_large(request)
        if refused is not None:
            # Answered before a byte of the body is read: a huge upload costs the server nothing.
            response = json_response(refused.body(), status=refused.status)
        elif path.startswith(ADMIN_PREFIX):
            # No faults here: a reset_rate of 1 must still be switchable off, and admin calls draw nothing
            # from the seeded streams, so they never shift which API requests fail.
            response = await self._admin(request)
        else:
            if faults.fires("reset"):
                await _drop(send)
                return None
            if faults.fires("latency"):
                await asyncio.sleep(faults.config.latency_ms / 1000)
            response, executed_order = await self._api(request)
            if executed_order and faults.fires("drop_after_accept"):
                await _drop(send)  # the order exists; the client never hears so (unknown outcome)
                return None
        return response

    def _edge_headers(self, response: Response) -> None:
        forms = self.exchange.forms
        trace_id = forms.trace_id()
        if forms.real:
            # Fact 18: Coinbase sends the header twice, same decimal value (a joined read gives "X, X").
            response.headers.append("trace-id", trace_id)
            response.headers.append("trace-id", trace_id)
            response.headers["CF-RAY"] = forms.cdn_ray()
        else:
            response.headers["trace-id"] = trace_id

    def _cache_control(self, route: Route, path: str) -> dict[str, str]:
        if not self.exchange.forms.real:
            return {"Cache-Control": "public, max-age=1" if route.public else "no-store"}
        if path.startswith(_MARKET_PREFIX):
            return {"Cache-Control": CACHE_CONTROL}  # fact 20; the CDN adds the rest
        # /time: nothing real recorded, so the documented ~1 s public cache. Private: fact 20's doubled value.
        return {"Cache-Control": "public, max-age=1" if route.public else "no-store,no-store"}

    async def _api(self, request: Request) -> tuple[Response, bool]:
        """Answer one API request; the flag says an order was created (a drop-after-accept candidate)."""
        method, path = request.method, request.url.path
        exchange = self.exchange
        faults, forms = exchange.faults, exchange.forms
        found = match(method, path)
        if found is None:
            return self._not_found(), False
        route, params = found
        headers = self._cache_control(route, path)
        if faults.fires("error_5xx"):
            return self._server_error(headers), False
        owner = None
        if not route.public:
            owner = self._authenticate(request)
            if owner is None:
                return text_response("Unauthorized", status=401, headers=headers), False
        client = request.client.host if request.client else "unknown"
        decision = exchange.limiter.check(owner or client, public=route.public)
        if not forms.real:
            headers |= decision.headers()  # fact 19: no real answer carries these
        if not decision.allowed or faults.fires("error_429"):
            return self._rate_limited(headers), False
        cdn = exchange.cdn if forms.real and path.startswith(_MARKET_PREFIX) else None
        url, status = f"{path}?{request.url.query}", "MISS"
        if cdn is not None:
            status, cached = cdn.lookup(url)
            if cached is not None:
                served = headers | cdn.headers(status, cached)
                return Response(cached.body, headers=served, media_type=cached.media_type), False
        try:
            raw = await read_body(request)
            body = _json(raw)
            drill = request.headers.get("x-sandbox", "")
            call = Call(exchange, method, path, request.query_params, params, body, owner, drill, raw)
            result = await route.handler(call)
        except ApiError as exc:
            return json_response(exc.body(), status=exc.status, headers=headers), False
        created = route.creates_order and bool(result.get("success"))
        encoded = json_bytes(result, layout=self._layout())
        if cdn is not None:
            headers |= cdn.headers(status, cdn.store(url, encoded, JSON_TYPE))
        return Response(encoded, headers=headers, media_type=JSON_TYPE), created

    def _layout(self) -> JsonLayout:
        """Fact 10: the spacing of answers varies; the real forms draw it, the documented ones alternate."""
        if self.exchange.forms.real:
            return JsonLayout.COMMA_SPACED if self.exchange.forms.spaced() else JsonLayout.COMPACT
        self._responses += 1
        return JsonLayout.INDENTED if self._responses % 2 == 0 else JsonLayout.COMPACT

    def _not_found(self) -> Response:
        """Fact 14: an unserved path is text `404 page not found`, or sometimes Coinbase's JSON NOT_FOUND."""
        if self.exchange.forms.not_found_json():
            return json_response(ApiError(404, "NOT_FOUND", "Not Found").body(), status=404)
        return text_response("404 page not found", status=404)

    def _server_error(self, headers: dict[str, str]) -> Response:
        # Fact 21: the gateway's 502 is an HTML page; the documented forms' JSON answer is a 503.
        if self.exchange.forms.real or self.exchange.faults.config.html_errors:
            return Response(html_page(502, "Bad Gateway"), status_code=502, headers=headers, media_type="text/html")
        body = ApiError(503, "UNAVAILABLE", "Service Temporarily Unavailable").body()
        return json_response(body, status=503, headers=headers)

    def _rate_limited(self, headers: dict[str, str]) -> Response:
        if self.exchange.forms.real:
            # Fact 21: an HTML page, with no budget headers (fact 19) and no Retry-After seen.
            return Response(rate_limit_page(), status_code=429, headers=headers, media_type="text/html")
        # The documented forms: a spent budget says so in its headers, an injected 429 reads the same.
        headers = headers | {"Retry-After": headers.get("Retry-After", "1"), "x-ratelimit-remaining": "0"}
        if self.exchange.faults.config.html_errors:
            page = html_page(429, "Too Many Requests")
            return Response(page, status_code=429, headers=headers, media_type="text/html")
        body = ApiError(429, "RESOURCE_EXHAUSTED", "Too Many Requests").body()
        return json_response(body, status=429, headers=headers)

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
        """Local controls: read or set the fault plan and the forms, move the simulated clock."""
        path, method = request.url.path, request.method
        exchange = self.exchange
        try:
            if path == f"{ADMIN_PREFIX}/faults" and method == "GET":
                return json_response(exchange.faults.config.to_dict())
            if path == f"{ADMIN_PREFIX}/faults" and method == "POST":
                exchange.faults.configure(FaultConfig.from_dict(await _json_body(request)))
                return json_response(exchange.faults.config.to_dict())
            if path == f"{ADMIN_PREFIX}/forms" and method == "POST":
                _set_forms(exchange, await _json_body(request))
            if path == f"{ADMIN_PREFIX}/forms" and method in ("GET", "POST"):
                return json_response({"dialect": exchange.forms.dialect.value, "cdn_ttl": exchange.cdn.ttl})
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
        except (FaultConfigError, FormsError) as exc:
            return json_response(ApiError(400, "INVALID_ARGUMENT", str(exc)).body(), status=400)
        except ApiError as exc:
            return json_response(exc.body(), status=exc.status)
        return text_response("404 page not found", status=404)


def _set_forms(exchange: SandboxExchange, body: Any) -> None:
    """Apply `{"dialect": ..., "cdn_ttl": ...}` (either may be left out); nothing changes when one is bad."""
    if not isinstance(body, dict) or set(body) - {"dialect", "cdn_ttl"}:
        raise ApiError(400, "INVALID_ARGUMENT", 'the forms settings are a JSON object of "dialect" and "cdn_ttl"')
    ttl = body.get("cdn_ttl", exchange.cdn.ttl)
    if not isinstance(ttl, int | float) or isinstance(ttl, bool) or not 0 <= ttl <= 86_400:
        raise ApiError(400, "INVALID_ARGUMENT", "cdn_ttl must be a number of seconds from 0 to 86400")
    if "dialect" in body:
        exchange.forms.configure(body["dialect"])
    if ttl != exchange.cdn.ttl:
        exchange.cdn = CdnCache(ttl=float(ttl))


async def _json_body(request: Request) -> Any:
    """The JSON body (read under the cap), or None when there is none."""
    return _json(await read_body(request))


def _json(raw: bytes) -> Any:
    """A body's JSON, or None when there is none (GETs may carry `{}`: the official SDK sends one)."""
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
