"""Products, books, candles, market trades and server time (private and public /market routes)."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

from cryptoj.domain.book import BookSide, OrderBook
from cryptoj.sandbox.engine.wire import decimal_text, rest_time
from cryptoj.sandbox.market import ProductMarket
from cryptoj.sandbox.rest.http import PREFIX, ApiError, Call, query_int

__all__ = [
    "best_bid_ask",
    "candles",
    "get_product",
    "list_products",
    "market_trades",
    "product_book",
    "server_time",
]

MAX_CANDLES = 350
GRANULARITIES = {
    "ONE_MINUTE": 60,
    "FIVE_MINUTE": 300,
    "FIFTEEN_MINUTE": 900,
    "THIRTY_MINUTE": 1800,
    "ONE_HOUR": 3600,
    "TWO_HOUR": 7200,
    "FOUR_HOUR": 14400,
    "SIX_HOUR": 21600,
    "ONE_DAY": 86400,
}


def _plain(value: Decimal) -> str:
    """A product rule as Coinbase writes it (`0.00000001`, never `1E-8`)."""
    return format(value, "f")


def _market(call: Call, product_id: str | None) -> ProductMarket:
    market = call.exchange.markets.get(product_id or "")
    if market is None:
        raise ApiError(404, "NOT_FOUND", "valid product_id is required")
    return market


def _public(call: Call) -> bool:
    """Whether the call came through the public /market routes (the CDN's, on Coinbase)."""
    return call.path.startswith(f"{PREFIX}/market/")


def _product_body(call: Call, market: ProductMarket, *, best_prices: str) -> dict[str, Any]:
    """A product object; `best_prices` is "book" (filled), "empty" ("") or "absent" (left out)."""
    spec = market.spec
    ticker = market.ticker(call.exchange.now().timestamp())
    bid, ask = market.book.best_bid, market.book.best_ask
    body: dict[str, Any] = {
        "product_id": spec.product_id,
        "price": decimal_text(ticker.price),
        "price_percentage_change_24h": decimal_text(ticker.price_percent_chg_24_h),
        "volume_24h": decimal_text(ticker.volume_24_h),
        "volume_percentage_change_24h": "0",
        "base_increment": _plain(spec.base_increment),
        "quote_increment": _plain(spec.quote_increment),
        "quote_min_size": _plain(spec.quote_min_size),
        "quote_max_size": _plain(spec.quote_max_size),
        "base_min_size": _plain(spec.base_min_size),
        "base_max_size": _plain(spec.base_max_size),
        "base_name": spec.base_name,
        "quote_name": spec.quote_name,
        "watched": False,
        "is_disabled": False,
        "new": False,
        "status": "online",
        "cancel_only": spec.cancel_only,
        "limit_only": spec.limit_only,
        "post_only": spec.post_only,
        "trading_disabled": spec.trading_disabled,
        "auction_mode": False,
        "base_display_symbol": spec.base_currency,
        "quote_display_symbol": spec.quote_currency,
        "product_type": "SPOT",
        "quote_currency_id": spec.quote_currency,
        "base_currency_id": spec.base_currency,
        "fcm_trading_session_details": None,
        "mid_market_price": "",
        "alias": "",
        "alias_to": [],
        "view_only": False,
        "price_increment": _plain(spec.price_increment),
        "display_name": spec.product_id,
        "product_venue": "CBE",
        "approximate_quote_24h_volume": decimal_text((ticker.volume_24_h * ticker.price).quantize(Decimal("0.01"))),
        "new_at": "2023-01-01T00:00:00Z",
        "market_cap": "",
        "base_cbrn": "",
        "quote_cbrn": "",
        "product_cbrn": "",
        "icon_color": "",
        "icon_url": "",
        "display_name_overwrite": "",
        "is_alpha_testing": False,
        "about_description": "",
    }
    if best_prices == "book":
        body["best_bid_price"] = decimal_text(bid.price) if bid else ""
        body["best_ask_price"] = decimal_text(ask.price) if ask else ""
    elif best_prices == "empty":
        body["best_bid_price"] = body["best_ask_price"] = ""
    return body


def _best_prices(call: Call) -> str:
    """How this answer writes best bid and ask: real /market answers leave them out or empty (fact 27)."""
    forms = call.exchange.forms
    if not (forms.real and _public(call)):
        return "book"
    return "empty" if forms.best_prices_empty() else "absent"


async def list_products(call: Call) -> dict[str, Any]:
    """GET /products and /market/products (the real /market answer's `pagination` is null, fact 27)."""
    wanted = call.query.getlist("product_ids")
    product_type = call.query.get("product_type")
    limit = query_int(call, "limit", default=0, low=0)
    offset = query_int(call, "offset", default=0, low=0)
    markets = [m for pid, m in call.exchange.markets.items() if not wanted or pid in wanted]
    if product_type not in (None, "", "SPOT"):
        markets = []
    page = markets[offset : offset + limit] if limit else markets[offset:]
    best_prices = _best_prices(call)
    pagination = {"prev_cursor": "", "next_cursor": "", "has_next": False, "has_prev": False}
    return {
        "products": [_product_body(call, m, best_prices=best_prices) for m in page],
        "num_products": len(page),
        "pagination": None if call.exchange.forms.real and _public(call) else pagination,
    }


async def get_product(call: Call) -> dict[str, Any]:
    """GET /products/{product_id} and /market/products/{product_id}."""
    market = _market(call, call.path_params["product_id"])
    return _product_body(call, market, best_prices=_best_prices(call))


def _levels(book: OrderBook, side: BookSide, limit: int) -> list[dict[str, str]]:
    return [{"price": decimal_text(level.price), "size": decimal_text(level.size)} for level in book.depth(side, limit)]


def _pricebook(call: Call, market: ProductMarket, limit: int) -> dict[str, Any]:
    book = market.book
    return {
        "product_id": market.spec.product_id,
        "bids": _levels(book, BookSide.BID, limit),
        "asks": _levels(book, BookSide.ASK, limit),
        "time": rest_time(call.exchange.now(), dialect=call.exchange.forms.dialect),
    }


async def product_book(call: Call) -> dict[str, Any]:
    """GET /product_book and /market/product_book."""
    market = _market(call, call.query.get("product_id"))
    limit = query_int(call, "limit", default=50, low=0) or 50
    book = market.book
    mid, spread = book.mid, book.spread
    return {
        "pricebook": _pricebook(call, market, limit),
        "last": decimal_text(market.last_price),
        "mid_market": decimal_text(mid) if mid is not None else "",
        "spread_bps": decimal_text((spread / mid * 10_000).quantize(Decimal("1e-12")))
        if mid and spread is not None
        else "",
        "spread_absolute": decimal_text(spread) if spread is not None else "",
    }


async def best_bid_ask(call: Call) -> dict[str, Any]:
    """GET /best_bid_ask: the top level of each product (all products when none is named)."""
    wanted = call.query.getlist("product_ids") or list(call.exchange.markets)
    return {"pricebooks": [_pricebook(call, _market(call, pid), 1) for pid in wanted]}


async def candles(call: Call) -> dict[str, Any]:
    """GET /products/{id}/candles: buckets newest first, at most 350, empty future buckets absent."""
    market = _market(call, call.path_params["product_id"])
    granularity = GRANULARITIES.get(call.query.get("granularity", ""))
    if granularity is None:
        raise ApiError(400, "INVALID_ARGUMENT", "granularity argument is invalid")
    try:
        start, end = int(call.query["start"]), int(call.query["end"])
    except (KeyError, ValueError):
        raise ApiError(400, "INVALID_ARGUMENT", "start and end argument is invalid") from None
    limit = query_int(call, "limit", default=MAX_CANDLES, low=1, high=MAX_CANDLES)
    if end < start:
        raise ApiError(400, "INVALID_ARGUMENT", "start and end argument is invalid")
    first = start // granularity * granularity
    # Counted before any list is built: a range of years at one minute would take the server's memory.
    if max(1, -(-(end - first) // granularity)) > limit:
        raise ApiError(
            400,
            "INVALID_ARGUMENT",
            f"start and end argument is invalid - number of candles requested should be less than {MAX_CANDLES}",
        )
    buckets = list(range(first, end, granularity)) or [first]
    now = call.exchange.now().timestamp()
    rows = []
    for bucket in reversed(buckets):
        if bucket > now:
            continue
        o, h, lo, c, v = market.candle(bucket, granularity, now)
        rows.append(
            {
                "start": str(bucket),
                "low": decimal_text(lo),
                "high": decimal_text(h),
                "open": decimal_text(o),
                "close": decimal_text(c),
                "volume": decimal_text(v),
            }
        )
    return {"candles": rows}


async def market_trades(call: Call) -> dict[str, Any]:
    """GET /products/{id}/ticker: the latest trades, newest first, and the top of the book."""
    market = _market(call, call.path_params["product_id"])
    limit = query_int(call, "limit", default=100, low=1, high=1000)
    start = query_int(call, "start", default=0)
    end = query_int(call, "end", default=0)
    trades = [
        t
        for t in market.recent_trades(1000)
        if (not start or t.time.timestamp() >= start) and (not end or t.time.timestamp() < end)
    ][:limit]
    bid, ask = market.book.best_bid, market.book.best_ask
    dialect = call.exchange.forms.dialect
    return {
        "trades": [
            {
                "trade_id": t.trade_id,
                "product_id": t.product_id,
                "price": decimal_text(t.price),
                "size": decimal_text(t.size),
                "time": rest_time(t.time, dialect=dialect),
                "side": t.maker_side.value,
                "exchange": "CBE",
            }
            for t in trades
        ],
        "best_bid": decimal_text(bid.price) if bid else "",
        "best_ask": decimal_text(ask.price) if ask else "",
    }


async def server_time(call: Call) -> dict[str, Any]:
    """GET /time: the exchange clock; int64s as strings, like Coinbase."""
    now = call.exchange.now().astimezone(UTC)
    millis = int(now.timestamp() * 1000)
    return {
        "iso": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "epochSeconds": str(millis // 1000),
        "epochMillis": str(millis),
    }
