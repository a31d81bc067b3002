"""Backtests: the trading cycle's strategy, risk rules and paper fill model replayed over historical bars.

Each bar, once closed, is what a live cycle would see a minute later: the candles up to and including it
and its close as the mark. The same `decide` turns them into intents, the same `pre_trade_check` allows or
denies each, and the same paper model fills the allowed ones, against a book made from the bar (its close
one price tick either side, as deep as the bar's traded volume: an order larger than what traded that
minute fills only partly). The portfolio is judged against the limits after every bar, and a breach stops
new orders for the rest of the run, as the kill switch does live (with no one to reset it, the strategies
are not consulted after it: what is held is marked to each bar's close until the end).

Figures are Decimal: equity, fees and PnL exactly; the Sharpe ratio as Decimal arithmetic on per-bar
returns, annualised by the bars in a year.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources

from sqlalchemy import Engine

from cryptoj.domain.book import OrderBook
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import Fill, OrderIntent, OrderStatus
from cryptoj.domain.paper import FeeRates, execute
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.products import ProductRules
from cryptoj.domain.risk import EquityWatermark, KillSwitch, RiskContext, RiskLimits, portfolio_check, pre_trade_check
from cryptoj.domain.strategy import Candle, MarketData, Strategy
from cryptoj.errors import CryptojError
from cryptoj.services.funds import shortfall
from cryptoj.services.trading import decide, history_needed
from cryptoj.store import UnitOfWork

__all__ = [
    "BacktestError",
    "BacktestResult",
    "EquityPoint",
    "load_bars",
    "packaged_candles",
    "run_backtest",
]

_MINUTES_PER_YEAR = Decimal(365 * 24 * 60)
# Sees each decision: when, which strategy, the intents, and the portfolio they were decided on.
IntentHook = Callable[[datetime, str, list[OrderIntent], Portfolio], None]


class BacktestError(CryptojError):
    """A backtest that cannot run: no bars, bars of products without rules, a bad range."""


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Equity and gross exposure after one bar."""

    at: datetime
    equity: Decimal
    exposure: Decimal


@dataclass(frozen=True)
class BacktestResult:
    """What a backtest did and how it went.

    Parameters:
        bars: bars replayed (all products together).
        fills: every paper fill, in order.
        equity: the curve, one point per bar time.
        denied: each denied intent's time, product and reasons.
        kill_switch, kill_switch_at: why and when new orders stopped, if a breach stopped them.
    """

    bars: int
    fills: tuple[Fill, ...]
    equity: tuple[EquityPoint, ...]
    denied: tuple[str, ...]
    kill_switch: str | None
    starting_equity: Decimal
    kill_switch_at: datetime | None = None
    currency: str = "USD"

    @property
    def final_equity(self) -> Decimal:
        """Equity after the last bar."""
        return self.equity[-1].equity if self.equity else ZERO

    @property
    def pnl(self) -> Decimal:
        """Final less starting equity (fees included)."""
        return self.final_equity - self.starting_equity

    @property
    def fees(self) -> Decimal:
        """Every fee paid."""
        return sum((fill.fee for fill in self.fills), ZERO)

    @property
    def max_drawdown(self) -> Decimal:
        """The deepest fall from a peak, as a fraction of that peak."""
        peak, worst = ZERO, ZERO
        for point in self.equity:
            peak = max(peak, point.equity)
            if peak > 0:
                worst = max(worst, (peak - point.equity) / peak)
        return worst

    @property
    def exposure(self) -> Decimal:
        """The average share of equity held in positions, over the bars."""
        shares = [p.exposure / p.equity for p in self.equity if p.equity > 0]
        return sum(shares, ZERO) / len(shares) if shares else ZERO

    @property
    def sharpe(self) -> Decimal | None:
        """Mean over standard deviation of per-bar returns, annualised (None without variation)."""
        returns = [
            (b.equity - a.equity) / a.equity for a, b in zip(self.equity, self.equity[1:], strict=False) if a.equity
        ]
        if len(returns) < 2:
            return None
        mean = sum(returns, ZERO) / len(returns)
        variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (len(returns) - 1)
        if variance == 0:
            return None
        minutes = _bar_minutes(self.equity)
        return mean / variance.sqrt() * (_MINUTES_PER_YEAR / minutes).sqrt()


