"""MarketDataService: pull each product's candles, rules and top of book into the store, and read them back.

A pull starts at the last stored candle (the configured lookback on the first pull) and stores window by
window, each in its own transaction: an interrupted backfill keeps what it stored and the next pull goes
on from there. Upserts are idempotent, so pulling a window twice changes nothing. Only closed buckets are
pulled: the forming one would be stored half-made.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from cryptoj.coinbase.models.products import Granularity
from cryptoj.domain.products import ProductRules
from cryptoj.domain.strategy import Candle, MarketData
from cryptoj.services.exchange import ExchangeService
from cryptoj.store import UnitOfWork, UnknownReference

__all__ = ["MarketDataService", "ProductSnapshot", "Progress"]

# Reports the share of a pull done so far (0 to 1): a long backfill shows its progress.
Progress = Callable[[float], Awaitable[None]]
# Buckets per request: Coinbase serves at most 350 and refuses more rather than truncating.
_WINDOW_BUCKETS = 300
# Windows in flight at once in a long pull: 30 requests a second over a round trip of 200 ms need six. Ten
# reached more of the limit 150 ms away on a loaded machine in the issue-19 benchmark, but drew 429s: the
# sandbox, short of CPU, counted queued requests late, more than a second's sends in one of its seconds.
_READ_AHEAD = 6


@dataclass(frozen=True, slots=True)
class ProductSnapshot:
    """What one pull of a product found.

    Parameters:
        product_id: the product.
        candles_stored: candles written by this pull (new or changed).
        first_pulled, last_candle: the pull's first bucket and the newest stored candle's start.
        last_price, bid, ask: the last trade and the authenticated top of book.
    """

    product_id: str
    candles_stored: int
    first_pulled: datetime
    last_candle: datetime | None
    last_price: Decimal | None
    bid: Decimal | None
    ask: Decimal | None

    @property
    def mid(self) -> Decimal | None:
        """Halfway between bid and ask, when both are known."""
        return (self.bid + self.ask) / 2 if self.bid is not None and self.ask is not None else None


class MarketDataService:
    """Keeps the store's candles and product rules current, and builds what strategies look at.

    Parameters:
        exchange: where the data comes from.
        engine: the store.
        clock: the time now (aware, UTC).
    """

    def __init__(
        self, exchange: ExchangeService, engine: Engine, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._exchange = exchange
        self._engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))

    async def sync_product(
        self,
        product_id: str,
        *,
        lookback: timedelta,
        granularity: Granularity = Granularity.ONE_MINUTE,
        progress: Progress | None = None,
        backfill: bool = False,
        quotes: bool = True,
    ) -> ProductSnapshot:
        """Store the product's rules and every closed candle since the last stored one; read its top of book.

        With `backfill`, the pull starts `lookback` ago whatever is stored (what is stored already is not
        written again). Without `quotes` (a trading cycle, which reads every product's top of book in one
        request when it decides), only the candles are pulled, and the rules only if none are stored: the
        market-data flow keeps them fresh.
        """
        now = self._clock()
        with UnitOfWork(self._engine, read_only=True) as uow:
            latest = uow.candles.latest(product_id, granularity.value)
            try:
                uow.products.require([product_id])
                rules_stored = True
            except UnknownReference:
                rules_stored = False
        if quotes or not rules_stored:
            rules = (await self._exchange.product_rules([product_id]))[product_id]
            with UnitOfWork(self._engine) as uow:
                uow.products.upsert(rules, at=now)
                uow.commit()
        width = timedelta(seconds=granularity.seconds)
        end = _floor(now, width)  # the forming bucket is left for the next pull
        # From the last stored bucket (it may have been stored while still forming), else the lookback.
        start = latest.start if latest is not None and not backfill else _floor(now - lookback, width)
        stored = 0
        windows = _windows(start, end, width * _WINDOW_BUCKETS)

        def fetch(window: tuple[datetime, datetime]) -> asyncio.Task[list[Candle]]:
            window_start, window_end = window
            return asyncio.create_task(
                self._exchange.candles(product_id, start=window_start, end=window_end, granularity=granularity)
            )

        # Windows are asked for ahead of the one being stored: one at a time, a backfill's pace is its round
        # trip plus the store's write, two thirds of the rate limit on loopback (issue-19 benchmark) and
        # under a third of it 100 ms away; the client's budget paces the requests. Each window is stored
        # before the next one's answer (or error) is taken, in order, each in its own transaction.
        ahead = deque(fetch(window) for window in windows[:_READ_AHEAD])
        try:
            for done in range(1, len(windows) + 1):
                candles = await ahead.popleft()
                if done + len(ahead) < len(windows):
                    ahead.append(fetch(windows[done + len(ahead)]))
                if candles:
                    stored += await asyncio.to_thread(self._store_candles, product_id, granularity, candles)
                if progress is not None:
                    await progress(done / len(windows))
        finally:
            # After a failure (or a cancelled pull) the reads ahead are not wanted, nor are their own errors.
            for task in ahead:
                task.cancel()
            await asyncio.gather(*ahead, return_exceptions=True)
        bid = ask = last = None
        if quotes:
            quote = (await self._exchange.best_bid_ask([product_id]))[product_id]
            bid, ask = quote.bid, quote.ask
            last = (await self._exchange.ticker(product_id, limit=1)).last_price
        with UnitOfWork(self._engine, read_only=True) as uow:
            newest = uow.candles.latest(product_id, granularity.value)
        return ProductSnapshot(
            product_id=product_id,
            candles_stored=stored,
            first_pulled=start,
            last_candle=newest.start if newest is not None else None,
            last_price=last,
            bid=bid,
            ask=ask,
        )

    def _store_candles(self, product_id: str, granularity: Granularity, candles: Sequence[Candle]) -> int:
        with UnitOfWork(self._engine) as uow:
            count = uow.candles.upsert(product_id, granularity.value, candles)
            uow.commit()
        return count

    def rules(self, product_ids: Iterable[str]) -> dict[str, ProductRules]:
        """The stored rules of each product (stored by a pull)."""
        with UnitOfWork(self._engine, read_only=True) as uow:
            return {pid: uow.products.get(pid) for pid in product_ids}

    def market(
        self,
        prices: Mapping[str, Decimal],
        *,
        history: int,
        granularity: Granularity = Granularity.ONE_MINUTE,
        until: datetime | None = None,
    ) -> MarketData:
        """What a strategy sees: the last `history` stored candles of each product (oldest first) and `prices`.

        `until` leaves out candles that open at or after it (a backtest replays the store as it stood).
        """
        until = until or self._clock()
        with UnitOfWork(self._engine, read_only=True) as uow:
            candles = {pid: uow.candles.window(pid, granularity.value, end=until, limit=history) for pid in prices}
        return MarketData(prices=dict(prices), candles=candles)


def _floor(at: datetime, width: timedelta) -> datetime:
    seconds = int(width.total_seconds())
    return datetime.fromtimestamp(int(at.timestamp()) // seconds * seconds, tz=UTC)


def _windows(start: datetime, end: datetime, span: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into spans; an empty range still gets one window (the last bucket is re-pulled)."""
    windows = []
    cursor = start
    while True:
        stop = min(cursor + span, end)
        windows.append((cursor, max(stop, cursor)))
        if stop >= end:
            return windows
        cursor = stop
