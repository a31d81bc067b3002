"""Products and market data: products, book, best bid/ask, candles, market trades, server time."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from cryptoj.coinbase.models.common import OptDecimal, OptTime, WireDecimal, WireInt, WireList, WireModel

__all__ = [
    "BestBidAskResponse",
    "Candle",
    "CandlesResponse",
    "Granularity",
    "ListProductsResponse",
    "MarketTrade",
    "MarketTradesResponse",
    "Pagination",
    "PriceBook",
    "PriceLevel",
    "Product",
    "ProductBookResponse",
    "ServerTime",
]


class Granularity(StrEnum):
    """Candle bucket widths Coinbase serves; `seconds` gives the width."""

    ONE_MINUTE = "ONE_MINUTE"
    FIVE_MINUTE = "FIVE_MINUTE"
    FIFTEEN_MINUTE = "FIFTEEN_MINUTE"
    THIRTY_MINUTE = "THIRTY_MINUTE"
    ONE_HOUR = "ONE_HOUR"
    TWO_HOUR = "TWO_HOUR"
    FOUR_HOUR = "FOUR_HOUR"  # newer than the others: some SDKs lack it
    SIX_HOUR = "SIX_HOUR"
    ONE_DAY = "ONE_DAY"

    @property
    def seconds(self) -> int:
        """Width of one bucket in seconds."""
        return _GRANULARITY_SECONDS[self]


_GRANULARITY_SECONDS = {
    Granularity.ONE_MINUTE: 60,
    Granularity.FIVE_MINUTE: 300,
    Granularity.FIFTEEN_MINUTE: 900,
    Granularity.THIRTY_MINUTE: 1800,
    Granularity.ONE_HOUR: 3600,
    Granularity.TWO_HOUR: 7200,
    Granularity.FOUR_HOUR: 14400,
    Granularity.SIX_HOUR: 21600,
    Granularity.ONE_DAY: 86400,
}


class Product(WireModel):
    """A tradable pair and its rules (increments, size limits, trading flags)."""

    product_id: str
    price: OptDecimal = None
    price_percentage_change_24h: str | None = None  # a percentage, sometimes with a "%": not money
    volume_24h: OptDecimal = None
    volume_percentage_change_24h: str | None = None
    base_increment: OptDecimal = None
    quote_increment: OptDecimal = None
    price_increment: OptDecimal = None  # may differ from quote_increment (futures)
    base_min_size: OptDecimal = None
    base_max_size: OptDecimal = None
    quote_min_size: OptDecimal = None
    quote_max_size: OptDecimal = None
    base_name: str | None = None
    quote_name: str | None = None
    status: str | None = None
    cancel_only: bool = False
    limit_only: bool = False
    post_only: bool = False
    trading_disabled: bool = False
    is_disabled: bool = False
    auction_mode: bool = False
    product_type: str | None = None
    quote_currency_id: str | None = None
    base_currency_id: str | None = None
    base_display_symbol: str | None = None
    quote_display_symbol: str | None = None
    mid_market_price: OptDecimal = None
    display_name: str | None = None
    product_venue: str | None = None
    approximate_quote_24h_volume: OptDecimal = None


class Pagination(WireModel):
    """Products' paging block."""

    prev_cursor: str | None = None
    next_cursor: str | None = None
    has_next: bool = False
    has_prev: bool = False


class ListProductsResponse(WireModel):
    """`GET /products` and `GET /market/products`."""

    products: WireList[Product] = Field(default_factory=list)
    num_products: WireInt | None = None
    pagination: Pagination | None = None


class PriceLevel(WireModel):
    """One aggregated book level."""

    price: WireDecimal
    size: WireDecimal


class PriceBook(WireModel):
    """Bids (best first) and asks (best first) of one product."""

    product_id: str
    bids: WireList[PriceLevel] = Field(default_factory=list)
    asks: WireList[PriceLevel] = Field(default_factory=list)
    time: OptTime = None


class ProductBookResponse(WireModel):
    """`GET /product_book`: the book and a few derived figures."""

    pricebook: PriceBook
    last: OptDecimal = None
    mid_market: OptDecimal = None
    spread_bps: OptDecimal = None
    spread_absolute: OptDecimal = None


class BestBidAskResponse(WireModel):
    """`GET /best_bid_ask`: top of book per product."""

    pricebooks: WireList[PriceBook] = Field(default_factory=list)


class Candle(WireModel):
    """One OHLCV bucket; `start` is the bucket open in UNIX seconds (a string on the wire)."""

    start: WireInt
    low: WireDecimal
    high: WireDecimal
    open: WireDecimal
    close: WireDecimal
    volume: WireDecimal


class CandlesResponse(WireModel):
    """`GET /products/{id}/candles`: newest first."""

    candles: WireList[Candle] = Field(default_factory=list)


class MarketTrade(WireModel):
    """One public trade; `side` is the maker's side."""

    trade_id: str
    product_id: str
    price: WireDecimal
    size: WireDecimal
    time: OptTime = None
    side: str | None = None
    exchange: str | None = None


class MarketTradesResponse(WireModel):
    """`GET /products/{id}/ticker`: recent trades and the top of book."""

    trades: WireList[MarketTrade] = Field(default_factory=list)
    best_bid: OptDecimal = None
    best_ask: OptDecimal = None


class ServerTime(WireModel):
    """`GET /time`; the int64s arrive as strings."""

    iso: OptTime = None
    epoch_seconds: WireInt | None = Field(default=None, alias="epochSeconds")
    epoch_millis: WireInt | None = Field(default=None, alias="epochMillis")
