"""Shared pieces of the engine tests: a hand-set market, a funded engine, order bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from cryptoj.domain.book import OrderBook
from cryptoj.sandbox.engine import Engine, FeeTier, Ledger, OrderRecord
from cryptoj.sandbox.market import DEFAULT_PRODUCTS

NOW = datetime(2026, 1, 1, tzinfo=UTC)
D = Decimal
ME = "organizations/test/apiKeys/me"


class FakeMarket:
    """A market with hand-set books and last prices."""

    def __init__(self) -> None:
        self.books: dict[str, OrderBook] = {}
        self.last: dict[str, Decimal] = {}
        book = OrderBook("BTC-USD")
        book.apply_snapshot(bids=[(D("99"), D("1")), (D("98"), D("2"))], asks=[(D("101"), D("1")), (D("102"), D("2"))])
        self.books["BTC-USD"] = book
        self.last["BTC-USD"] = D("100")

    def book(self, product_id: str) -> OrderBook:
        return self.books[product_id]

    def last_price(self, product_id: str) -> Decimal:
        return self.last[product_id]


@pytest.fixture
def market() -> FakeMarket:
    return FakeMarket()


@pytest.fixture
def updates() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def engine(market: FakeMarket, updates: list[tuple[str, str]]) -> Engine:
    ledger = Ledger(seed=1, created_at=NOW, funding={"USD": D("1000"), "BTC": D("2")})
    return Engine(
        products={p.product_id: p for p in DEFAULT_PRODUCTS},
        ledger=ledger,
        market=market,
        fee_tier=FeeTier(maker_fee_rate=D("0.001"), taker_fee_rate=D("0.002")),
        seed=1,
        on_order=lambda o: updates.append((o.client_order_id, o.status.value)),
    )


def order_body(config_key: str, *, side: str = "BUY", coid: str = "c1", **config: Any) -> dict[str, Any]:
    return {"client_order_id": coid, "product_id": "BTC-USD", "side": side, "order_configuration": {config_key: config}}


def balance(engine: Engine, currency: str) -> tuple[Decimal, Decimal]:
    account = engine.ledger.account(ME, currency)
    return account.balance, account.hold


def place(engine: Engine, key: str, **kwargs: Any) -> OrderRecord:
    return engine.create(ME, order_body(key, **kwargs), now=NOW)
