"""OrderWriter: the only object that places, cancels and edits orders on an exchange.

It is handed out by `OrderWriter.open`, which asks the live-trading gate first: with paper execution, or
on Coinbase without every opt-in, there is no writer at all. Intents are checked against the product's
rules before anything is built, so a violation never reaches the exchange.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from cryptoj.coinbase import models as wire
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.config import Settings
from cryptoj.domain.orders import OrderIntent
from cryptoj.services.gate import Endpoints, require_order_writing
from cryptoj.services.mapping import order_configuration_for

__all__ = ["CancelOutcome", "OrderWriter"]


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """What a cancel request did to one order."""

    order_id: str
    cancelled: bool
    failure_reason: str | None


class OrderWriter:
    """Creates, cancels and edits orders. Build it with `OrderWriter.open`, never directly in a run.

    Parameters:
        client: the REST client to send through.
    """

    def __init__(self, client: CoinbaseAdvancedClient, *, _gate_checked: bool = False) -> None:
        if not _gate_checked:
            raise TypeError("an OrderWriter comes from OrderWriter.open, which asks the live-trading gate")
        self._client = client

    @classmethod
    def open(cls, settings: Settings, endpoints: Endpoints, client: CoinbaseAdvancedClient) -> OrderWriter:
        """A writer for these settings; `LiveTradingRefused` (naming what is missing) when they do not allow one."""
        require_order_writing(settings, real_coinbase=endpoints.real_coinbase)
        return cls(client, _gate_checked=True)

    async def create(self, intent: OrderIntent, *, client_order_id: str) -> wire.CreateOrderResponse:
        """Send `intent` under `client_order_id` (a repeat returns the existing order, never a second one).

        Raises `OrderRejectedError` when the exchange says no, and `UnknownOutcomeError` when it may have
        placed the order without a definite answer.
        """
        request = wire.CreateOrderRequest(
            client_order_id=client_order_id,
            product_id=intent.product_id,
            side=intent.side.value,
            order_configuration=order_configuration_for(intent),
        )
        return await self._client.create_order(request)

    async def cancel(self, order_ids: Sequence[str]) -> list[CancelOutcome]:
        """Cancel orders by exchange id, in batches the exchange accepts; one outcome per id."""
        outcomes: list[CancelOutcome] = []
        batch = self._client.limits.batch_cancel_max
        ids = list(order_ids)
        for start in range(0, len(ids), batch):
            answer = await self._client.cancel_orders(ids[start : start + batch])
            outcomes.extend(
                CancelOutcome(result.order_id or "", result.success, None if result.success else result.failure_reason)
                for result in answer.results
            )
        return outcomes

    async def edit(self, order_id: str, *, price: Decimal | None = None, size: Decimal | None = None) -> None:
        """Change a resting GTC limit order's price or size (never retried: an unknown outcome is raised)."""
        await self._client.edit_order(wire.EditOrderRequest(order_id=order_id, price=price, size=size))
