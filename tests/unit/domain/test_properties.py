"""Property tests of the domain's invariants (hypothesis, modest example counts to keep the suite fast)."""

from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptoj.domain.book import BookSide, OrderBook
from cryptoj.domain.money import is_multiple_of, round_price, round_size_down
from cryptoj.domain.orders import (
    TERMINAL_STATUSES,
    IllegalTransition,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    StopDirection,
    can_transition,
)
from cryptoj.domain.paper import FeeRates, execute, on_book
from cryptoj.domain.positions import Portfolio, ShortSellRefused
from cryptoj.domain.products import round_intent, validate
from cryptoj.domain.side import Side
from tests.utils.fixtures.domain import T0, btc_usd_rules, fill, limit, market

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

prices = st.decimals(min_value="0.01", max_value="100000", places=2)
sizes = st.decimals(min_value="0.00000001", max_value="50", places=8)
increments = st.sampled_from([Decimal(x) for x in ("0.00000001", "0.0001", "0.01", "0.5", "1", "5")])
amounts = st.decimals(min_value="0.0001", max_value="1000000", places=6)
sides = st.sampled_from(list(Side))
fee_rates = st.builds(
    FeeRates,
    maker=st.decimals(min_value="0", max_value="0.01", places=4),
    taker=st.decimals(min_value="0", max_value="0.02", places=4),
)


@FAST
@given(value=amounts, increment=increments)
def test_size_rounding_stays_on_the_increment_and_never_grows(value: Decimal, increment: Decimal) -> None:
    rounded = round_size_down(value, increment)
    assert is_multiple_of(rounded, increment)
    assert value - increment < rounded <= value


@FAST
@given(value=amounts, increment=increments, side=sides)
def test_price_rounding_never_passes_the_callers_limit(value: Decimal, increment: Decimal, side: Side) -> None:
    rounded = round_price(value, increment, side=side)
    assert is_multiple_of(rounded, increment)
    if side is Side.BUY:
        assert value - increment < rounded <= value
    else:
        assert value <= rounded < value + increment


@FAST
@given(
    size=st.decimals(min_value="0.0001", max_value="100", places=12),
    price=st.decimals("1", "100000", places=5),
    side=sides,
)
def test_a_rounded_intent_meets_precision_rules(size: Decimal, price: Decimal, side: Side) -> None:
    rules = btc_usd_rules()
    rounded = round_intent(limit(side, str(size), str(price)), rules)
    assert not {v.rule.name for v in validate(rounded, rules)} & {"INVALID_SIZE_PRECISION", "INVALID_PRICE_PRECISION"}
    assert rounded.base_size is not None
    assert rounded.limit_price is not None
    assert rounded.base_size <= size
    assert rounded.limit_price <= price if side is Side.BUY else rounded.limit_price >= price


@FAST
@given(
    stop=st.decimals("1", "100000", places=5),
    side=sides,
    direction=st.sampled_from(list(StopDirection)),
)
def test_a_rounded_stop_fires_at_the_stop_asked_for_or_a_tick_sooner(
    stop: Decimal, side: Side, direction: StopDirection
) -> None:
    rules = btc_usd_rules()
    intent = OrderIntent(
        "BTC-USD",
        side,
        OrderType.STOP_LIMIT,
        base_size=Decimal(1),
        limit_price=Decimal(100),
        stop_price=stop,
        stop_direction=direction,
    )
    rounded = round_intent(intent, rules).stop_price
    assert rounded is not None
    assert is_multiple_of(rounded, rules.price_tick)
    if direction is StopDirection.STOP_UP:  # the price rises to it: a lower stop is reached first
        assert stop - rules.price_tick < rounded <= stop
    else:
        assert stop <= rounded < stop + rules.price_tick


levels = st.lists(st.tuples(st.integers(1, 400), st.integers(0, 5)), max_size=40)


@FAST
@given(
    bids=levels,
    asks=levels,
    updates=st.lists(st.tuples(st.booleans(), st.integers(1, 400), st.integers(0, 5)), max_size=80),
)
def test_a_consistent_stream_never_shows_best_bid_above_best_ask(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], updates: list[tuple[bool, int, int]]
) -> None:
    # A consistent venue only keeps bids below 200 and asks at or above 200 (its matching engine clears crosses).
    book = OrderBook("BTC-USD")
    book.apply_snapshot(
        [(Decimal(p), Decimal(s)) for p, s in bids if p < 200], [(Decimal(p), Decimal(s)) for p, s in asks if p >= 200]
    )
    for is_bid, price, size in updates:
        if is_bid == (price < 200):
            book.apply_update(BookSide.BID if is_bid else BookSide.ASK, Decimal(price), Decimal(size))
        bid, ask = book.best_bid, book.best_ask
        if bid is not None and ask is not None:
            assert bid.price < ask.price
            assert not book.is_crossed
        best_bids = book.depth(BookSide.BID, 3)
        assert best_bids == sorted(best_bids, reverse=True)


