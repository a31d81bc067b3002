"""The sandbox's engine and the paper model do the same with the same order on the same book.

Live-on-sandbox and paper-on-sandbox must give the same fills (issue 14). Both walk the book with the domain's
one walker, and this runs every order kind (market by base or quote, IOC or FOK; limit IOC, FOK, GTC, GTD;
post-only; stop-limit) through both on random books and compares what they did: the status, and every fill's
price, size, fee and liquidity. A resting order then meets a later book in both.

The one difference, documented in `cryptoj.domain.paper`: the sandbox's market refills at once, so liquidity
a resting order took is offered to it again on the next step; paper never counts liquidity it already took
from a level that is still visible (a real book does not know of paper fills). The last test pins it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cryptoj.domain.book import OrderBook
from cryptoj.domain.orders import Liquidity, OrderIntent, OrderStatus, OrderType, StopDirection, TimeInForce
from cryptoj.domain.paper import FeeRates, PaperResult, RestingOrder, RestingState, execute, on_book, on_trade
from cryptoj.domain.side import Side
from cryptoj.sandbox.engine import Engine, FeeTier, Ledger, OrderRecord, Rejection
from cryptoj.sandbox.market import DEFAULT_PRODUCTS
from tests.unit.sandbox.conftest import ME, NOW, FakeMarket

D = Decimal
BASE_INCREMENT = D("0.00000001")  # BTC-USD's, in the sandbox as on Coinbase
LAST = D("100.00")  # the last trade: between the generated bids (90-99.99) and asks (100-109.99)
END = NOW + timedelta(hours=1)
PARITY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Execution = tuple[Decimal, Decimal, Decimal, Liquidity]  # price, size, fee, liquidity


def _cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: D(n).scaleb(-2))


_sizes = st.integers(1, 300_000_000).map(lambda n: D(n).scaleb(-8))  # 1e-8 to 3 BTC, on the increment
_bids = st.dictionaries(st.integers(9_000, 9_999), _sizes, max_size=8)  # cents
_asks = st.dictionaries(st.integers(10_000, 10_999), _sizes, max_size=8)
_fee_tiers = st.sampled_from(
    [(D(0), D(0)), (D("0.001"), D("0.002")), (D("0.0025"), D("0.004")), (D("0.006"), D("0.012")), (D(0), D("0.0171"))]
)


def _book(bids: dict[int, Decimal], asks: dict[int, Decimal]) -> OrderBook:
    book = OrderBook("BTC-USD")
    book.apply_snapshot(
        [(D(p).scaleb(-2), s) for p, s in bids.items()], [(D(p).scaleb(-2), s) for p, s in asks.items()]
    )
    return book


@st.composite
def _intents(draw: st.DrawFn) -> OrderIntent:
    """Any order kind both sides trade, sized and priced on BTC-USD's increments."""
    side = draw(st.sampled_from(list(Side)))
    kind = draw(st.sampled_from(["market", "limit", "post_only", "stop_limit"]))
    # Sizes from one satoshi to more than a generated book holds, so FOK and IOC meet both outcomes.
    base = draw(
        st.one_of(_sizes, st.integers(1, 20).map(D), st.integers(1, 2_000_000_000).map(lambda n: D(n).scaleb(-8)))
    )
    if kind == "market":
        fok = draw(st.booleans())
        # quote_min_size is 1 USD; a generated side holds up to about 2,600 USD.
        quote = draw(st.one_of(st.none(), _cents(100, 400_000), st.integers(1, 3_000).map(D)))
        return OrderIntent(
            "BTC-USD",
            side,
            OrderType.MARKET,
            base_size=base if quote is None else None,
            quote_size=quote,
            time_in_force=TimeInForce.FILL_OR_KILL if fok else TimeInForce.IMMEDIATE_OR_CANCEL,
        )
    price = draw(_cents(8_900, 11_100))
    if kind == "stop_limit":
        direction = draw(st.sampled_from(list(StopDirection)))
        stop = draw(_cents(9_500, 10_500))  # either side of the last trade: some are refused at once
        gtd = draw(st.booleans())
        return OrderIntent(
            "BTC-USD",
            side,
            OrderType.STOP_LIMIT,
            base_size=base,
            limit_price=price,
            stop_price=stop,
            stop_direction=direction,
            time_in_force=TimeInForce.GOOD_UNTIL_DATE_TIME if gtd else TimeInForce.GOOD_UNTIL_CANCELLED,
            end_time=END if gtd else None,
        )
    if kind == "post_only":
        tif = draw(st.sampled_from([TimeInForce.GOOD_UNTIL_CANCELLED, TimeInForce.GOOD_UNTIL_DATE_TIME]))
    else:
        tif = draw(st.sampled_from(list(TimeInForce)))
    return OrderIntent(
        "BTC-USD",
        side,
        OrderType.LIMIT,
        base_size=base,
        limit_price=price,
        time_in_force=tif,
        end_time=END if tif is TimeInForce.GOOD_UNTIL_DATE_TIME else None,
        post_only=kind == "post_only",
    )


