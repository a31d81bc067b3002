"""Coinbase product rules and the validation of an order intent against them.

Coinbase rejects, rather than rounds, an order that breaks a product rule, so CryptoJ checks every rule
before sending and reports *every* violation by name (the names follow Coinbase's failure reasons), and
offers `round_intent` to bring an intent onto the product's increments the safe way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any

from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import (
    InvalidAmount,
    is_multiple_of,
    parse_non_negative,
    parse_positive,
    round_price,
    round_to_increment,
)
from cryptoj.domain.money import round_size_down as _round_size_down
from cryptoj.domain.orders import InvalidIntent, OrderIntent, OrderType, StopDirection
from cryptoj.domain.side import Side

__all__ = [
    "InvalidProduct",
    "ProductRule",
    "ProductRules",
    "Violation",
    "round_intent",
    "split_product_id",
    "validate",
]


class InvalidProduct(DomainError):
    """Product data that cannot describe a tradable product (a bad increment, min above max, a bad id)."""


class ProductRule(StrEnum):
    """The product rules an intent can break, named after Coinbase's failure reasons where one exists."""

    INVALID_PRODUCT_ID = "INVALID_PRODUCT_ID"  # the intent is for another product
    TRADING_DISABLED = "TRADING_DISABLED"  # trading_disabled or is_disabled: nothing may be placed
    UNTRADABLE_PRODUCT = "UNTRADABLE_PRODUCT"  # status is not "online" (e.g. delisted, offline)
    CANCEL_ONLY = "CANCEL_ONLY"  # only cancels are accepted
    LIMIT_ONLY = "LIMIT_ONLY"  # market orders are refused ("Orderbook is in limit only mode")
    POST_ONLY_REQUIRED = "POST_ONLY_REQUIRED"  # only post-only limit orders are accepted
    INVALID_SIZE_PRECISION = "INVALID_SIZE_PRECISION"  # base_size not a multiple of base_increment
    INVALID_QUOTE_SIZE_PRECISION = "INVALID_QUOTE_SIZE_PRECISION"  # quote_size not a multiple of quote_increment
    INVALID_PRICE_PRECISION = "INVALID_PRICE_PRECISION"  # limit or stop price not a multiple of the price tick
    BASE_SIZE_TOO_SMALL = "BASE_SIZE_TOO_SMALL"
    BASE_SIZE_TOO_LARGE = "BASE_SIZE_TOO_LARGE"
    QUOTE_SIZE_TOO_SMALL = "QUOTE_SIZE_TOO_SMALL"  # also the notional of a base-sized order
    QUOTE_SIZE_TOO_LARGE = "QUOTE_SIZE_TOO_LARGE"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken product rule, with a sentence saying by how much."""

    rule: ProductRule
    message: str


def split_product_id(product_id: str) -> tuple[str, str]:
    """Split ``BTC-USD`` into its base and quote currency."""
    base, sep, quote = product_id.partition("-")
    if not sep or not base or not quote or "-" in quote:
        raise InvalidProduct(f"product id must look like BASE-QUOTE, got {product_id!r}")
    return base, quote


@dataclass(frozen=True, slots=True)
class ProductRules:
    """The trading rules of one spot product, as Coinbase's product endpoint reports them.

    Parameters:
        product_id, base_currency, quote_currency: e.g. ``BTC-USD``, ``BTC``, ``USD``.
        base_increment: the size tick; quote_increment: the quote-size tick.
        price_increment: the price tick (older products omit it: the quote increment applies).
        base_min_size / base_max_size, quote_min_size / quote_max_size: size and notional bounds.
        trading_disabled, is_disabled, cancel_only, limit_only, post_only: the product's trading states.
        status: ``online`` when tradable.
    """

    product_id: str
    base_currency: str
    quote_currency: str
    base_increment: Decimal
    quote_increment: Decimal
    base_min_size: Decimal
    base_max_size: Decimal
    quote_min_size: Decimal
    quote_max_size: Decimal
    price_increment: Decimal | None = None
    trading_disabled: bool = False
    is_disabled: bool = False
    cancel_only: bool = False
    limit_only: bool = False
    post_only: bool = False
    status: str = "online"

    def __post_init__(self) -> None:
        for name in ("base_increment", "quote_increment", "price_increment"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value <= 0):
                raise InvalidProduct(f"{self.product_id}: {name} must be positive, got {value}")
        for low, high in (("base_min_size", "base_max_size"), ("quote_min_size", "quote_max_size")):
            low_value, high_value = getattr(self, low), getattr(self, high)
            if not low_value.is_finite() or not high_value.is_finite() or low_value < 0 or high_value < low_value:
                raise InvalidProduct(f"{self.product_id}: need 0 <= {low} <= {high}, got {low_value} and {high_value}")

    @property
    def price_tick(self) -> Decimal:
        """The increment limit and stop prices must be multiples of."""
        return self.price_increment if self.price_increment is not None else self.quote_increment

    @property
    def accepts_orders(self) -> bool:
        """Whether any new order may be placed at all."""
        return not (self.trading_disabled or self.is_disabled or self.cancel_only) and self.status == "online"

    def validate(self, intent: OrderIntent, *, reference_price: Decimal | None = None) -> tuple[Violation, ...]:
        """Every rule of this product `intent` breaks (see the module's `validate`)."""
        return validate(intent, self, reference_price=reference_price)

    def round(self, intent: OrderIntent) -> OrderIntent:
        """`intent` moved onto this product's increments the safe way (see `round_intent`)."""
        return round_intent(intent, self)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ProductRules:
        """Build the rules from a product object of the REST API (decimal strings, booleans)."""
        try:
            product_id = str(data["product_id"])
            base, quote = split_product_id(product_id)
            price_increment = data.get("price_increment")
            return cls(
                product_id=product_id,
                base_currency=str(data.get("base_currency_id") or base),
                quote_currency=str(data.get("quote_currency_id") or quote),
                base_increment=parse_positive(data["base_increment"], field="base_increment"),
                quote_increment=parse_positive(data["quote_increment"], field="quote_increment"),
                price_increment=parse_positive(price_increment, field="price_increment") if price_increment else None,
                base_min_size=parse_non_negative(data["base_min_size"], field="base_min_size"),
                base_max_size=parse_non_negative(data["base_max_size"], field="base_max_size"),
                quote_min_size=parse_non_negative(data["quote_min_size"], field="quote_min_size"),
                quote_max_size=parse_non_negative(data["quote_max_size"], field="quote_max_size"),
                trading_disabled=_flag(data, "trading_disabled"),
                is_disabled=_flag(data, "is_disabled"),
                cancel_only=_flag(data, "cancel_only"),
                limit_only=_flag(data, "limit_only"),
                post_only=_flag(data, "post_only"),
                status=str(data.get("status") or "online"),
            )
        except KeyError as exc:
            raise InvalidProduct(f"product data lacks {exc.args[0]!r}") from None
        except InvalidAmount as exc:
            raise InvalidProduct(f"product {data.get('product_id')!r}: {exc}") from None


def _flag(data: Mapping[str, Any], name: str) -> bool:
    # A state flag must be a real boolean: a string such as "false" would be truthy and flip the meaning.
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise InvalidProduct(f"product {data.get('product_id')!r}: {name} must be true or false, got {value!r}")
    return value


def validate(
    intent: OrderIntent, rules: ProductRules, *, reference_price: Decimal | None = None
) -> tuple[Violation, ...]:
    """Every product rule `intent` breaks; empty when Coinbase would accept it.

    `reference_price` (a mid or last price) lets the notional of a base-sized market order, and the base
    size of a quote-sized one, be checked; without it those two checks are skipped.
    """
    found: list[Violation] = []

    def add(rule: ProductRule, message: str) -> None:
        found.append(Violation(rule, message))

    if intent.product_id != rules.product_id:
        add(ProductRule.INVALID_PRODUCT_ID, f"intent is for {intent.product_id}, rules are for {rules.product_id}")
    if rules.trading_disabled or rules.is_disabled:
        add(ProductRule.TRADING_DISABLED, f"trading is disabled on {rules.product_id}")
    if rules.status != "online":
        add(ProductRule.UNTRADABLE_PRODUCT, f"{rules.product_id} is {rules.status!r}, not online")
    if rules.cancel_only:
        add(ProductRule.CANCEL_ONLY, f"{rules.product_id} accepts cancels only")
    if rules.limit_only and intent.order_type is OrderType.MARKET:
        add(ProductRule.LIMIT_ONLY, f"{rules.product_id} accepts limit orders only")
    if rules.post_only and not intent.post_only:
        add(ProductRule.POST_ONLY_REQUIRED, f"{rules.product_id} accepts post-only limit orders only")

    for name, price in (("limit_price", intent.limit_price), ("stop_price", intent.stop_price)):
        if price is not None and not is_multiple_of(price, rules.price_tick):
            add(ProductRule.INVALID_PRICE_PRECISION, f"{name} {price} is not a multiple of {rules.price_tick}")

    base_size, quote_size = intent.base_size, intent.quote_size
    price = intent.limit_price if intent.limit_price is not None else reference_price
    if base_size is not None:
        if not is_multiple_of(base_size, rules.base_increment):
            add(
                ProductRule.INVALID_SIZE_PRECISION, f"base_size {base_size} is not a multiple of {rules.base_increment}"
            )
        if price is not None:
            quote_size = base_size * price  # the notional is bounded like a quote size
    elif quote_size is not None:
        if not is_multiple_of(quote_size, rules.quote_increment):
            add(
                ProductRule.INVALID_QUOTE_SIZE_PRECISION,
                f"quote_size {quote_size} is not a multiple of {rules.quote_increment}",
            )
        if price is not None:
            base_size = quote_size / price
    if base_size is not None:
        if base_size < rules.base_min_size:
            add(ProductRule.BASE_SIZE_TOO_SMALL, f"base size {base_size} is below {rules.base_min_size}")
        if base_size > rules.base_max_size:
            add(ProductRule.BASE_SIZE_TOO_LARGE, f"base size {base_size} is above {rules.base_max_size}")
    if quote_size is not None:
        if quote_size < rules.quote_min_size:
            add(ProductRule.QUOTE_SIZE_TOO_SMALL, f"quote size {quote_size} is below {rules.quote_min_size}")
        if quote_size > rules.quote_max_size:
            add(ProductRule.QUOTE_SIZE_TOO_LARGE, f"quote size {quote_size} is above {rules.quote_max_size}")
    return tuple(found)


def round_intent(intent: OrderIntent, rules: ProductRules) -> OrderIntent:
    """The intent moved onto the product's increments without ever asking for more or a worse price.

    Sizes round down; a buy's limit price rounds down and a sell's up. A stop price rounds by its
    direction, whatever the side: a stop-up down and a stop-down up, toward the price it is waiting
    for, so the order fires at the stop asked for or a tick sooner, never later (a protective stop never
    lets the price run further than the caller allowed). Raises `InvalidIntent` when a size or price
    rounds to nothing.
    """
    base_size = _round_size(intent.base_size, rules.base_increment, name="base_size", product_id=intent.product_id)
    quote_size = _round_size(intent.quote_size, rules.quote_increment, name="quote_size", product_id=intent.product_id)
    limit_price = _round_price(intent.limit_price, rules.price_tick, side=intent.side, product_id=intent.product_id)
    stop_price = _round_stop(intent, rules.price_tick)
    return replace(intent, base_size=base_size, quote_size=quote_size, limit_price=limit_price, stop_price=stop_price)


def _round_size(size: Decimal | None, increment: Decimal, *, name: str, product_id: str) -> Decimal | None:
    if size is None:
        return None
    rounded = _round_size_down(size, increment)
    if rounded <= 0:
        raise InvalidIntent(f"{name} {size} of the {product_id} intent rounds down to zero")
    return rounded


def _round_price(price: Decimal | None, tick: Decimal, *, side: Side, product_id: str) -> Decimal | None:
    if price is None:
        return None
    rounded = round_price(price, tick, side=side)
    if rounded <= 0:
        raise InvalidIntent(f"price {price} of the {product_id} intent rounds down to zero")
    return rounded


def _round_stop(intent: OrderIntent, tick: Decimal) -> Decimal | None:
    if intent.stop_price is None:
        return None
    # OrderIntent gives every stop price a direction; the price rises to a stop-up and falls to a stop-down.
    rounding = ROUND_FLOOR if intent.stop_direction is StopDirection.STOP_UP else ROUND_CEILING
    rounded = round_to_increment(intent.stop_price, tick, rounding=rounding)
    if rounded <= 0:
        raise InvalidIntent(f"stop price {intent.stop_price} of the {intent.product_id} intent rounds down to zero")
    return rounded
