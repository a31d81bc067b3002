"""One product's market: the price path from its bars, the synthetic book around it, trades and candles."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from decimal import Decimal

from cryptoj.domain.book import BookSide, OrderBook
from cryptoj.domain.side import Side
from cryptoj.sandbox.events import BookChanged, CandleUpdated, TickerUpdated, TradePrinted
from cryptoj.sandbox.market.bars import Bar, BarSource
from cryptoj.sandbox.market.depth import Ladder, build_ladder, mix
from cryptoj.sandbox.market.products import ProductSpec

__all__ = ["CANDLE_SECONDS", "ProductMarket"]

CANDLE_SECONDS = 300  # the WebSocket candles channel's bucket
_DAY_MINUTES = 1440
# Trade ids are a product's running count, like Coinbase's (`"1068572090"`, fact 23); this is where it starts.
FIRST_TRADE_ID = 1_000_000_000


class ProductMarket:
    """The market of one product, advanced by `advance(now)`.

    Parameters:
        spec: the product's rules.
        bars: where prices come from.
        seed: fixes book sizes and market trades.
        max_levels: levels per side of the synthetic book.
    """

    def __init__(self, spec: ProductSpec, bars: BarSource, *, seed: int, max_levels: int = 5_000) -> None:
        self.spec = spec
        self._bars = bars
        self._seed = seed
        self._max_levels = max_levels
        self._tick = spec.price_increment
        self._size_unit = spec.base_increment
        self.book = OrderBook(spec.product_id)
        self._bids: Ladder = {}
        self._asks: Ladder = {}
        self._unit = 1
        self._trades: deque[TradePrinted] = deque(maxlen=1_000)
        self._last_second: int | None = None
        self._next_trade = FIRST_TRADE_ID
        self.last_price = Decimal(0)

    # --- prices ------------------------------------------------------------------------------

    def price_ticks(self, epoch_seconds: float) -> int:
        """The market price at a time, in ticks."""
        minute, second = divmod(epoch_seconds, 60)
        return self._bars.bar(int(minute)).price_at(second)

    def to_price(self, ticks: int) -> Decimal:
        """Ticks to a price."""
        return ticks * self._tick

    def candle(self, start: int, granularity: int, now: float) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """Open, high, low, close, volume of the bucket `[start, start + granularity)` up to `now`."""
        end = min(start + granularity, int(now) + 1)
        first_minute, last_minute = start // 60, (end - 1) // 60
        bars: list[Bar] = [self._bars.bar(m) for m in range(first_minute, last_minute + 1)]
        open_ = bars[0].open
        high = max(b.high for b in bars[:-1]) if len(bars) > 1 else open_
        low = min(b.low for b in bars[:-1]) if len(bars) > 1 else open_
        volume = sum((b.volume for b in bars[:-1]), Decimal(0))
        last = bars[-1]
        if last_minute * 60 + 60 <= now:
            close, high, low, volume = last.close, max(high, last.high), min(low, last.low), volume + last.volume
        else:
            # The open minute: only what has happened so far, volume pro rata.
            elapsed = now - last_minute * 60
            close = last.price_at(elapsed)
            path = [last.price_at(s) for s in (0, min(20, elapsed), min(40, elapsed), elapsed)]
            high, low = max(high, *path), min(low, *path)
            volume += (last.volume * int(elapsed) / 60).quantize(self._size_unit)
        return self.to_price(open_), self.to_price(high), self.to_price(low), self.to_price(close), volume

    def recent_candles(self, now: float, limit: int) -> list[CandleUpdated]:
        """The latest 5-minute candles, oldest first (the WebSocket candles snapshot)."""
        current = int(now) // CANDLE_SECONDS * CANDLE_SECONDS
        at = datetime.fromtimestamp(now, UTC)
        starts = [current - CANDLE_SECONDS * i for i in range(limit - 1, -1, -1)]
        return [self.candle_event(start, now, at) for start in starts]

    def candle_event(self, start: int, now: float, at: datetime) -> CandleUpdated:
        """The candles-channel event of one 5-minute bucket."""
        o, h, lo, c, v = self.candle(start, CANDLE_SECONDS, now)
        return CandleUpdated(self.spec.product_id, start, o, h, lo, c, v, at)

    def ticker(self, now: float) -> TickerUpdated:
        """Last price, 24-hour statistics and the top of the book."""
        day_start = int(now) - _DAY_MINUTES * 60
        o, h, lo, c, v = self.candle(day_start, _DAY_MINUTES * 60, now)
        change = ((c - o) / o * 100).quantize(Decimal("0.00000001")) if o else Decimal(0)
        bid, ask = self.book.best_bid, self.book.best_ask
        zero = Decimal(0)
        return TickerUpdated(
            product_id=self.spec.product_id,
            price=self.last_price or c,
            volume_24_h=v,
            low_24_h=lo,
            high_24_h=h,
            # No year of history here: the 52-week range is the 24-hour one.
            low_52_w=lo,
            high_52_w=h,
            price_percent_chg_24_h=change,
            best_bid=bid.price if bid else zero,
            best_bid_quantity=bid.size if bid else zero,
            best_ask=ask.price if ask else zero,
            best_ask_quantity=ask.size if ask else zero,
            time=datetime.fromtimestamp(now, UTC),
        )

    def recent_trades(self, limit: int) -> list[TradePrinted]:
        """The latest trades, newest first."""
        trades = list(self._trades)[-limit:]
        trades.reverse()
        return trades

    def next_trade_id(self) -> str:
        """The id of the next trade on this product (market prints and user fills share the count)."""
        self._next_trade += 1
        return str(self._next_trade)

    def record_trade(self, trade: TradePrinted) -> None:
        """Remember a trade (a market one or a user's fill) for market trades and the trades channel."""
        self._trades.append(trade)
        self.last_price = trade.price

    # --- moving ------------------------------------------------------------------------------

    def advance(self, now: float) -> tuple[BookChanged | None, list[TradePrinted]]:
        """Move the market to `now`: rebuild the book around the price, print market trades.

        Returns the book change (None when nothing moved) and the new market trades.
        """
        second = int(now)
        ticks = self.price_ticks(now)
        if not self._bids:
            # Size unit: about 5 quote units of the base per step of the size hash.
            self._unit = max(1, int(Decimal(5) / (self.to_price(ticks) * self._size_unit)))
        bids = build_ladder(
            touch=ticks, direction=-1, seed=self._seed, unit=self._unit, second=second, max_levels=self._max_levels
        )
        asks = build_ladder(
            touch=ticks + 1, direction=1, seed=self._seed, unit=self._unit, second=second, max_levels=self._max_levels
        )
        changes = [*self._diff(BookSide.BID, self._bids, bids), *self._diff(BookSide.ASK, self._asks, asks)]
        self._bids, self._asks = bids, asks
        at = datetime.fromtimestamp(now, UTC)
        event = None
        if changes:
            self.book.apply_updates(changes)
            event = BookChanged(self.spec.product_id, tuple(changes), at)
        trades: list[TradePrinted] = []
        if self._last_second != second:
            # Every second since the last step prints (at most a minute's worth after a jump).
            first = second if self._last_second is None else max(self._last_second + 1, second - 59)
            for moment in range(first, second + 1):
                when = datetime.fromtimestamp(moment, UTC)
                trades += self._market_trades(self.price_ticks(moment), moment, when)
        self._last_second = second
        if not self.last_price:
            self.last_price = self.to_price(ticks)
        return event, trades

    def _diff(self, side: BookSide, old: Ladder, new: Ladder) -> list[tuple[BookSide, Decimal, Decimal]]:
        tick, unit = self._tick, self._size_unit
        changes = [(side, p * tick, s * unit) for p, s in new.items() if old.get(p) != s]
        changes.extend((side, p * tick, Decimal(0)) for p in old.keys() - new.keys())
        return changes

    def _market_trades(self, ticks: int, second: int, at: datetime) -> list[TradePrinted]:
        h = mix(second ^ (self._seed * 0x27D4EB2F))
        trades = []
        for i in range(h % 3):  # zero to two prints a second
            h = mix(h + i)
            maker = Side.SELL if h & 1 else Side.BUY
            # A buyer taking the ask prints at the ask (one tick up); a seller hitting the bid at the bid.
            price = self.to_price(ticks + (1 if maker is Side.SELL else 0))
            size = (self._unit * (1 + h % 500)) * self._size_unit
            trade = TradePrinted(self.spec.product_id, self.next_trade_id(), price, size, maker, at)
            self.record_trade(trade)
            trades.append(trade)
        return trades
