"""The strategy protocol and the two built-in strategies.

A strategy reads market data (candles and prices, all Decimal) and the portfolio, and says which base
size it wants to hold of each product. `intents_toward` turns those targets into market order intents,
rounded to the product rules, sells first so their proceeds can pay for the buys. Indicators are Decimal
too: a signal is decided on the exact closes, never on a float's rounding of them (data frames belong to
the services).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import MAX_PREC, Decimal, InvalidOperation, localcontext
from typing import Protocol, runtime_checkable

from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import ZERO, round_size_down
from cryptoj.domain.orders import OrderIntent, OrderType, TimeInForce
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.products import ProductRules, split_product_id
from cryptoj.domain.side import Side

__all__ = [
    "Candle",
    "MarketData",
    "MovingAverageCrossover",
    "RebalanceToWeights",
    "Strategy",
    "StrategyError",
    "Targets",
    "intents_toward",
]


class StrategyError(DomainError):
    """A strategy's configuration or input cannot work (bad windows, weights over 100%, a missing price)."""


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV bar; `start` is when its bucket opens."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class MarketData:
    """What a strategy sees of the market: candles oldest first, and a current price per product."""

    prices: Mapping[str, Decimal]
    candles: Mapping[str, Sequence[Candle]] = field(default_factory=dict)

    def price(self, product_id: str) -> Decimal:
        """The current price of a product; a missing or non-positive price is an error."""
        price = self.prices.get(product_id)
        if price is None or price <= 0:
            raise StrategyError(f"no usable price for {product_id}")
        return price


# What a strategy wants to hold: base size per product.
Targets = dict[str, Decimal]


@runtime_checkable
class Strategy(Protocol):
    """Market data and portfolio in, target holdings out."""

    @property
    def name(self) -> str:
        """A stable name: it is part of every client_order_id the strategy's orders get."""
        ...

    def targets(self, market: MarketData, portfolio: Portfolio) -> Targets:
        """The base size to hold of each product this strategy trades."""
        ...


def intents_toward(
    targets: Mapping[str, Decimal],
    portfolio: Portfolio,
    rules: Mapping[str, ProductRules],
    market: MarketData,
) -> list[OrderIntent]:
    """Market IOC intents that move the portfolio toward `targets`, sells first.

    Each size is rounded down to the product's base_increment; a trade below the product's minimum base
    size or minimum notional is skipped, as Coinbase would refuse it.
    """
    sells: list[OrderIntent] = []
    buys: list[OrderIntent] = []
    for product_id in sorted(targets):
        product = rules.get(product_id)
        if product is None:
            raise StrategyError(f"no product rules for {product_id}")
        target = targets[product_id]
        if target < 0:
            raise StrategyError(f"target for {product_id} is negative ({target}): spot cannot go short")
        delta = target - portfolio.size(product_id)
        if not delta:
            continue  # on target: nothing to round or trade
        size = round_size_down(abs(delta), product.base_increment)
        notional = size * market.price(product_id)
        if size <= 0 or size < product.base_min_size or notional < product.quote_min_size:
            continue
        side = Side.BUY if delta > 0 else Side.SELL
        intent = OrderIntent(
            product_id=product_id,
            side=side,
            order_type=OrderType.MARKET,
            base_size=min(size, product.base_max_size),
            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
        )
        (buys if side is Side.BUY else sells).append(intent)
    return sells + buys


