"""Orders the fault plan touches after acceptance: failed at once, or queued until the next market step."""

from __future__ import annotations

import random
from decimal import Decimal

from cryptoj.domain.book import OrderBook
from cryptoj.domain.orders import OrderStatus
from cryptoj.sandbox.engine import Engine, FeeTier, Ledger
from cryptoj.sandbox.market import DEFAULT_PRODUCTS
from tests.unit.sandbox.conftest import ME, NOW, FakeMarket, order_body

D = Decimal


def faulty_engine(
    market: FakeMarket,
    seen: list[str],
    *,
    funding: dict[str, Decimal] | None = None,
    fail: bool = False,
    queue: bool = False,
) -> Engine:
    """An engine whose every accepted order fails (`fail`) or queues (`queue`); `seen` records each status."""

    def always() -> bool:
        return True

    return Engine(
        products={p.product_id: p for p in DEFAULT_PRODUCTS},
        ledger=Ledger(seed=1, created_at=NOW, funding=funding or {"USD": D("1000")}),
        market=market,
        fee_tier=FeeTier(),
        seed=1,
        on_order=lambda o: seen.append(o.status.value),
        fail_order=always if fail else None,
        queue_order=always if queue else None,
    )


def test_an_injected_failure_fails_the_order_after_acceptance_and_releases_its_hold() -> None:
    seen: list[str] = []
    engine = faulty_engine(FakeMarket(), seen, fail=True)
    order = engine.create(ME, order_body("limit_limit_gtc", base_size="1", limit_price="90"), now=NOW)
    assert order.status is OrderStatus.FAILED
    assert seen == ["PENDING", "FAILED"]
    assert engine.ledger.account(ME, "USD").hold == 0
    assert order.reject_message


def test_a_queued_order_starts_at_the_next_market_step_and_can_be_cancelled_meanwhile() -> None:
    seen: list[str] = []
    engine = faulty_engine(FakeMarket(), seen, queue=True)
    order = engine.create(ME, order_body("market_market_ioc", base_size="0.5"), now=NOW)
    assert order.status is OrderStatus.QUEUED
    assert order.filled_size == 0
    engine.on_market("BTC-USD", now=NOW)
    assert order.status is OrderStatus.FILLED
    assert seen[:2] == ["PENDING", "QUEUED"]
    waiting = engine.create(ME, order_body("limit_limit_gtc", coid="c2", base_size="1", limit_price="90"), now=NOW)
    assert engine.cancel(ME, [waiting.order_id], now=NOW)[0].success
    assert waiting.status is OrderStatus.CANCELLED
    assert engine.ledger.account(ME, "USD").hold == 0


def test_a_queued_market_sell_by_quote_fails_when_the_fallen_price_needs_more_base_than_the_key_has() -> None:
    market = FakeMarket()
    engine = faulty_engine(market, [], funding={"BTC": D("2")}, queue=True)
    order = engine.create(ME, order_body("market_market_ioc", side="SELL", quote_size="100"), now=NOW)
    assert engine.ledger.account(ME, "BTC").hold == D("1.01020408")  # 1 @ 99, the rest @ 98
    market.books["BTC-USD"].apply_snapshot(bids=[(D("1"), D("300"))], asks=[(D("300"), D("3"))])
    engine.on_market("BTC-USD", now=NOW)  # 100 USD now needs 100 BTC
    assert order.status is OrderStatus.FAILED
    assert order.filled_size == 0
    account = engine.ledger.account(ME, "BTC")
    assert (account.balance, account.hold) == (D("2"), D(0))
    engine.on_market("BTC-USD", now=NOW)  # the next step is not stuck on it


def test_a_queued_market_buy_never_spends_funds_other_orders_hold() -> None:
    market = FakeMarket()
    engine = faulty_engine(market, [], queue=True)
    order = engine.create(ME, order_body("market_market_ioc", base_size="1"), now=NOW)  # holds 101.404
    engine.ledger.hold(ME, "USD", engine.ledger.account(ME, "USD").available)  # everything else is held
    market.books["BTC-USD"].apply_snapshot(bids=[(D("99"), D("1"))], asks=[(D("500"), D("3"))])
    engine.on_market("BTC-USD", now=NOW)
    assert order.status is OrderStatus.FAILED
    account = engine.ledger.account(ME, "USD")
    assert account.balance == D("1000")
    assert account.available == D("101.404")  # its own hold came back, nobody else's was spent


