"""ExchangeService: what the exchange knows, read as domain objects.

Market data (candles, ticker, best bid/ask, books, product rules), accounts (balances, value) and orders
(get, find by client_order_id, list open, fills, preview). It holds no way to write an order: placing,
cancelling and editing belong to `cryptoj.services.orders.OrderWriter`, which only the live-trading gate
hands out.

Public `/market/*` answers come through a CDN cache (real-traffic fact 20): everything here reads the
authenticated endpoints, which answer fresh, except `public_candles` for backfills of closed history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd

from cryptoj.coinbase import models as wire
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.models.products import Granularity
from cryptoj.domain.book import OrderBook
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import OrderIntent
from cryptoj.domain.paper import FeeRates
from cryptoj.domain.products import ProductRules
from cryptoj.domain.strategy import Candle
from cryptoj.services.frames import candle_frame
from cryptoj.services.mapping import (
    MappingError,
    book_from_wire,
    candle_from_wire,
    order_configuration_for,
    rules_from_wire,
)

__all__ = ["AccountBalance", "ExchangeService", "MarketTrade", "Preview", "Quote", "Ticker"]

# Coinbase's entry tier (0 - 1K USD of 30-day volume): what an account with no summary pays.
ENTRY_FEES = FeeRates(maker=Decimal("0.006"), taker=Decimal("0.012"))


@dataclass(frozen=True, slots=True)
class Quote:
    """The top of a product's book."""

    product_id: str
    bid: Decimal | None
    ask: Decimal | None

    @property
    def mid(self) -> Decimal | None:
        """Halfway between bid and ask; None unless both are known."""
        return (self.bid + self.ask) / 2 if self.bid is not None and self.ask is not None else None


@dataclass(frozen=True, slots=True)
class MarketTrade:
    """One public trade."""

    trade_id: str
    product_id: str
    price: Decimal
    size: Decimal
    time: datetime | None
    side: str | None


@dataclass(frozen=True, slots=True)
class Ticker:
    """The last trades of a product and its top of book."""

    product_id: str
    last_price: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    trades: tuple[MarketTrade, ...]


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """One currency's balance: what is free to trade and what open orders hold."""

    currency: str
    available: Decimal
    hold: Decimal

    @property
    def total(self) -> Decimal:
        """Available plus on hold."""
        return self.available + self.hold


@dataclass(frozen=True, slots=True)
class Preview:
    """What Coinbase says an order would do, without placing it."""

    total: Decimal | None
    commission: Decimal | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        """Whether the exchange found nothing wrong with the order."""
        return not self.errors