@dataclass(frozen=True, slots=True)
class MovingAverageCrossover:
    """Hold `allocation` (quote) of a product while its fast moving average of closes is above the slow one.

    Parameters:
        product_id: the product traded.
        fast, slow: window lengths in candles (fast < slow).
        allocation: the quote amount to hold while the signal is on; flat otherwise.
        band: while the signal stays on, no trade until the holding's value strays more than this fraction
            from the allocation (without it, every price move of a dollar would buy or sell a dollar's worth).
        name: the strategy's name.
    """

    product_id: str
    fast: int
    slow: int
    allocation: Decimal
    band: Decimal = Decimal("0.05")
    name: str = "ma-crossover"

    def __post_init__(self) -> None:
        if not 1 <= self.fast < self.slow:
            raise StrategyError(f"need 1 <= fast < slow, got fast={self.fast}, slow={self.slow}")
        if not self.allocation.is_finite() or self.allocation <= 0:
            raise StrategyError(f"allocation must be positive, got {self.allocation}")
        if not self.band.is_finite() or not ZERO <= self.band < 1:
            raise StrategyError(f"band must be in [0, 1), got {self.band}")

    def signal(self, candles: Sequence[Candle]) -> bool | None:
        """True when the fast average is above the slow one, False when not, None with too few candles."""
        if len(candles) < self.slow:
            return None
        # MarketData holds candles oldest first; REST answers come newest first, so a window in that order
        # (first newer than last) is read backwards. Checking the ends costs nothing; sorting every call did.
        ordered = candles if candles[0].start <= candles[-1].start else candles[::-1]
        closes = [candle.close for candle in ordered[-self.slow :]]
        with localcontext() as ctx:
            # Sums and integer products are exact at any precision wide enough; the widest costs nothing
            # for prices of a few digits and is never too narrow (working out the width per call cost more).
            ctx.prec = MAX_PREC
            try:
                fast_sum, slow_sum = sum(closes[-self.fast :], ZERO), sum(closes, ZERO)
            except InvalidOperation:  # a signalling NaN among the closes
                slow_sum = Decimal("NaN")
            # A sum is finite exactly when every close is (infinities and NaNs carry through): one check, not twenty.
            if not slow_sum.is_finite():
                raise StrategyError(f"{self.product_id}: a candle close is not a finite number")
            # fast_sum / fast > slow_sum / slow, multiplied out: no division, so nothing is rounded.
            return fast_sum * self.slow > slow_sum * self.fast

    def targets(self, market: MarketData, portfolio: Portfolio) -> Targets:
        """Hold the allocation while the signal is on; keep the holding unchanged without enough history."""
        signal = self.signal(market.candles.get(self.product_id, ()))
        if signal is None:
            return {self.product_id: portfolio.size(self.product_id)}
        if not signal:
            return {self.product_id: ZERO}
        price = market.price(self.product_id)
        held = portfolio.size(self.product_id)
        if abs(held * price - self.allocation) <= self.band * self.allocation:
            return {self.product_id: held}
        return {self.product_id: self.allocation / price}


@dataclass(frozen=True, slots=True)
class RebalanceToWeights:
    """Hold each product at a fixed share of equity; the rest stays in cash.

    Parameters:
        weights: product -> fraction of equity (each >= 0, summing to at most 1).
        band: no trade for a product until its weight strays from its target by more than this fraction of
            the target (a fraction, not points of equity, so a small weight trades as readily as a large one:
            over a hundred products at 0.5 % each a band of one point of equity would never buy). A product
            weighted 0 is sold whenever it is held.
        currency: the quote currency equity is counted in.
        name: the strategy's name.
    """

    weights: Mapping[str, Decimal]
    band: Decimal = Decimal("0.05")
    currency: str = "USD"
    name: str = "rebalance"

    def __post_init__(self) -> None:
        if not self.weights:
            raise StrategyError("rebalancing needs at least one weight")
        if any(not w.is_finite() or w < 0 for w in self.weights.values()):
            raise StrategyError("weights must be zero or positive")
        if sum(self.weights.values(), ZERO) > 1:
            raise StrategyError(f"weights sum to {sum(self.weights.values(), ZERO)}, more than 1")
        if not self.band.is_finite() or not ZERO <= self.band < 1:
            raise StrategyError(f"band must be in [0, 1), got {self.band}")
        # Equity is counted in one currency, so every weighted product must be quoted in it.
        foreign = sorted(pid for pid in self.weights if split_product_id(pid)[1] != self.currency)
        if foreign:
            raise StrategyError(f"products not quoted in {self.currency}: {', '.join(foreign)}")

    def targets(self, market: MarketData, portfolio: Portfolio) -> Targets:
        """Target sizes at the weights; products within the band keep their holding."""
        # A flat position is worth nothing at any price: only held products need one.
        holding = {pid for pid, position in portfolio.positions.items() if not position.is_flat}
        prices = {pid: market.price(pid) for pid in set(self.weights) | holding}
        equity = portfolio.equity(prices, currency=self.currency)
        if equity <= 0:
            raise StrategyError(f"equity in {self.currency} is {equity}: nothing to rebalance")
        result: Targets = {}
        for product_id, weight in self.weights.items():
            price = prices[product_id]
            held = portfolio.size(product_id)
            if abs(held * price / equity - weight) <= self.band * weight:
                result[product_id] = held
            else:
                result[product_id] = weight * equity / price
        return result
