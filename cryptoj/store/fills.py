"""Fills keyed on their product and the exchange's trade id: a repeated fill is ignored, never counted twice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, tuple_

from cryptoj.domain.orders import Fill, Liquidity
from cryptoj.domain.side import Side
from cryptoj.store._sql import atomic_write, insert_for
from cryptoj.store.columns import check_money
from cryptoj.store.errors import DuplicateRecord, InvalidRecord, UnknownReference
from cryptoj.store.market import ProductRepository
from cryptoj.store.tables import FillRow, OrderRow

__all__ = ["FillRepository"]

_fills = FillRow.__table__  # type: ignore[attr-defined]
_orders = OrderRow.__table__  # type: ignore[attr-defined]


class FillRepository:
    """Fills keyed on their product and the exchange's trade id: a repeated fill is ignored, never counted twice."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, fills: Iterable[Fill]) -> list[Fill]:
        """Store the fills not seen before; returns exactly those (apply only them to orders and positions).

        Every fill must name a stored product and a stored order (`UnknownReference` otherwise) of that
        product and side (`InvalidRecord`); a repeat must be the stored fill (`DuplicateRecord` otherwise).
        """
        # Coinbase numbers trades per product: a trade id names a fill only together with its product.
        batch: dict[tuple[str, str], Fill] = {}
        for fill in fills:
            _check_fill(fill)
            if batch.setdefault((fill.product_id, fill.trade_id), fill) != fill:
                raise InvalidRecord(f"two different fills with trade id {fill.trade_id} in one batch")
        if not batch:
            return []
        ProductRepository(self._connection).require(f.product_id for f in batch.values())
        self._check_orders(batch.values())
        statement = (
            insert_for(self._connection, _fills)
            .on_conflict_do_nothing(index_elements=["trade_id", "product_id"])
            .returning(_fills.c.product_id, _fills.c.trade_id)
        )
        with atomic_write(self._connection, "fills"):
            rows = self._connection.execute(statement, [_fill_values(f) for f in batch.values()])
            inserted = {(product_id, trade_id) for product_id, trade_id in rows}
            repeats = [fill for key, fill in batch.items() if key not in inserted]
            if repeats:
                self._check_repeats(repeats)
        return [fill for key, fill in batch.items() if key in inserted]

    def _check_orders(self, fills: Iterable[Fill]) -> None:
        # A fill applied to an order of another product or side would corrupt that position.
        fills = list(fills)
        coids = {f.client_order_id for f in fills}
        orders = {
            coid: (product_id, side)
            for coid, product_id, side in self._connection.execute(
                select(_orders.c.client_order_id, _orders.c.product_id, _orders.c.side).where(
                    _orders.c.client_order_id.in_(coids)
                )
            )
        }
        if coids - orders.keys():
            raise UnknownReference(f"fills name orders that are not stored: {', '.join(sorted(coids - orders.keys()))}")
        for fill in fills:
            product_id, side = orders[fill.client_order_id]
            if (fill.product_id, fill.side.value) != (product_id, side):
                raise InvalidRecord(
                    f"fill {fill.trade_id} is a {fill.side.value} of {fill.product_id}, but order "
                    f"{fill.client_order_id} is a {side} of {product_id}"
                )

    def _check_repeats(self, repeats: list[Fill]) -> None:
        # A repeat is ignored only when it is the same fill; another fill under a stored trade id is an error.
        wanted = tuple_(_fills.c.product_id, _fills.c.trade_id).in_([(f.product_id, f.trade_id) for f in repeats])
        stored = {(f.product_id, f.trade_id): f for f in self._load(select(_fills).where(wanted))}
        for fill in repeats:
            known = stored[(fill.product_id, fill.trade_id)]
            if None in (known.order_id, fill.order_id):  # the exchange id may be learnt after the first report
                known = replace(known, order_id=fill.order_id)
            if known != fill:
                raise DuplicateRecord(f"fill {fill.trade_id} is stored with different content")

    def for_order(self, client_order_id: str) -> list[Fill]:
        """An order's fills, oldest first."""
        return self._load(select(_fills).where(_fills.c.client_order_id == client_order_id))

    def for_product(self, product_id: str, *, since: datetime | None = None) -> list[Fill]:
        """A product's fills (from `since` on), oldest first."""
        query = select(_fills).where(_fills.c.product_id == product_id)
        if since is not None:
            query = query.where(_fills.c.time >= since)
        return self._load(query)

    def placed(self, product_id: str, *, since: datetime | None = None) -> list[Fill]:
        """The fills of `product_id` of orders CryptoJ placed (in a cycle; not adopted ones), oldest first."""
        # A join, not `IN (orders of a cycle)`: the fills index on (product, time) leads, each order read by its key.
        query = (
            select(_fills)
            .join(_orders, _orders.c.client_order_id == _fills.c.client_order_id)
            .where(_fills.c.product_id == product_id, _orders.c.cycle_key.is_not(None))
        )
        if since is not None:
            query = query.where(_fills.c.time >= since)
        return self._load(query)

    def _load(self, query: Any) -> list[Fill]:
        rows = self._connection.execute(query.order_by(_fills.c.time, _fills.c.trade_id)).mappings()
        return [
            Fill(
                trade_id=r["trade_id"],
                client_order_id=r["client_order_id"],
                product_id=r["product_id"],
                side=Side(r["side"]),
                price=r["price"],
                size=r["size"],
                fee=r["fee"],
                liquidity=Liquidity(r["liquidity"]),
                time=r["time"],
                order_id=r["order_id"],
            )
            for r in rows
        ]


def _check_fill(fill: Fill) -> None:
    for name in ("price", "size", "fee"):
        check_money(getattr(fill, name), field=f"fill {fill.trade_id} {name}")
    if not fill.trade_id or len(fill.trade_id) > 64:
        raise InvalidRecord(f"trade_id must be 1 to 64 characters, got {fill.trade_id!r}")
    if fill.time.tzinfo is None:
        raise InvalidRecord(f"fill {fill.trade_id} time has no timezone")


def _fill_values(fill: Fill) -> dict[str, Any]:
    return {
        "trade_id": fill.trade_id,
        "client_order_id": fill.client_order_id,
        "order_id": fill.order_id,
        "product_id": fill.product_id,
        "side": fill.side.value,
        "price": fill.price,
        "size": fill.size,
        "fee": fill.fee,
        "liquidity": fill.liquidity.value,
        "time": fill.time,
    }
