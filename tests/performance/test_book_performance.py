"""Order book speed: level-2 updates per second on a 1,000-level book (1,000 levels on each side).

The update stream mimics the level2 channel: most updates change the size of a level near the top,
the rest remove a level or insert a new one near the top, in a mix that keeps the book near 1,000 levels
a side and never crossed. The stream is generated once (seeded) and each round replays it on a fresh copy
of the same snapshot, so rounds measure the same work.
"""

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cryptoj.domain.book import BookSide, OrderBook
from cryptoj.domain.orders import OrderIntent, OrderType, TimeInForce
from cryptoj.domain.paper import FeeRates, execute
from cryptoj.domain.side import Side

pytestmark = pytest.mark.performance

LEVELS = 1_000
UPDATES = 20_000
TICK = Decimal("0.01")
MID = Decimal("67000.00")

Update = tuple[BookSide, Decimal, Decimal]


def _snapshot() -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    rng = random.Random(1)
    bids = [(MID - TICK * (i + 1), Decimal(rng.randint(1, 500_000)) / 100_000) for i in range(LEVELS)]
    asks = [(MID + TICK * (i + 1), Decimal(rng.randint(1, 500_000)) / 100_000) for i in range(LEVELS)]
    return bids, asks


def _stream() -> list[Update]:
    """60% size changes, 20% removals, 20% inserts, all within 50 ticks of the top of their side."""
    rng = random.Random(2)
    bids, asks = _snapshot()
    live = {BookSide.BID: {p for p, _ in bids}, BookSide.ASK: {p for p, _ in asks}}
    updates: list[Update] = []
    while len(updates) < UPDATES:
        side = BookSide.BID if rng.random() < 0.5 else BookSide.ASK
        sign = -1 if side is BookSide.BID else 1
        price = MID + sign * TICK * rng.randint(1, 50)
        size = Decimal(rng.randint(1, 500_000)) / 100_000
        roll = rng.random()
        if price in live[side]:
            if roll < 0.75:
                updates.append((side, price, size))  # size change
            else:
                live[side].discard(price)
                updates.append((side, price, Decimal(0)))  # removal
        else:
            live[side].add(price)
            updates.append((side, price, size))  # insert near the top
    return updates


def _fresh_book() -> OrderBook:
    book = OrderBook("BTC-USD")
    book.apply_snapshot(*_snapshot())
    return book


def test_book_updates_per_second_on_a_1000_level_book(benchmark: BenchmarkFixture) -> None:
    updates = _stream()

    def setup() -> tuple[tuple[OrderBook, list[Update]], dict[str, object]]:
        return (_fresh_book(), updates), {}

    def replay(book: OrderBook, stream: list[Update]) -> OrderBook:
        for side, price, size in stream:
            book.apply_update(side, price, size)
        return book

    book = benchmark.pedantic(replay, setup=setup, rounds=15, iterations=1)
    assert 900 <= book.level_count(BookSide.BID) <= 1_100
    assert 900 <= book.level_count(BookSide.ASK) <= 1_100
    assert not book.is_crossed
    if benchmark.stats is not None:
        benchmark.extra_info["updates_per_second"] = round(UPDATES / benchmark.stats.stats.mean)


def test_best_prices_after_each_update(benchmark: BenchmarkFixture) -> None:
    """An update followed by a top-of-book read: what a trading loop does per level2 event."""
    updates = _stream()[:5_000]

    def setup() -> tuple[tuple[OrderBook], dict[str, object]]:
        return (_fresh_book(),), {}

    def replay(book: OrderBook) -> Decimal | None:
        spread = None
        for side, price, size in updates:
            book.apply_update(side, price, size)
            spread = book.spread
        return spread

    spread = benchmark.pedantic(replay, setup=setup, rounds=15, iterations=1)
    assert spread is not None
    assert spread > 0
    if benchmark.stats is not None:
        benchmark.extra_info["updates_per_second"] = round(len(updates) / benchmark.stats.stats.mean)


def test_snapshot_of_1000_levels_a_side(benchmark: BenchmarkFixture) -> None:
    bids, asks = _snapshot()
    book = OrderBook("BTC-USD")
    benchmark(book.apply_snapshot, bids, asks)
    assert book.level_count(BookSide.BID) == LEVELS
    assert book.best_ask is not None
    assert book.best_ask.price == MID + TICK


def test_paper_market_order_on_a_deep_book_walks_only_what_it_takes(benchmark: BenchmarkFixture) -> None:
    """A market buy of 0.5 BTC against 46,000 ask levels (the size of a real BTC-USD snapshot)."""
    book = OrderBook("BTC-USD")
    book.apply_snapshot(
        [(MID - TICK * (i + 1), Decimal("0.1")) for i in range(46_000)],
        [(MID + TICK * (i + 1), Decimal("0.1")) for i in range(46_000)],
    )
    intent = OrderIntent(
        "BTC-USD", Side.BUY, OrderType.MARKET, base_size=Decimal("0.5"), time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL
    )
    fees = FeeRates(maker=Decimal("0.004"), taker=Decimal("0.006"))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    result = benchmark(execute, intent, book, client_order_id="c1", fees=fees, at=at)
    assert len(result.fills) == 5
    assert result.filled_size == Decimal("0.5")