@FAST
@given(
    fills=st.lists(
        st.tuples(
            sides,
            st.decimals("0.001", "5", places=3),
            st.decimals("1", "1000", places=2),
            st.decimals("0", "0.01", places=4),
        ),
        max_size=25,
    ),
    mark=st.decimals("1", "1000", places=2),
)
def test_a_fill_sequence_conserves_cash_plus_position_value_less_fees(
    fills: list[tuple[Side, Decimal, Decimal, Decimal]], mark: Decimal
) -> None:
    start = Decimal(1_000_000)
    portfolio = Portfolio(cash={"USD": start})
    for n, (side, size, price, rate) in enumerate(fills):
        try:
            portfolio.apply(fill(side, str(size), str(price), fee=str(size * price * rate), trade_id=f"t{n}"))
        except ShortSellRefused:
            continue
    marks = {"BTC-USD": mark}
    lhs = portfolio.cash_in("USD") + portfolio.exposure(marks)
    rhs = start + portfolio.realized_pnl() + portfolio.unrealized_pnl(marks) - portfolio.fees()
    assert lhs == rhs
    assert portfolio.size("BTC-USD") >= 0


book_levels = st.lists(st.tuples(st.integers(1, 99), st.decimals("0.01", "3", places=2)), min_size=0, max_size=15)


def _book(bids: list[tuple[int, Decimal]], asks: list[tuple[int, Decimal]]) -> OrderBook:
    book = OrderBook("BTC-USD")
    book.apply_snapshot([(Decimal(p), s) for p, s in bids], [(Decimal(p + 100), s) for p, s in asks])
    return book


@FAST
@given(
    bids=book_levels,
    asks=book_levels,
    side=sides,
    size=st.decimals("0.01", "60", places=2),
    fees=fee_rates,
    quote=st.booleans(),
    price=st.integers(1, 199),
)
def test_paper_fills_never_exceed_the_books_liquidity(
    *,
    bids: list[tuple[int, Decimal]],
    asks: list[tuple[int, Decimal]],
    side: Side,
    size: Decimal,
    fees: FeeRates,
    quote: bool,
    price: int,
) -> None:
    book = _book(bids, asks)
    opposite = BookSide.ASK if side is Side.BUY else BookSide.BID
    for intent in (
        market(side, quote=str(size * 100)) if quote else market(side, base=str(size)),
        limit(side, str(size), str(price)),
    ):
        result = execute(intent, book, client_order_id="c", fees=fees, at=T0)
        taken: dict[Decimal, Decimal] = {}
        for f in result.fills:
            taken[f.price] = taken.get(f.price, Decimal(0)) + f.size
        for level_price, level_size in taken.items():
            assert level_size <= book.size_at(opposite, level_price)
        if intent.base_size is not None:
            assert result.filled_size <= intent.base_size
        else:
            assert intent.quote_size is not None
            spent = sum(f.notional + (f.fee if side is Side.BUY else 0) for f in result.fills)
            assert spent <= intent.quote_size
        if result.resting is not None:
            # The same snapshot again: the order must not take the levels it already took a second time.
            assert on_book(result.resting, book, fees=fees, at=T0).fills == ()


statuses = st.sampled_from(list(OrderStatus))


@FAST
@given(path=st.lists(statuses, min_size=1, max_size=12))
def test_the_status_machine_accepts_no_illegal_path(path: list[OrderStatus]) -> None:
    order = Order(client_order_id="c1", intent=limit(Side.BUY, "1", "100"), created_at=T0)
    for new in path:
        before = order.status
        if can_transition(before, new):
            order.transition(new, at=T0)
            assert order.status is new
        else:
            try:
                order.transition(new, at=T0)
            except IllegalTransition:
                assert order.status is before
            else:
                raise AssertionError(f"{before} -> {new} was accepted but is illegal")
    visited = [change.status for change in order.history]
    assert all(can_transition(a, b) for a, b in pairwise(visited))
    # A terminal status ends the path, but for a rejection giving way to an order the exchange reports (a
    # crossing send of the same client_order_id that landed): that can happen once, and never back.
    assert not any(s in TERMINAL_STATUSES - {OrderStatus.REJECTED} for s in visited[:-1])
    assert visited.count(OrderStatus.REJECTED) <= 1


@FAST
@given(
    asks=book_levels,
    size=st.decimals("0.01", "20", places=2),
    price=st.integers(100, 199),
    fees=fee_rates,
    later=book_levels,
)
def test_paper_results_drive_a_legal_order_lifecycle(
    asks: list[tuple[int, Decimal]], size: Decimal, price: int, fees: FeeRates, later: list[tuple[int, Decimal]]
) -> None:
    intent = limit(Side.BUY, str(size), str(price))
    order = Order(client_order_id="c1", intent=intent, created_at=T0)
    order.transition(OrderStatus.SUBMITTING, at=T0)
    result = execute(intent, _book([], asks), client_order_id="c1", fees=fees, at=T0)
    for step in range(2):
        order.transition(result.status, at=T0)
        for f in result.fills:
            assert order.apply_fill(f)
        if result.resting is None:
            break
        result = on_book(result.resting, _book([], later if step == 0 else asks), fees=fees, at=T0)
    assert order.filled_size <= size
    assert (order.filled_size == size) == (order.status is OrderStatus.FILLED)