def _bar_minutes(points: Sequence[EquityPoint]) -> Decimal:
    if len(points) < 2:
        return Decimal(1)
    span = (points[-1].at - points[0].at).total_seconds() / 60
    return Decimal(max(1, round(span / (len(points) - 1))))


def run_backtest(
    bars: Mapping[str, Sequence[Candle]],
    *,
    strategies: Sequence[Strategy],
    rules: Mapping[str, ProductRules],
    fees: FeeRates,
    cash: Mapping[str, Decimal],
    limits: RiskLimits,
    currency: str = "USD",
    on_intents: IntentHook | None = None,
) -> BacktestResult:
    """Replay `bars` (each product's, oldest first) through the strategies, risk rules and paper fills.

    `on_intents(time, strategy name, intents, portfolio)` sees every decision (tests compare it with the live
    cycle's); the portfolio is the backtest's own, so copy it to keep it.
    """
    if not any(bars.values()):
        raise BacktestError("no bars to replay")
    missing = sorted(set(bars) - set(rules))
    if missing:
        raise BacktestError(f"no product rules for {', '.join(missing)}")
    replay = _Replay(rules=rules, fees=fees, cash=cash, limits=limits, currency=currency)
    windows: dict[str, deque[Candle]] = {pid: deque(maxlen=history_needed(strategies)) for pid in bars}
    latest: dict[str, Candle] = {}
    count = 0
    for at, closed in _by_time(bars):
        count += len(closed)
        for product_id, candle in closed:
            windows[product_id].append(candle)
            latest[product_id] = candle
        # The decision a live cycle makes a minute later: the closed bars, their closes as marks.
        now = at + timedelta(minutes=1)
        marks = {pid: candle.close for pid, candle in latest.items()}
        market = MarketData(prices=marks, candles={pid: list(window) for pid, window in windows.items()})
        # After a breach nothing the strategies ask for could be placed (there is no reset in a replay):
        # they are not asked, and the bars only move the equity of what is held.
        for strategy in strategies if not replay.switch.engaged else ():
            intents = decide(strategy, market, replay.portfolio, rules)
            if on_intents is not None:
                on_intents(now, strategy.name, intents, replay.portfolio)
            for index, intent in enumerate(intents):
                replay.place(
                    intent,
                    name=f"{strategy.name}|{now:%Y%m%d%H%M}|{index}",
                    bar=latest[intent.product_id],
                    now=now,
                    marks=marks,
                )
        replay.mark(now, marks)
    return BacktestResult(
        bars=count,
        fills=tuple(replay.fills),
        equity=tuple(replay.curve),
        denied=tuple(replay.denied),
        kill_switch=replay.switch.reason,
        starting_equity=cash.get(currency, ZERO),
        kill_switch_at=replay.switch.engaged_at,
        currency=currency,
    )


