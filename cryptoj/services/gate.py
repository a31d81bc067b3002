"""The live-trading gate: the one place that decides where requests go and whether orders may be written.

Two locks, one rule. `order_writing_refusal` says, from `Settings` alone, whether this run may write
orders (create, edit, cancel, close; also converts and fund moves) and, if not, which setting is missing.
The composition root (`cryptoj.services.runtime`) consults it to decide which executor to build: in paper
mode no order-writing object exists at all. Beneath that, every client the root builds sends through an
`OrderWriteGuard` transport, which refuses any request that writes, before it leaves the process, unless
the same rule allows it. So even code that reaches the raw client cannot place an order by accident.

The rule: orders are written only in live execution; on Coinbase (any host but its static sandbox)
only when exchange=coinbase, execution=live, live_trading_confirmed=true and a key are all set.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from cryptoj.config import (
    COINBASE_REST_URL,
    COINBASE_WS_MARKET_URL,
    COINBASE_WS_USER_URL,
    ExchangeName,
    ExecutionMode,
    Settings,
)
from cryptoj.errors import ConfigurationError

__all__ = [
    "COINBASE_STATIC_SANDBOX_HOST",
    "Endpoints",
    "LiveTradingRefused",
    "OrderWriteGuard",
    "endpoints_for",
    "is_order_writing",
    "is_real_coinbase_host",
    "order_writing_refusal",
    "require_order_writing",
]

# Coinbase's static sandbox answers with canned bodies and holds no money: recording against it is safe.
COINBASE_STATIC_SANDBOX_HOST = "api-sandbox.coinbase.com"
_API_PREFIX = "/api/v3/brokerage"
# POSTs that change nothing: the only writes a read-only client may send.
_READ_ONLY_POSTS = frozenset({f"{_API_PREFIX}/orders/preview", f"{_API_PREFIX}/orders/edit_preview"})


class LiveTradingRefused(ConfigurationError):
    """An order-writing request, or an executor that sends orders, that the settings do not allow.

    The message names every missing setting; nothing was sent.
    """


def is_real_coinbase_host(host: str) -> bool:
    """Whether `host` is Coinbase's real exchange (any coinbase.com host but the static sandbox)."""
    host = host.lower().rstrip(".")
    return (host == "coinbase.com" or host.endswith(".coinbase.com")) and host != COINBASE_STATIC_SANDBOX_HOST


def is_order_writing(method: str, path: str) -> bool:
    """Whether a request could change orders or funds: anything but GET/HEAD and the preview POSTs."""
    return method.upper() not in ("GET", "HEAD", "OPTIONS") and path not in _READ_ONLY_POSTS


def order_writing_refusal(settings: Settings, *, real_coinbase: bool | None = None) -> str | None:
    """Why these settings may not write orders (naming each missing setting), or None when they may.

    `real_coinbase` says whether the requests go to Coinbase's real exchange; by default that is what
    exchange=coinbase means.
    """
    if real_coinbase is None:
        real_coinbase = settings.exchange is ExchangeName.COINBASE
    missing: list[str] = []
    if settings.execution is not ExecutionMode.LIVE:
        missing.append(f"CRYPTOJ_EXECUTION is {settings.execution.value}, not live")
    if real_coinbase:
        if settings.exchange is not ExchangeName.COINBASE:
            missing.append(f"CRYPTOJ_EXCHANGE is {settings.exchange.value}, not coinbase")
        if not settings.live_trading_confirmed:
            missing.append("CRYPTOJ_LIVE_TRADING_CONFIRMED is not true")
        if not settings.has_credentials:
            missing.append("no API key is set (CRYPTOJ_API_KEY_FILE, or CRYPTOJ_API_KEY_NAME and _PRIVATE_KEY)")
    if not missing:
        return None
    where = "Coinbase (real money)" if real_coinbase else "the exchange"
    return f"orders are not sent to {where}: " + "; ".join(missing)


def require_order_writing(settings: Settings, *, real_coinbase: bool | None = None) -> None:
    """Raise `LiveTradingRefused` unless the settings allow writing orders."""
    refusal = order_writing_refusal(settings, real_coinbase=real_coinbase)
    if refusal is not None:
        raise LiveTradingRefused(refusal)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where a run's requests go.

    Parameters:
        rest_url: scheme and host[:port] of the REST API.
        ws_market_url, ws_user_url: the WebSocket feeds (one URL for both on the sandbox).
        real_coinbase: whether these reach Coinbase's real exchange (the gate's strict rule applies).
    """

    rest_url: str
    ws_market_url: str
    ws_user_url: str
    real_coinbase: bool


def endpoints_for(settings: Settings, *, sandbox_url: str | None = None) -> Endpoints:
    """The endpoints `settings.exchange` names; never a fallback to Coinbase for the sandbox.

    For exchange=sandbox the URLs are `rest_url` (a sandbox the user runs) or `sandbox_url` (the one this
    process started); pointing a "sandbox" at a coinbase.com host is refused, since it would trade real
    money under the sandbox's looser rule.
    """
    if settings.exchange is ExchangeName.COINBASE:
        rest = settings.rest_url or COINBASE_REST_URL
        return Endpoints(
            rest_url=rest,
            ws_market_url=settings.ws_market_url or COINBASE_WS_MARKET_URL,
            ws_user_url=settings.ws_user_url or COINBASE_WS_USER_URL,
            real_coinbase=is_real_coinbase_host(httpx.URL(rest).host),
        )
    rest_url = settings.rest_url or sandbox_url
    if rest_url is None:
        raise ConfigurationError("exchange=sandbox needs the sandbox's URL: set CRYPTOJ_REST_URL or start one")
    ws_default = httpx.URL(rest_url).copy_with(scheme="wss" if rest_url.startswith("https") else "ws")
    endpoints = Endpoints(
        rest_url=rest_url,
        ws_market_url=settings.ws_market_url or str(ws_default).rstrip("/"),
        ws_user_url=settings.ws_user_url or settings.ws_market_url or str(ws_default).rstrip("/"),
        real_coinbase=False,
    )
    for name in ("rest_url", "ws_market_url", "ws_user_url"):
        if is_real_coinbase_host(httpx.URL(getattr(endpoints, name)).host):
            raise ConfigurationError(
                f"CRYPTOJ_{name.upper()} points at Coinbase while CRYPTOJ_EXCHANGE is sandbox: "
                "set CRYPTOJ_EXCHANGE=coinbase to talk to Coinbase"
            )
    return endpoints


class OrderWriteGuard(httpx.AsyncBaseTransport):
    """A transport that refuses order-writing requests the settings do not allow, before anything is sent.

    Parameters:
        inner: the transport that really sends.
        settings: the run's settings, judged by `order_writing_refusal` per request host.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, *, settings: Settings) -> None:
        self._inner = inner
        self._settings = settings

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` unless it writes orders and the gate is closed for its host."""
        if is_order_writing(request.method, request.url.path):
            real = is_real_coinbase_host(request.url.host) or self._settings.exchange is ExchangeName.COINBASE
            require_order_writing(self._settings, real_coinbase=real)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
