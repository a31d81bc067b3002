"""The route table: which method and path run which handler, and whether a JWT is needed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptoj.sandbox.rest import accounts, market, orders
from cryptoj.sandbox.rest.http import PREFIX, Handler

__all__ = ["PREFIX", "ROUTES", "Route", "match"]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint and how it is served.

    `public` routes need no JWT and are CDN-cached on Coinbase; `creates_order` marks POST /orders, whose
    connection the drop-after-accept fault cuts once the order exists.
    """

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    public: bool
    creates_order: bool = False


def _route(method: str, path: str, handler: Handler, *, public: bool = False, creates_order: bool = False) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", PREFIX + path)
    return Route(method, re.compile(f"^{regex}$"), handler, public, creates_order)


ROUTES: tuple[Route, ...] = (
    _route("GET", "/time", market.server_time, public=True),
    _route("GET", "/market/products", market.list_products, public=True),
    _route("GET", "/market/products/{product_id}", market.get_product, public=True),
    _route("GET", "/market/product_book", market.product_book, public=True),
    _route("GET", "/market/products/{product_id}/candles", market.candles, public=True),
    _route("GET", "/market/products/{product_id}/ticker", market.market_trades, public=True),
    _route("GET", "/products", market.list_products),
    _route("GET", "/products/{product_id}", market.get_product),
    _route("GET", "/product_book", market.product_book),
    _route("GET", "/best_bid_ask", market.best_bid_ask),
    _route("GET", "/products/{product_id}/candles", market.candles),
    _route("GET", "/products/{product_id}/ticker", market.market_trades),
    _route("GET", "/accounts", accounts.list_accounts),
    _route("GET", "/accounts/{account_uuid}", accounts.get_account),
    _route("GET", "/portfolios", accounts.list_portfolios),
    _route("GET", "/key_permissions", accounts.key_permissions),
    _route("GET", "/transaction_summary", accounts.transaction_summary),
    _route("POST", "/orders", orders.create_order, creates_order=True),
    _route("POST", "/orders/preview", orders.preview_order),
    _route("POST", "/orders/batch_cancel", orders.batch_cancel),
    _route("POST", "/orders/edit", orders.edit_order),
    _route("POST", "/orders/edit_preview", orders.edit_preview),
    _route("GET", "/orders/historical/batch", orders.list_orders),
    _route("GET", "/orders/historical/fills", orders.list_fills),
    _route("GET", "/orders/historical/{order_id}", orders.get_order),
)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving `method path`, with its path parameters; None when no route does."""
    for route in ROUTES:
        if route.method == method:
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
    return None