class _Replay:
    """The account a backtest trades: portfolio, limits, kill switch, and what happened to it."""

    def __init__(
        self,
        *,
        rules: Mapping[str, ProductRules],
        fees: FeeRates,
        cash: Mapping[str, Decimal],
        limits: RiskLimits,
        currency: str,
    ) -> None:
        self.rules = rules
        self.fees = fees
        self.limits = limits
        self.currency = currency
        self.portfolio = Portfolio(cash=dict(cash))
        self.watermark = EquityWatermark()
        self.switch = KillSwitch()
        self.fills: list[Fill] = []
        self.denied: list[str] = []
        self.curve: list[EquityPoint] = []
        self._recent: deque[datetime] = deque()
        self._checked_fills = 0

    def _context(self, now: datetime, marks: Mapping[str, Decimal]) -> RiskContext:
        while self._recent and self._recent[0] <= now - timedelta(minutes=1):
            self._recent.popleft()
        return RiskContext(
            portfolio=self.portfolio,
            mids=marks,
            now=now,
            recent_orders=tuple(self._recent),
            day_start_equity=self.watermark.day_start,
            equity_peak=self.watermark.peak,
            kill_switch=self.switch,
            currency=self.currency,
        )

    def place(
        self, intent: OrderIntent, *, name: str, bar: Candle, now: datetime, marks: Mapping[str, Decimal]
    ) -> None:
        """One intent through the pre-trade check, the funds check and the paper fill model."""
        when = f"{now:%Y-%m-%d %H:%M} {intent.product_id}"
        decision = pre_trade_check(intent, self._context(now, marks), self.limits)
        if not decision.allowed:
            self.denied.append(f"{when}: {'; '.join(r.message for r in decision.reasons)}")
            return
        self._recent.append(now)
        rules = self.rules[intent.product_id]
        book = _bar_book(bar, rules)
        refusal = shortfall(intent, self.portfolio, book, self.fees)
        if refusal is not None:
            self.denied.append(f"{when}: rejected {refusal}")
            return
        result = execute(
            intent,
            book,
            client_order_id=f"backtest|{name}|{intent.product_id}",
            fees=self.fees,
            at=now,
            size_increment=rules.base_increment,
        )
        for fill in result.fills:
            self.portfolio.apply(fill)
            self.fills.append(fill)
        if result.status is OrderStatus.REJECTED:
            self.denied.append(f"{when}: rejected {result.reason}")

    def mark(self, now: datetime, marks: Mapping[str, Decimal]) -> None:
        """Equity after the bar, and the portfolio judged against the limits (a breach stops new orders)."""
        portfolio = self.portfolio
        held = any(not position.is_flat for position in portfolio.positions.values())
        if held:
            equity, exposure = portfolio.equity(marks, currency=self.currency), portfolio.exposure(marks)
        else:  # flat: equity is the cash, and nothing is exposed
            equity, exposure = portfolio.cash_in(self.currency), ZERO
        self.watermark.update(equity, at=now)
        self.curve.append(EquityPoint(now, equity, exposure))
        # Flat and untraded since the last check, the portfolio is judged as it was then: skip the work.
        if not self.switch.engaged and (held or len(self.fills) != self._checked_fills):
            self._checked_fills = len(self.fills)
            self.switch.trip_on(portfolio_check(self._context(now, marks), self.limits), at=now)


def _by_time(bars: Mapping[str, Sequence[Candle]]) -> Iterable[tuple[datetime, list[tuple[str, Candle]]]]:
    """The bars grouped by start time, oldest first."""
    grouped: dict[datetime, list[tuple[str, Candle]]] = {}
    for product_id, candles in bars.items():
        for candle in candles:
            grouped.setdefault(candle.start, []).append((product_id, candle))
    for at in sorted(grouped):
        yield at, grouped[at]


def _bar_book(candle: Candle, rules: ProductRules) -> OrderBook:
    """The book a bar stands for: its close a tick either side, as deep as what traded in it."""
    tick = rules.price_tick
    book = OrderBook(rules.product_id)
    depth = candle.volume if candle.volume > 0 else ZERO
    bid = candle.close - tick
    book.apply_snapshot([(bid, depth)] if bid > 0 and depth else [], [(candle.close + tick, depth)] if depth else [])
    return book


def packaged_candles(product_id: str) -> list[Candle]:
    """The real 1-minute bars shipped with the sandbox for `product_id` (BTC-USD, ETH-USD), oldest first."""
    from cryptoj.sandbox.market.bars import PACKAGED_BARS

    name = PACKAGED_BARS.get(product_id)
    if name is None:
        raise BacktestError(f"no packaged bars for {product_id}; packaged: {', '.join(sorted(PACKAGED_BARS))}")
    raw = resources.files("cryptoj.sandbox.data").joinpath(name).read_bytes()
    rows = csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8")))
    return [
        Candle(
            start=datetime.fromtimestamp(int(row["start"]), tz=UTC),
            open=Decimal(row["open"]),
            high=Decimal(row["high"]),
            low=Decimal(row["low"]),
            close=Decimal(row["close"]),
            volume=Decimal(row["volume"]),
        )
        for row in rows
    ]


def load_bars(
    engine: Engine,
    product_ids: Sequence[str],
    *,
    source: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, list[Candle]]:
    """Each product's 1-minute bars: `stored` ones (optionally from `start` to `end`), or the `packaged` real days."""
    if source == "packaged":
        return {pid: packaged_candles(pid) for pid in product_ids}
    if source != "stored":
        raise BacktestError(f"bars come from 'stored' or 'packaged', not {source!r}")
    with UnitOfWork(engine, read_only=True) as uow:
        bars = {pid: uow.candles.window(pid, "ONE_MINUTE", start=start, end=end) for pid in product_ids}
    empty = sorted(pid for pid, candles in bars.items() if not candles)
    if empty:
        raise BacktestError(f"no stored 1-minute bars for {', '.join(empty)}: run the market-data flow first")
    return bars