def test_a_queued_market_buy_holds_more_when_the_price_rose_and_funds_allow() -> None:
    market = FakeMarket()
    engine = faulty_engine(market, [], queue=True)
    order = engine.create(ME, order_body("market_market_ioc", base_size="1"), now=NOW)
    market.books["BTC-USD"].apply_snapshot(bids=[(D("99"), D("1"))], asks=[(D("500"), D("3"))])
    engine.on_market("BTC-USD", now=NOW)
    assert order.status is OrderStatus.FILLED
    account = engine.ledger.account(ME, "USD")
    assert (account.balance, account.hold) == (D("1000") - D("500") * D("1.004"), D(0))


def test_a_queued_post_only_order_the_moved_book_would_cross_is_cancelled_unfilled() -> None:
    market = FakeMarket()
    engine = faulty_engine(market, [], queue=True)
    order = engine.create(ME, order_body("limit_limit_gtc", base_size="1", limit_price="100", post_only=True), now=NOW)
    market.books["BTC-USD"].apply_snapshot(bids=[(D("97"), D("1"))], asks=[(D("99"), D("3"))])
    engine.on_market("BTC-USD", now=NOW)
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_size == 0
    assert engine.fills(ME) == []
    assert engine.ledger.account(ME, "USD").hold == 0


def test_holds_stay_exactly_the_sum_of_what_working_orders_hold_over_many_odd_orders() -> None:
    """Seen in the long run: a market buy's hold per unit (the book's cost / size) has 28 digits, and the key's
    total hold, summed in 28 significant digits, drifted below its orders' holds until a fill's release
    "exceeded the hold": the market step failed, the order stayed OPEN and its funds held for good."""
    rng = random.Random(1)
    market = FakeMarket()
    book = OrderBook("BTC-USD")
    book.apply_snapshot(
        bids=[(D("99.37"), D("50"))], asks=[(D("101.13"), D("0.37")), (D("102.71"), D("3.3")), (D("103.07"), D("500"))]
    )
    market.books["BTC-USD"] = book
    queue = [False]
    engine = Engine(
        products={p.product_id: p for p in DEFAULT_PRODUCTS},
        ledger=Ledger(seed=1, created_at=NOW, funding={"USD": D("1000000"), "BTC": D("1000")}),
        market=market,
        fee_tier=FeeTier(),
        seed=1,
        on_order=lambda o: None,
        queue_order=lambda: queue[0],
    )
    orders = []
    for i in range(400):
        queue[0] = rng.random() < 0.5
        size = (D(rng.randint(1, 500)) / 97).quantize(D("0.00000001"))
        if rng.random() < 0.2:
            body = order_body("limit_limit_gtc", coid=f"c{i}", base_size=str(size), limit_price="99.01")
        else:
            body = order_body("market_market_ioc", coid=f"c{i}", base_size=str(size), side=rng.choice(["BUY", "SELL"]))
        orders.append(engine.create(ME, body, now=NOW))
        if rng.random() < 0.3:
            engine.on_market("BTC-USD", now=NOW)
        for currency in ("USD", "BTC"):
            held = sum((o.hold_remaining for o in orders if o.hold_currency == currency), D(0))
            assert engine.ledger.account(ME, currency).hold == held, f"after order {i}"
    engine.on_market("BTC-USD", now=NOW)
    assert not [o for o in orders if o.request.order_type.value == "MARKET" and o.status is not OrderStatus.FILLED]
    engine.cancel(ME, [o.order_id for o in orders if o.status is OrderStatus.OPEN], now=NOW)
    assert (engine.ledger.account(ME, "USD").hold, engine.ledger.account(ME, "BTC").hold) == (0, 0)