_CONFIG_KEYS = {
    (OrderType.MARKET, TimeInForce.IMMEDIATE_OR_CANCEL): "market_market_ioc",
    (OrderType.MARKET, TimeInForce.FILL_OR_KILL): "market_market_fok",
    (OrderType.LIMIT, TimeInForce.IMMEDIATE_OR_CANCEL): "sor_limit_ioc",
    (OrderType.LIMIT, TimeInForce.FILL_OR_KILL): "limit_limit_fok",
    (OrderType.LIMIT, TimeInForce.GOOD_UNTIL_CANCELLED): "limit_limit_gtc",
    (OrderType.LIMIT, TimeInForce.GOOD_UNTIL_DATE_TIME): "limit_limit_gtd",
    (OrderType.STOP_LIMIT, TimeInForce.GOOD_UNTIL_CANCELLED): "stop_limit_stop_limit_gtc",
    (OrderType.STOP_LIMIT, TimeInForce.GOOD_UNTIL_DATE_TIME): "stop_limit_stop_limit_gtd",
}


def _body(intent: OrderIntent) -> dict[str, Any]:
    """The create-order body of `intent`, as the live executor would send it."""
    config: dict[str, Any] = {}
    for name in ("base_size", "quote_size", "limit_price", "stop_price"):
        value = getattr(intent, name)
        if value is not None:
            config[name] = format(value, "f")
    if intent.stop_direction is not None:
        config["stop_direction"] = intent.stop_direction.value
    if intent.end_time is not None:
        config["end_time"] = intent.end_time.isoformat()
    if intent.post_only:
        config["post_only"] = True
    key = _CONFIG_KEYS[(intent.order_type, intent.time_in_force)]
    return {
        "client_order_id": "c1",
        "product_id": intent.product_id,
        "side": intent.side.value,
        "order_configuration": {key: config},
    }


@dataclass
class _Live:
    """The engine with one order placed on a hand-set book."""

    engine: Engine
    market: FakeMarket
    order: OrderRecord | None
    rejection: Rejection | None

    def executions(self) -> list[Execution]:
        if self.order is None:
            return []
        fills = [f for f in reversed(self.engine.fills(ME)) if f.order_id == self.order.order_id]
        return [(f.price, f.size, f.commission, f.liquidity) for f in fills]

    def step(self, book: OrderBook, *, last: Decimal = LAST) -> None:
        self.market.books["BTC-USD"] = book
        self.market.last["BTC-USD"] = last
        self.engine.on_market("BTC-USD", now=NOW)


def _live(intent: OrderIntent, book: OrderBook, tier: tuple[Decimal, Decimal]) -> _Live:
    market = FakeMarket()
    market.books["BTC-USD"] = book
    market.last["BTC-USD"] = LAST
    engine = Engine(
        products={p.product_id: p for p in DEFAULT_PRODUCTS},
        ledger=Ledger(seed=1, created_at=NOW, funding={"USD": D("1e12"), "BTC": D("1e9")}),
        market=market,
        fee_tier=FeeTier(maker_fee_rate=tier[0], taker_fee_rate=tier[1]),
        seed=1,
    )
    try:
        return _Live(engine, market, engine.create(ME, _body(intent), now=NOW), None)
    except Rejection as exc:
        return _Live(engine, market, None, exc)


