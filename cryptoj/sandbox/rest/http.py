"""The HTTP building blocks the routes share: calls, typed API errors, and Coinbase-shaped responses."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from cryptoj.errors import CryptojError

if TYPE_CHECKING:
    from cryptoj.sandbox.exchange import SandboxExchange

__all__ = [
    "JSON_TYPE",
    "MAX_BODY_BYTES",
    "PREFIX",
    "ApiError",
    "Call",
    "Handler",
    "JsonLayout",
    "declared_too_large",
    "html_page",
    "json_bytes",
    "json_response",
    "key_position",
    "query_cursor",
    "query_int",
    "rate_limit_page",
    "read_body",
    "text_response",
]

PREFIX = "/api/v3/brokerage"

# No Coinbase request body comes near this (an order is under 2 KB, a 100-id batch cancel about 4 KB): a
# larger one is refused before it is read, so no request can make the server hold what it sends.
MAX_BODY_BYTES = 1 << 20

# Decimals left as Decimal become JSON numbers: only transaction_summary's volumes and fees, which
# Coinbase sends as numbers. Every other amount is already a decimal string.
_ENCODER = msgspec.json.Encoder(decimal_format="number")


class ApiError(CryptojError):
    """An error answer in Coinbase's JSON shape: `{"error", "error_details", "message"}`.

    Parameters:
        status: the HTTP status.
        code: the `error` field, e.g. ``INVALID_ARGUMENT`` or ``NOT_FOUND``.
        message: `message` and `error_details`.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"error": self.code, "error_details": self.message, "message": self.message}


@dataclass(slots=True)
class Call:
    """One routed request: who made it, what it carries, and the exchange it acts on."""

    exchange: SandboxExchange
    method: str
    path: str
    query: QueryParams
    path_params: dict[str, str]
    body: Any
    owner: str | None = None
    drill: str = ""  # Coinbase sandbox's `X-Sandbox` error drill, when the request names one
    raw: bytes = b""  # the body as sent (error texts point into it, as Coinbase's do)

    @property
    def user(self) -> str:
        """The key name of an authenticated call."""
        if self.owner is None:  # pragma: no cover - private routes always authenticate first
            raise ApiError(401, "UNAUTHENTICATED", "Unauthorized")
        return self.owner


Handler = Callable[[Call], Awaitable[dict[str, Any]]]


class JsonLayout(StrEnum):
    """How a JSON answer is spaced; real Coinbase answers vary it, so clients must parse, never compare bytes."""

    COMPACT = "compact"  # {"a":"b","c":1}
    COMMA_SPACED = "comma"  # {"a":"b", "c":1}: protobuf's JSON adds a space after commas in some builds
    INDENTED = "indented"  # one key a line (the documented forms' alternative)


_STRING = re.compile(rb'("(?:[^"\\]|\\.)*")')
_TEXT_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_COLON = re.compile(r"\s*:")


def _space_commas(encoded: bytes) -> bytes:
    # Strings split out first (odd indices), so a comma inside a value is never touched.
    parts = _STRING.split(encoded)
    parts[::2] = [part.replace(b",", b", ") for part in parts[::2]]
    return b"".join(parts)


def json_bytes(body: Any, *, layout: JsonLayout = JsonLayout.COMPACT) -> bytes:
    """`body` encoded as JSON in `layout`."""
    encoded = _ENCODER.encode(body)
    if layout == JsonLayout.INDENTED:
        return msgspec.json.format(encoded, indent=1)
    if layout == JsonLayout.COMMA_SPACED:
        return _space_commas(encoded)
    return encoded


JSON_TYPE = "application/json; charset=utf-8"


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None, layout: JsonLayout = JsonLayout.COMPACT
) -> Response:
    """A JSON response as Coinbase sends it (`application/json; charset=utf-8`), spaced as `layout` says."""
    return Response(json_bytes(body, layout=layout), status_code=status, headers=headers, media_type=JSON_TYPE)


def text_response(text: str, *, status: int, headers: dict[str, str] | None = None) -> Response:
    """A plain-text response (401 `Unauthorized`, 404 `404 page not found`)."""
    return Response(text, status_code=status, headers=headers, media_type="text/plain; charset=utf-8")


def html_page(status: int, title: str) -> str:
    """An HTML error page like the ones Coinbase's CDN and gateway answer with."""
    return (
        "<!DOCTYPE html>\n<html>\n<head><title>"
        f"{status} {title}</title></head>\n<body>\n<center><h1>{status} {title}</h1></center>\n"
        "<hr><center>cloudflare</center>\n</body>\n</html>\n"
    )


def rate_limit_page() -> str:
    """The HTML page Coinbase's gateway answers a rate-limited request with (a browser page, titled Coinbase)."""
    return (
        '<html>\n  <head>\n    <title>Coinbase</title>\n    <meta name="robots" content="noindex">\n  </head>\n'
        "  <body>\n    <h1>429 Too Many Requests</h1>\n    <p>Too many requests: slow down and try again.</p>\n"
        "  </body>\n</html>\n"
    )


def _too_large(size: int | None) -> ApiError:
    sent = f"{size} bytes" if size is not None else "more"
    return ApiError(413, "INVALID_ARGUMENT", f"request body too large: {sent}, at most {MAX_BODY_BYTES} bytes")


def declared_too_large(request: Request) -> ApiError | None:
    """The 413 for a request whose Content-Length is over the cap, decided before any of the body is read."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _too_large(int(declared))
    return None


async def read_body(request: Request) -> bytes:
    """The body, read chunk by chunk; `ApiError` 413 as soon as it passes the cap (chunked uploads too)."""
    if (refused := declared_too_large(request)) is not None:
        raise refused
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(None)
        chunks.append(chunk)
    return b"".join(chunks)


def key_position(raw: bytes, name: str) -> tuple[int, int]:
    """Line and column (from 1) of the first object key `name` in a JSON text, as protobuf's parser reports it."""
    text = raw.decode("utf-8", "replace")
    # Strings found one after another: each match starts at an opening quote, never inside a string.
    for found in _TEXT_STRING.finditer(text):
        if _COLON.match(text, found.end()) and json.loads(found.group()) == name:
            start = found.start()
            line = text.count("\n", 0, start) + 1
            return line, start - (text.rfind("\n", 0, start) + 1) + 1
    return 1, 1


def query_int(call: Call, name: str, *, default: int, low: int = 0, high: int | None = None) -> int:
    """An integer query parameter, or 400 INVALID_ARGUMENT."""
    text = call.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", f"{name} argument is invalid") from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, "INVALID_ARGUMENT", f"{name} argument is invalid")
    return value


def query_cursor(call: Call) -> int:
    """The `cursor` query parameter (an offset; absent or empty is 0), or 400 INVALID_ARGUMENT."""
    text = call.query.get("cursor") or "0"
    if not (text.isascii() and text.isdigit()):  # str.isdigit alone passes "²", which int() refuses
        raise ApiError(400, "INVALID_ARGUMENT", "cursor argument is invalid")
    return int(text)
