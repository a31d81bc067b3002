"""The HTTP building blocks the routes share: calls, typed API errors, and Coinbase-shaped responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.datastructures import QueryParams
from starlette.responses import Response

from cryptoj.errors import CryptojError

if TYPE_CHECKING:
    from cryptoj.sandbox.exchange import SandboxExchange

__all__ = [
    "ApiError",
    "Call",
    "Handler",
    "html_page",
    "json_response",
    "query_cursor",
    "query_int",
    "text_response",
]

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

    @property
    def user(self) -> str:
        """The key name of an authenticated call."""
        if self.owner is None:  # pragma: no cover - private routes always authenticate first
            raise ApiError(401, "UNAUTHENTICATED", "Unauthorized")
        return self.owner


Handler = Callable[[Call], Awaitable[dict[str, Any]]]


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None, spaced: bool = False
) -> Response:
    """A JSON response as Coinbase sends it (`application/json; charset=utf-8`).

    `spaced` pretty-prints: real Coinbase answers vary their spacing, so clients must parse, not compare bytes.
    """
    encoded = _ENCODER.encode(body)
    if spaced:
        encoded = msgspec.json.format(encoded, indent=1)
    return Response(encoded, status_code=status, headers=headers, media_type="application/json; charset=utf-8")


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
