"""`SandboxExchange`: the market, the engine, keys, faults and the event hub, composed in one object.

It is the `FeedSource` the WebSocket feed reads and the state the REST routes act on. Everything runs on
one event loop: `run()` advances the market a few times a second and publishes what changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptoj.coinbase.auth import CdpKey
from cryptoj.domain.book import OrderBook
from cryptoj.domain.side import Side
from cryptoj.errors import ConfigurationError
from cryptoj.sandbox.cdn import CdnCache
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.engine import Engine, FeeTier, FillRecord, Ledger, OrderRecord
from cryptoj.sandbox.engine.wire import user_order_body
from cryptoj.sandbox.events import CandleUpdated, EventHub, OrderUpdated, TickerUpdated, TradePrinted
from cryptoj.sandbox.faults import FaultConfig, FaultPlan
from cryptoj.sandbox.forms import WireForms
from cryptoj.sandbox.keys import AuthFailed, KeyRing
from cryptoj.sandbox.market import (
    CANDLE_SECONDS,
    DEFAULT_PRODUCTS,
    PACKAGED_BARS,
    BarSource,
    ProductMarket,
    ProductSpec,
    RandomWalk,
    Replay,
    load_bars,
    packaged_bars,
)
from cryptoj.sandbox.ratelimit import RateLimiter

__all__ = ["SandboxExchange"]

_log = logging.getLogger(__name__)


class SandboxExchange:
    """A local exchange: products, books, accounts and orders of every trusted key.

    Parameters:
        seed: fixes the random walks, book sizes, ids and faults' default seed.
        products: what it trades (default BTC-USD, ETH-USD from real bars; SOL-USD random walk).
        data: candle files by product id (CSV or Parquet of 1-minute OHLCV) replacing the default prices.
        clock: the simulated clock (default: wall time, speed 1).
        keys: trusted keys; faults: the fault plan; limiter: request budgets; fee_tier: fee rates.
        max_levels: synthetic book levels per side.
        forms: the forms it answers in (default: the real ones, varied under `seed`).
        cdn: the cache in front of the public `/market/*` routes (real forms only).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        products: Iterable[ProductSpec] = DEFAULT_PRODUCTS,
        data: Mapping[str, Path] | None = None,
        clock: SimClock | None = None,
        keys: KeyRing | None = None,
        faults: FaultPlan | None = None,
        limiter: RateLimiter | None = None,
        fee_tier: FeeTier | None = None,
        max_levels: int = 5_000,
        forms: WireForms | None = None,
        cdn: CdnCache | None = None,
    ) -> None:
        self.seed = seed
        self.forms = forms or WireForms(seed=seed)
        self.cdn = cdn or CdnCache()
        self.clock = clock or SimClock()
        self.keys = keys or KeyRing()
        self.faults = faults or FaultPlan(FaultConfig(seed=seed))
        self.limiter = limiter or RateLimiter()
        self.fee_tier = fee_tier or FeeTier()
        self.hosts: list[str] = []  # host[:port] values REST JWTs may name (set by the server)
        self._hub = EventHub()
        self.specs = {spec.product_id: spec for spec in products}
        data = dict(data or {})
        unknown = set(data) - set(self.specs)
        if unknown:
            raise ConfigurationError(f"candle data for unknown products: {sorted(unknown)}")
        start_minute = int(self.clock.now().timestamp()) // 60
        self.markets = {
            pid: ProductMarket(spec, self._bars(spec, data.get(pid), start_minute), seed=seed, max_levels=max_levels)
            for pid, spec in self.specs.items()
        }
        self.ledger = Ledger(seed=seed, created_at=self.clock.now())
        self.engine = Engine(
            products=self.specs,
            ledger=self.ledger,
            market=self,
            fee_tier=self.fee_tier,
            seed=seed,
            on_order=self._order_changed,
            on_fill=self._filled,
            fail_order=lambda: self.faults.fires("order_failed"),
            queue_order=lambda: self.faults.fires("order_queued"),
            order_time=self._order_time,
            trade_id=lambda product_id: self.markets[product_id].next_trade_id(),
        )
        # (owner, currency) -> simulated time of the last fill that moved it (fact 28's passing state)
        self._traded: dict[tuple[str, str], datetime] = {}
        self.step()

    def _bars(self, spec: ProductSpec, path: Path | None, start_minute: int) -> BarSource:
        if path is not None:
            bars, first_minute = load_bars(path, tick=spec.price_increment)
            return Replay(bars, anchor_minute=first_minute)
        if spec.product_id in PACKAGED_BARS:
            # The packaged files start at 00:00 UTC and hold whole days: anchoring at epoch minute 0 keeps
            # the recorded time of day in step with the simulated one.
            return Replay(packaged_bars(spec.product_id, spec.price_increment), anchor_minute=0)
        start = int(spec.walk_start / spec.price_increment)
        return RandomWalk(seed=self.seed, product_id=spec.product_id, start_ticks=start, anchor_minute=start_minute)

    def trust(self, key: CdpKey) -> str:
        """Trust a key and fund its accounts; returns the key name."""
        name = self.keys.trust(key)
        self.ledger.accounts(name)
        return name

    # --- FeedSource --------------------------------------------------------------------------

    @property
    def hub(self) -> EventHub:
        """Where the exchange publishes its events."""
        return self._hub

    def now(self) -> datetime:
        """The simulated clock."""
        return self.clock.now()

    def product_ids(self) -> list[str]:
        """Products the market serves."""
        return list(self.specs)

    def book(self, product_id: str) -> OrderBook:
        """A product's current book; KeyError if unknown."""
        return self.markets[product_id].book

    def last_price(self, product_id: str) -> Decimal:
        """A product's last trade price."""
        return self.markets[product_id].last_price

    def status_products(self) -> list[dict[str, Any]]:
        """Bodies of the `status` channel."""
        return [spec.status_body() for spec in self.specs.values()]

    def ticker(self, product_id: str) -> TickerUpdated:
        """The latest ticker of a product."""
        return self.markets[product_id].ticker(self.clock.now().timestamp())

    def recent_trades(self, product_id: str, limit: int = 100) -> list[TradePrinted]:
        """The latest trades of a product, newest first."""
        return self.markets[product_id].recent_trades(limit)

    def recent_candles(self, product_id: str, limit: int = 100) -> list[CandleUpdated]:
        """The latest 5-minute candles of a product, oldest first."""
        return self.markets[product_id].recent_candles(self.clock.now().timestamp(), limit)

    def open_orders(self, owner: str) -> list[dict[str, Any]]:
        """A key's open orders as user-channel bodies."""
        portfolio = self.ledger.portfolio_uuid(owner)
        dialect = self.forms.dialect
        return [user_order_body(o, portfolio_uuid=portfolio, dialect=dialect) for o in self.engine.open_orders(owner)]

    def account_unavailable(self, owner: str, currency: str) -> bool:
        """Whether a read of this account answers "account is not available" now (an injected fault).

        Coinbase answered so right after a trade, and not on the retry (real-traffic fact 28): the fault
        fires only within a second of a fill that moved the account, and once per fill.
        """
        traded = self._traded.get((owner, currency))
        if traded is None or (self.clock.now() - traded).total_seconds() > 1:
            return False
        if not self.faults.fires("account_unavailable"):
            return False
        del self._traded[(owner, currency)]
        return True

    def authenticate_ws(self, token: str) -> str:
        """Verify a WebSocket JWT; the key name, or ValueError."""
        try:
            return self.keys.verify_ws(token)
        except AuthFailed as exc:
            raise ValueError("authentication failure") from exc

    def ws_fault(self, kind: str) -> bool:
        """Whether a WebSocket fault (`drop`, `sequence_gap`) fires now."""
        return self.faults.fires(f"ws_{kind}")

    # --- time --------------------------------------------------------------------------------

    def step(self) -> None:
        """Advance every market to the clock's now, publish what changed, let resting orders react."""
        now = self.clock.now()
        seconds = now.timestamp()
        for pid, market in self.markets.items():
            change, trades = market.advance(seconds)
            if change is not None:
                self._hub.publish(change)
            for trade in trades:
                self._hub.publish(trade)
            if trades or change is not None:
                start = int(seconds) // CANDLE_SECONDS * CANDLE_SECONDS
                self._hub.publish(market.candle_event(start, seconds, now))
            if trades:
                self._hub.publish(market.ticker(seconds))
            prices = [trade.price for trade in trades]
            self.engine.on_market(pid, now=now, traded=(min(prices), max(prices)) if prices else None)

    def advance(self, seconds: float) -> None:
        """Move simulated time forward and step the market (tests and the admin endpoint)."""
        self.clock.advance(seconds)
        self.step()

    async def run(self, *, interval: float = 0.25) -> None:
        """Step the market every `interval` real seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.step()
            except Exception:
                # A bug in one step must not freeze the market for good: log it and step again.
                _log.exception("sandbox market step failed")

    # --- engine callbacks --------------------------------------------------------------------

    def _order_time(self, now: datetime) -> datetime:
        # Fact 25: some real orders' created_time has no fraction; stamping them on the second keeps the
        # wire value and the value list filters compare equal.
        return now.replace(microsecond=0) if self.forms.whole_second() else now

    def _order_changed(self, order: OrderRecord) -> None:
        portfolio = self.ledger.portfolio_uuid(order.owner)
        body = user_order_body(order, portfolio_uuid=portfolio, dialect=self.forms.dialect)
        self._hub.publish(OrderUpdated(order.owner, body, self.clock.now()))

    def _filled(self, fill: FillRecord) -> None:
        spec = self.specs[fill.product_id]
        for currency in (spec.base_currency, spec.quote_currency):
            self._traded[(fill.owner, currency)] = fill.time
        side = Side(fill.side)
        maker = side if fill.liquidity.value == "MAKER" else side.opposite
        trade = TradePrinted(fill.product_id, fill.trade_id, fill.price, fill.size, maker, fill.time)
        self.markets[fill.product_id].record_trade(trade)
        self._hub.publish(trade)