def _paper_executions(result: PaperResult) -> list[Execution]:
    return [(f.price, f.size, f.fee, f.liquidity) for f in result.fills]


def _assert_same(paper: PaperResult, live: _Live, paper_so_far: list[Execution]) -> None:
    assert paper_so_far == live.executions()
    if live.rejection is not None:
        assert paper.status is OrderStatus.REJECTED
        assert paper.reason in (live.rejection.error, live.rejection.preview_reason)
    else:
        assert live.order is not None
        assert paper.status is live.order.status


@PARITY
@given(intent=_intents(), bids=_bids, asks=_asks, later_bids=_bids, later_asks=_asks, tier=_fee_tiers)
def test_the_engine_and_paper_fill_an_order_the_same_way(
    *,
    intent: OrderIntent,
    bids: dict[int, Decimal],
    asks: dict[int, Decimal],
    later_bids: dict[int, Decimal],
    later_asks: dict[int, Decimal],
    tier: tuple[Decimal, Decimal],
) -> None:
    book, later = _book(bids, asks), _book(later_bids, later_asks)
    fees = FeeRates(maker=tier[0], taker=tier[1])
    live = _live(intent, book, tier)
    paper = execute(
        intent, book, client_order_id="c1", fees=fees, at=NOW, last_trade_price=LAST, size_increment=BASE_INCREMENT
    )
    executions = _paper_executions(paper)
    _assert_same(paper, live, executions)
    sized = "by quote" if intent.quote_size is not None else "by base"
    event(f"{intent.order_type.value} {intent.time_in_force.value} {sized}: {paper.status.value}")

    resting = paper.resting
    if resting is not None and resting.state is RestingState.WAITING_TRIGGER:
        # The market trades at the stop: the order triggers and meets the book in both.
        stop = intent.stop_price
        assert stop is not None
        live.step(book, last=stop)
        paper = on_trade(resting, price=stop, size=D(1), fees=fees, at=NOW, book=book)
        executions += _paper_executions(paper)
        _assert_same(paper, live, executions)
        event(f"triggered: {paper.status.value}")
        resting = paper.resting

    if resting is not None:
        # A later book: a resting order fills as maker at its own price from what crosses it.
        live.step(later)
        paper = on_book(_forget_taken(resting), later, fees=fees, at=NOW)
        executions += _paper_executions(paper)
        _assert_same(paper, live, executions)
        event(f"later book: {paper.status.value}{' with fills' if paper.fills else ''}")


def _forget_taken(resting: RestingOrder) -> RestingOrder:
    # The documented difference (see the module docstring): the engine's market refilled what was taken.
    return replace(resting, taken=())


def test_the_documented_difference_paper_never_takes_the_same_visible_liquidity_twice() -> None:
    # A GTC buy takes the 101 ask and rests; the next book still shows that ask.
    book = _book({9_900: D(1)}, {10_100: D(1), 10_200: D(2)})
    intent = OrderIntent("BTC-USD", Side.BUY, OrderType.LIMIT, base_size=D(3), limit_price=D("101.50"))
    tier = (D("0.001"), D("0.002"))
    live = _live(intent, book, tier)
    paper = execute(intent, book, client_order_id="c1", fees=FeeRates(maker=tier[0], taker=tier[1]), at=NOW)
    assert paper.resting is not None
    assert _paper_executions(paper) == live.executions() == [(D(101), D(1), D("0.202"), Liquidity.TAKER)]
    live.step(book)
    again = on_book(paper.resting, book, fees=FeeRates(maker=tier[0], taker=tier[1]), at=NOW)
    # The sandbox's market refills at once: its 101 ask is new liquidity and fills the resting order again.
    assert live.executions()[1:] == [(D("101.50"), D(1), D("0.1015"), Liquidity.MAKER)]
    # Paper reads a book that never learns of paper fills: the same ask is the one it already took.
    assert again.fills == ()
