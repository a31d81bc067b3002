"""The products the sandbox trades, with Coinbase's rules (increments, min and max sizes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["DEFAULT_PRODUCTS", "ProductSpec"]


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """A spot product and the rules Coinbase checks orders against.

    Parameters:
        product_id: e.g. ``BTC-USD``.
        base_name, quote_name: display names (``Bitcoin``, ``US Dollar``).
        base_increment / quote_increment / price_increment: the size, quote and price ticks.
        base_min_size ... quote_max_size: order size bounds in base and quote currency.
        walk_start: the random walk's first price (products without replayed bars).
    """

    product_id: str
    base_name: str
    quote_name: str
    base_increment: Decimal
    quote_increment: Decimal
    price_increment: Decimal
    base_min_size: Decimal
    base_max_size: Decimal
    quote_min_size: Decimal
    quote_max_size: Decimal
    walk_start: Decimal
    limit_only: bool = False
    post_only: bool = False
    cancel_only: bool = False
    trading_disabled: bool = False

    @property
    def base_currency(self) -> str:
        """The traded asset (``BTC`` of ``BTC-USD``)."""
        return self.product_id.split("-")[0]

    @property
    def quote_currency(self) -> str:
        """The pricing asset (``USD`` of ``BTC-USD``)."""
        return self.product_id.split("-")[1]

    def status_body(self) -> dict[str, Any]:
        """The product as the WebSocket `status` channel describes it."""
        return {
            "product_type": "SPOT",
            "id": self.product_id,
            "base_currency": self.base_currency,
            "quote_currency": self.quote_currency,
            "base_increment": format(self.base_increment, "f"),
            "quote_increment": format(self.quote_increment, "f"),
            "display_name": self.product_id,
            "status": "online",
            "status_message": "",
            "min_market_funds": format(self.quote_min_size, "f"),
        }


def _spot(product_id: str, base_name: str, base_max: str, quote_max: str, walk_start: str) -> ProductSpec:
    # Increments and bounds as the real /market/products listing gave them (tests/data/coinbase/captured).
    return ProductSpec(
        product_id=product_id,
        base_name=base_name,
        quote_name="US Dollar",
        base_increment=Decimal("0.00000001"),
        quote_increment=Decimal("0.01"),
        price_increment=Decimal("0.01"),
        base_min_size=Decimal("0.00000001"),
        base_max_size=Decimal(base_max),
        quote_min_size=Decimal("1"),
        quote_max_size=Decimal(quote_max),
        walk_start=Decimal(walk_start),
    )


DEFAULT_PRODUCTS: tuple[ProductSpec, ...] = (
    _spot("BTC-USD", "Bitcoin", "3400", "150000000", "67921.53"),
    _spot("ETH-USD", "Ethereum", "42000", "150000000", "1972.72"),
    _spot("SOL-USD", "Solana", "1274000", "25000000", "84.94"),
)
