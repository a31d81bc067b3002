"""The composition root: the one place that turns `Settings` into the parts of a run.

`open_runtime(settings)` builds, in order: the key; the local sandbox when exchange=sandbox and no URL is
given; the endpoints `exchange` names (never a fallback to Coinbase); a REST client whose transport is
wrapped in the live-trading guard; the store; the exchange service; the risk service; and the executor.
The executor is where the gate bites: paper execution gets a `PaperExecutor`, which holds no order
writer at all; live execution gets a `LiveExecutor` only if `OrderWriter.open` agrees, and otherwise the
run stops with `LiveTradingRefused` naming what is missing, before anything is sent.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import Engine

from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.limits import VenueLimits
from cryptoj.coinbase.tls import default_tls
from cryptoj.coinbase.websocket import WebSocketHandler
from cryptoj.config import ExchangeName, ExecutionMode, Settings
from cryptoj.domain.paper import FeeRates
from cryptoj.errors import ConfigurationError
from cryptoj.services.exchange import ENTRY_FEES, ExchangeService
from cryptoj.services.executor import OrderExecutor
from cryptoj.services.gate import Endpoints, OrderWriteGuard, endpoints_for
from cryptoj.services.live import LiveExecutor
from cryptoj.services.orders import OrderWriter
from cryptoj.services.paper_executor import PaperExecutor
from cryptoj.services.risk import RiskService, limits_from
from cryptoj.store import open_store

if TYPE_CHECKING:
    from cryptoj.sandbox.server import SandboxServer

__all__ = ["Runtime", "load_key", "open_runtime", "paper_fees", "start_sandbox"]


@dataclass(frozen=True)
class Runtime:
    """The parts of one run, built from one `Settings` by `open_runtime`.

    Parameters:
        settings: what they were built from.
        endpoints: where requests go.
        client: the REST client (order writes pass the live-trading guard).
        engine: the store.
        exchange: market data, accounts and order reads.
        risk: the risk limits and the kill switch.
        executor: paper or live, as `settings.execution` says and the gate allows.
        key: the API key (None: public data only).
        sandbox_url: the local sandbox this run started, if any.
    """

    settings: Settings
    endpoints: Endpoints
    client: CoinbaseAdvancedClient
    engine: Engine
    exchange: ExchangeService
    risk: RiskService
    executor: OrderExecutor
    key: CdpKey | None
    sandbox_url: str | None
    ssl_context: ssl.SSLContext | None = None

    def websocket(self, *, user: bool = False) -> WebSocketHandler:
        """A WebSocket handler on the market feed (or the user feed); open it with `async with`."""
        url = self.endpoints.ws_user_url if user else self.endpoints.ws_market_url
        return WebSocketHandler(url=url, key=self.key, ssl=self.ssl_context)


def load_key(settings: Settings) -> CdpKey | None:
    """The API key the settings give (a key file, or name and private key), or None."""
    if settings.api_key_file is not None:
        return CdpKey.from_file(settings.api_key_file)
    if settings.api_key_name is not None and settings.api_private_key is not None:
        return CdpKey.from_secrets(settings.api_key_name, settings.api_private_key)
    return None


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[Runtime]:
    """Build every part of a run from `settings`, and close them all when the block ends.

    `transport` replaces the network under the guard (tests record what would be sent); `clock` gives the
    time to the services.
    """
    now = clock or (lambda: datetime.now(UTC))
    key = load_key(settings)
    async with AsyncExitStack() as stack:
        sandbox_url = None
        if settings.exchange is ExchangeName.SANDBOX and settings.rest_url is None:
            sandbox_url, key = await _start_sandbox(settings, key, stack)
        endpoints = endpoints_for(settings, sandbox_url=sandbox_url)
        inner = transport or httpx.AsyncHTTPTransport(retries=0, verify=default_tls())
        client = CoinbaseAdvancedClient(
            base_url=endpoints.rest_url,
            key=key,
            transport=OrderWriteGuard(inner, settings=settings),
            timeout=settings.request_timeout_seconds,
            max_retries=settings.max_retries,
            limits=VenueLimits(
                public_requests_per_second=settings.public_requests_per_second,
                private_requests_per_second=settings.private_requests_per_second,
            ),
        )
        stack.push_async_callback(client.aclose)
        engine = await asyncio.to_thread(open_store, settings)
        stack.callback(engine.dispose)
        exchange = ExchangeService(client)
        risk = RiskService(engine, limits_from(settings), currency=settings.risk_currency, clock=now)
        executor = _executor(
            settings, endpoints=endpoints, client=client, engine=engine, exchange=exchange, risk=risk, clock=now,
            signed=key is not None,
        )  # fmt: skip
        yield Runtime(
            settings=settings,
            endpoints=endpoints,
            client=client,
            engine=engine,
            exchange=exchange,
            risk=risk,
            executor=executor,
            key=key,
            sandbox_url=sandbox_url,
        )


def _executor(
    settings: Settings,
    *,
    endpoints: Endpoints,
    client: CoinbaseAdvancedClient,
    engine: Engine,
    exchange: ExchangeService,
    risk: RiskService,
    clock: Callable[[], datetime],
    signed: bool,
) -> OrderExecutor:
    if settings.execution is ExecutionMode.LIVE:
        writer = OrderWriter.open(settings, endpoints, client)  # the gate: LiveTradingRefused if not allowed
        return LiveExecutor(
            engine,
            risk,
            exchange=exchange,
            writer=writer,
            intent_ttl=timedelta(seconds=settings.intent_ttl_seconds),
            clock=clock,
        )

    async def fees() -> FeeRates:
        return await paper_fees(settings, exchange, signed=signed)

    return PaperExecutor(engine, risk, exchange=exchange, fees=fees, starting_cash=settings.paper_cash, clock=clock)


async def paper_fees(settings: Settings, exchange: ExchangeService, *, signed: bool) -> FeeRates:
    """The fee tier simulated fills pay: the configured one, else the account's own (paper pays what live would)."""
    if settings.paper_maker_fee_rate is not None and settings.paper_taker_fee_rate is not None:
        return FeeRates(maker=settings.paper_maker_fee_rate, taker=settings.paper_taker_fee_rate)
    if signed:
        return await exchange.fee_rates()
    return ENTRY_FEES


async def _start_sandbox(settings: Settings, key: CdpKey | None, stack: AsyncExitStack) -> tuple[str, CdpKey]:
    """Start the local sandbox in this process; it trusts the configured key, or one made for this run."""
    from cryptoj.sandbox.keys import generate_key

    key = key or generate_key()
    server = await asyncio.to_thread(start_sandbox, settings, key)
    stack.callback(server.stop)
    return server.base_url, key


def start_sandbox(settings: Settings, key: CdpKey) -> SandboxServer:
    """Serve a sandbox exchange in this process, trusting `key`, where the settings say (sandbox_host/_port)."""
    from cryptoj.sandbox.clock import SimClock
    from cryptoj.sandbox.exchange import SandboxExchange
    from cryptoj.sandbox.server import SandboxServer, SandboxStartError

    exchange = SandboxExchange(seed=settings.sandbox_seed, clock=SimClock())
    exchange.trust(key)
    try:
        return SandboxServer(exchange, host=settings.sandbox_host, port=settings.sandbox_port).start()
    except SandboxStartError as exc:
        raise ConfigurationError(f"{exc} (settings CRYPTOJ_SANDBOX_HOST, CRYPTOJ_SANDBOX_PORT)") from None
