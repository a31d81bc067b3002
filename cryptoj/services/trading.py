"""TradingService: one trading cycle's decisions, from stored market data and the portfolio to keyed intents.

`decide` is the single function that turns a strategy, what the market shows and the portfolio into
intents; the live cycle and the backtest both call it, so a backtest's intents on a bar are the ones a
live cycle would make on that bar. An intent is numbered among its strategy's intents for its product in
the cycle (not by its place in the cycle's list, which a re-run on a moved portfolio may shorten), so a
cycle re-run with the same key derives the same client_order_id for each product's intent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from cryptoj.config import Settings
from cryptoj.domain.orders import OrderIntent
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.products import ProductRules
from cryptoj.domain.strategy import (
    MarketData,
    MovingAverageCrossover,
    RebalanceToWeights,
    Strategy,
    intents_toward,
)
from cryptoj.services.executor import OrderKey, Placement
from cryptoj.services.market_data import MarketDataService
from cryptoj.services.runtime import Runtime

__all__ = ["CycleIntent", "CyclePlan", "TradingService", "decide", "history_needed", "strategies_for"]


def strategies_for(settings: Settings, products: Sequence[str]) -> list[Strategy]:
    """The strategies the settings name, over `products`."""
    if settings.strategy == "rebalance":
        weights = settings.rebalance_weights or {pid: Decimal(1) / (2 * len(products)) for pid in products}
        return [RebalanceToWeights(weights=weights, currency=settings.risk_currency)]
    return [
        MovingAverageCrossover(
            product_id=pid,
            fast=settings.strategy_fast,
            slow=settings.strategy_slow,
            allocation=settings.strategy_allocation,
        )
        for pid in products
    ]


def history_needed(strategies: Sequence[Strategy]) -> int:
    """How many candles of history the strategies look at (at least one)."""
    return max([1, *(getattr(strategy, "slow", 1) for strategy in strategies)])


def decide(
    strategy: Strategy, market: MarketData, portfolio: Portfolio, rules: Mapping[str, ProductRules]
) -> list[OrderIntent]:
    """The intents `strategy` makes on this market and portfolio: its targets, as orders toward them."""
    return intents_toward(strategy.targets(market, portfolio), portfolio, rules, market)


@dataclass(frozen=True, slots=True)
class CycleIntent:
    """One intent of a cycle with the key that names its order."""

    key: OrderKey
    intent: OrderIntent


@dataclass(frozen=True, slots=True)
class CyclePlan:
    """What a cycle decided: its intents, and the marks they were decided on."""

    cycle_key: str
    marks: Mapping[str, Decimal]
    intents: tuple[CycleIntent, ...]


class TradingService:
    """Decides and places one cycle's orders on a run's parts.

    Parameters:
        runtime: the run's parts (exchange, executor, store).
    """

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        self.market_data = MarketDataService(runtime.exchange, runtime.engine)
        self._rules: dict[str, ProductRules] = {}  # read once per product for the service's life (one cycle's task)

    async def marks(self, product_ids: Sequence[str]) -> dict[str, Decimal]:
        """Mid prices from the authenticated top of book (never the CDN-cached public one)."""
        quotes = await self._rt.exchange.best_bid_ask(list(product_ids))
        return {pid: quote.mid for pid, quote in quotes.items() if quote.mid is not None}

    async def plan(self, cycle_key: str, products: Sequence[str]) -> CyclePlan:
        """Every intent of the cycle, keyed, from the stored candles, live marks and the portfolio."""
        strategies = strategies_for(self._rt.settings, products)
        marks = await self.marks(products)
        market = self.market_data.market(marks, history=history_needed(strategies))
        portfolio = await self._rt.executor.portfolio()
        rules = self.market_data.rules(products)
        intents: list[CycleIntent] = []
        for strategy in strategies:
            # Numbered per product, not by place in the list: a re-run after a crash plans on a portfolio its
            # first run moved, so its list may be shorter, and each product's intent must keep its id.
            seen: Counter[str] = Counter()
            for intent in decide(strategy, market, portfolio, rules):
                intents.append(CycleIntent(OrderKey(cycle_key, strategy.name, seen[intent.product_id]), intent))
                seen[intent.product_id] += 1
        # Sells first across strategies (a stable sort: within a strategy its own order, sells then buys by product).
        intents.sort(key=lambda item: (item.intent.side.value != "SELL", item.key.strategy))
        return CyclePlan(cycle_key=cycle_key, marks=marks, intents=tuple(intents))

    def load_rules(self, product_ids: Iterable[str]) -> None:
        """Read the rules of every product about to be placed, in one read (`place` reads them one by one)."""
        wanted = sorted(set(product_ids) - set(self._rules))
        if wanted:
            self._rules.update(self.market_data.rules(wanted))

    async def place(self, item: CycleIntent, marks: Mapping[str, Decimal]) -> Placement:
        """Place one intent through the executor's protocol (a repeat sends nothing new)."""
        product_id = item.intent.product_id
        self.load_rules([product_id])
        return await self._rt.executor.place(item.intent, key=item.key, rules=self._rules[product_id], marks=marks)