class ExchangeService:
    """Reads market data, accounts and orders from the exchange and returns domain objects.

    Parameters:
        client: the REST client (the composition root builds it, with the live-trading guard underneath).
    """

    def __init__(self, client: CoinbaseAdvancedClient) -> None:
        self._client = client

    # --- market data ---------------------------------------------------------------------------

    async def product_rules(self, product_ids: Iterable[str]) -> dict[str, ProductRules]:
        """Each product's increments, size limits and trading flags."""
        return {pid: rules_from_wire(await self._client.get_product(pid)) for pid in product_ids}

    async def candles(
        self,
        product_id: str,
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity = Granularity.ONE_MINUTE,
    ) -> list[Candle]:
        """Every candle whose bucket opens in [start, end), oldest first; empty buckets are simply absent."""
        found: dict[datetime, Candle] = {}
        async for candle in self._client.iter_candles(product_id, start=start, end=end, granularity=granularity):
            domain = candle_from_wire(candle)
            if start <= domain.start < end:
                found[domain.start] = domain  # a window edge can repeat a bucket: keep one
        return [found[at] for at in sorted(found)]

    async def candle_frame(
        self,
        product_id: str,
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity = Granularity.ONE_MINUTE,
    ) -> pd.DataFrame:
        """Candles of [start, end) as a frame: a UTC index with one row per interval, Decimal values.

        An interval with no trades keeps its row with empty values: a gap stays visible, nothing is invented.
        """
        return candle_frame(
            await self.candles(product_id, start=start, end=end, granularity=granularity),
            start=start,
            end=end,
            seconds=granularity.seconds,
        )

    async def best_bid_ask(self, product_ids: Sequence[str]) -> dict[str, Quote]:
        """The authenticated top of book of each product (fresh, not CDN-cached)."""
        answer = await self._client.get_best_bid_ask(list(product_ids))
        quotes = {pid: Quote(pid, None, None) for pid in product_ids}
        for book in answer.pricebooks:
            quotes[book.product_id] = Quote(
                book.product_id,
                book.bids[0].price if book.bids else None,
                book.asks[0].price if book.asks else None,
            )
        return quotes

    async def ticker(self, product_id: str, *, limit: int = 100) -> Ticker:
        """The most recent public trades (newest first) and the top of book."""
        answer = await self._client.get_market_trades(product_id, limit=limit)
        trades = tuple(_trade(trade) for trade in answer.trades)
        return Ticker(
            product_id=product_id,
            last_price=trades[0].price if trades else None,
            bid=answer.best_bid,
            ask=answer.best_ask,
            trades=trades,
        )

    async def trades_since(
        self, product_id: str, since: datetime, *, until: datetime, limit: int = 1000
    ) -> list[MarketTrade]:
        """Public trades printed in (since, until], oldest first (at most `limit`: the newest are kept)."""
        answer = await self._client.get_market_trades(product_id, limit=limit, start=since, end=until)
        trades = [_trade(trade) for trade in answer.trades]
        chosen = [t for t in trades if t.time is None or since < t.time <= until]
        return sorted(chosen, key=lambda t: (t.time is None, t.time))

    async def book(self, product_id: str, *, limit: int | None = None) -> OrderBook:
        """The authenticated level-2 book (at most `limit` levels a side)."""
        answer = await self._client.get_product_book(product_id, limit=limit)
        return book_from_wire(answer.pricebook)

    # --- accounts ------------------------------------------------------------------------------

    async def balances(self) -> dict[str, AccountBalance]:
        """Every currency's balance (summed over its wallets)."""
        totals: dict[str, tuple[Decimal, Decimal]] = {}
        async for account in self._client.iter_accounts():
            available = account.available_balance.value
            hold = account.hold.value if account.hold is not None else ZERO
            before = totals.get(account.currency, (ZERO, ZERO))
            totals[account.currency] = (before[0] + available, before[1] + hold)
        return {cur: AccountBalance(cur, available, hold) for cur, (available, hold) in totals.items()}

    async def fee_rates(self, *, default: FeeRates = ENTRY_FEES) -> FeeRates:
        """The account's maker and taker rates from its fee tier; `default` when the tier gives none."""
        tier = (await self._client.get_transaction_summary()).fee_tier
        if tier.maker_fee_rate is None or tier.taker_fee_rate is None:
            return default
        return FeeRates(maker=tier.maker_fee_rate, taker=tier.taker_fee_rate)

    # --- orders --------------------------------------------------------------------------------

    async def get_order(self, order_id: str) -> wire.Order:
        """One order by the exchange's id."""
        return await self._client.get_order(order_id)

    async def find_order(self, client_order_id: str, *, product_id: str, since: datetime) -> wire.Order | None:
        """The exchange's order carrying `client_order_id`, placed at or after `since`; None if there is none.

        Coinbase cannot filter by client_order_id, so this pages through the product's orders since then
        (a minute of slack either side of our clock).
        """
        async for order in self._client.iter_orders(product_ids=[product_id], start_date=since - timedelta(minutes=1)):
            if order.client_order_id == client_order_id:
                return order
        return None

    async def open_orders(self, product_ids: Sequence[str] | None = None) -> list[wire.Order]:
        """Every order still working on the exchange."""
        return [
            order
            async for order in self._client.iter_orders(
                product_ids=list(product_ids) if product_ids else None, order_status=["OPEN"]
            )
        ]

    async def orders_since(self, since: datetime, *, product_ids: Sequence[str] | None = None) -> list[wire.Order]:
        """Every order placed at or after `since`, whatever its status."""
        return [
            order
            async for order in self._client.iter_orders(
                product_ids=list(product_ids) if product_ids else None, start_date=since
            )
        ]

    async def fills(self, order_ids: Sequence[str]) -> list[wire.Fill]:
        """Every fill of these orders (as the wire has them: the caller knows whose client_order_id they are)."""
        if not order_ids:
            return []
        return [fill async for fill in self._client.iter_fills(order_ids=list(order_ids))]

    async def preview(self, intent: OrderIntent) -> Preview:
        """What the exchange says of `intent`, placing nothing."""
        request = wire.PreviewOrderRequest(
            product_id=intent.product_id, side=intent.side.value, order_configuration=order_configuration_for(intent)
        )
        answer = await self._client.preview_order(request)
        return Preview(
            total=answer.order_total,
            commission=answer.commission_total,
            errors=tuple(answer.errs),
            warnings=tuple(answer.warning),
        )


def _trade(trade: wire.MarketTrade) -> MarketTrade:
    if trade.price <= 0 or trade.size <= 0:
        raise MappingError(f"trade {trade.trade_id} of {trade.product_id} has a non-positive price or size")
    return MarketTrade(trade.trade_id, trade.product_id, trade.price, trade.size, trade.time, trade.side)
