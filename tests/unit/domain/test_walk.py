"""The one book walker: base-sized and quote-sized walks, limits, what a resting order already took."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptoj.domain.book import BookSide, FillEstimate, OrderBook
from cryptoj.domain.side import Side
from cryptoj.domain.walk import Execution, _walk_budget, crosses, crossing_levels, estimate_fill, walk_quote, walk_size
from tests.utils.fixtures.domain import d, make_book

BOOK = make_book(bids=[("99", "1"), ("98", "2")], asks=[("101", "1"), ("102", "2")])
SATOSHI = d("0.00000001")


def test_a_size_walk_takes_the_best_levels_first_and_stops_when_filled() -> None:
    walk = walk_size(BOOK, Side.BUY, size=d("1.5"))
    assert walk.executions == (Execution(d(101), d(1)), Execution(d(102), d("0.5")))
    assert (walk.complete, walk.filled, walk.notional) == (True, d("1.5"), d(152))
    sell = walk_size(BOOK, Side.SELL, size=d(2))
    assert sell.executions == (Execution(d(99), d(1)), Execution(d(98), d(1)))


def test_a_size_walk_stops_at_the_limit_and_says_when_depth_ran_out() -> None:
    walk = walk_size(BOOK, Side.BUY, size=d(2), limit=d("101.5"))
    assert (walk.executions, walk.complete) == ((Execution(d(101), d(1)),), False)
    assert walk_size(BOOK, Side.SELL, size=d(1), limit=d(100)).executions == ()
    assert walk_size(make_book(), Side.BUY, size=d(1)) == walk_size(make_book(), Side.BUY, size=d(1), limit=d(1))


def test_a_level_already_taken_offers_only_what_it_shows_beyond_it() -> None:
    first = walk_size(BOOK, Side.BUY, size=d(5), limit=d(102))
    assert first.taken == ((d(101), d(1)), (d(102), d(2)))
    grown = make_book(asks=[("101", "1.25"), ("102", "1"), ("103", "1")])
    again = walk_size(grown, Side.BUY, size=d(5), limit=d(102), taken=first.taken)
    assert again.executions == (Execution(d(101), d("0.25")),)
    # 102 shrank to 1: it counts as taken down to its new size, so growth from there is new later.
    assert again.taken == ((d(101), d("1.25")), (d(102), d(1)))


def test_crosses_says_whether_a_limit_would_take_liquidity_now() -> None:
    assert crosses(BOOK, Side.BUY, d(101))
    assert not crosses(BOOK, Side.BUY, d("100.99"))
    assert crosses(BOOK, Side.SELL, d(99))
    assert not crosses(BOOK, Side.SELL, d("99.01"))
    assert crosses(BOOK, Side.BUY, None)
    assert not crosses(make_book(bids=[("99", "1")]), Side.BUY, None)
    assert [level.price for level in crossing_levels(BOOK, Side.SELL, d(98))] == [d(99), d(98)]


def test_a_quote_buy_pays_its_fee_from_the_quote_size_and_cuts_sizes_to_the_increment() -> None:
    walk = walk_quote(BOOK, Side.BUY, quote_size=d(150), taker_fee_rate=d("0.006"), increment=SATOSHI)
    assert walk.complete
    spent = sum(e.price * e.size * (1 + d("0.006")) for e in walk.executions)
    assert d("149.99") < spent <= d(150)
    assert all(e.size == e.size.quantize(SATOSHI) for e in walk.executions)


def test_a_quote_sell_sells_the_notional_asked_its_fee_coming_off_the_proceeds() -> None:
    walk = walk_quote(BOOK, Side.SELL, quote_size=d(148), taker_fee_rate=d("0.006"), increment=SATOSHI)
    assert (walk.complete, walk.notional, walk.filled) == (True, d(148), d("1.5"))


def test_a_quote_walk_is_complete_only_when_the_budget_ran_out_before_the_book() -> None:
    free = d(0)
    exact = walk_quote(BOOK, Side.BUY, quote_size=d(305), taker_fee_rate=free, increment=SATOSHI)
    assert (exact.complete, exact.filled) == (True, d(3))
    # Less than one increment's worth left at the last price: nothing more could have been bought.
    dust = walk_quote(BOOK, Side.BUY, quote_size=d("305.000001"), taker_fee_rate=free, increment=SATOSHI)
    assert dust.complete
    more = walk_quote(BOOK, Side.BUY, quote_size=d("305.01"), taker_fee_rate=free, increment=SATOSHI)
    assert (more.complete, more.filled) == (False, d(3))
    tiny = walk_quote(BOOK, Side.BUY, quote_size=d("0.000001"), taker_fee_rate=free, increment=SATOSHI)
    assert (tiny.executions, tiny.complete) == ((), False)
    assert not walk_quote(make_book(), Side.SELL, quote_size=d(1), taker_fee_rate=free, increment=SATOSHI).complete


def test_a_budget_walk_steps_a_size_down_until_its_reported_cost_fits_the_cap() -> None:
    book = make_book(bids=[], asks=[("1", "1000")])
    # A budget a little above the cap (as a rounded-up division would give) must not pass the cap.
    levels = crossing_levels(book, Side.BUY, None)
    walk = _walk_budget(levels, budget=d(100), cap=d("99.995"), fee_rate=d(0), increment=d("0.01"))
    assert walk.executions == (Execution(d(1), d("99.99")),)
    assert walk.complete


def test_estimate_fill_is_what_the_book_reports_as_its_cost_to_fill() -> None:
    assert estimate_fill(BOOK, Side.BUY, d(2)) == FillEstimate(requested=d(2), filled=d(2), cost=d(203), levels_used=2)
    assert BOOK.cost_to_fill(Side.SELL, d(5)) == estimate_fill(BOOK, Side.SELL, d(5))


_levels = st.dictionaries(st.integers(1, 50), st.integers(1, 500).map(lambda n: Decimal(n).scaleb(-2)), max_size=10)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    asks=_levels,
    size=st.integers(1, 3000).map(lambda n: Decimal(n).scaleb(-2)),
    limit=st.one_of(st.none(), st.integers(100, 150).map(Decimal)),
    taken=st.lists(st.tuples(st.integers(100, 150).map(Decimal), st.integers(1, 300).map(Decimal)), max_size=4),
)
def test_a_walk_never_takes_past_its_size_its_limit_or_a_levels_new_liquidity(
    asks: dict[int, Decimal], size: Decimal, limit: Decimal | None, taken: list[tuple[Decimal, Decimal]]
) -> None:
    book = OrderBook("BTC-USD")
    book.apply_snapshot([], [(Decimal(100 + p), s) for p, s in asks.items()])
    before = dict(taken)
    walk = walk_size(book, Side.BUY, size=size, limit=limit, taken=tuple(before.items()))
    assert walk.filled <= size
    assert walk.complete == (walk.filled == size)
    for price, took in walk.executions:
        assert limit is None or price <= limit
        shown = book.size_at(BookSide.ASK, price)
        assert took <= shown - min(before.get(price, Decimal(0)), shown)
    # Whatever it left, the levels within the limit could not fill beyond what they newly showed.
    if not walk.complete:
        new = sum(
            (level.size - min(before.get(level.price, Decimal(0)), level.size))
            for level in crossing_levels(book, Side.BUY, limit)
        )
        assert walk.filled == new
