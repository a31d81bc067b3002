"""The level-2 order book: snapshots, absolute updates, best prices, depth and cost to fill."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptoj.domain.book import BookError, BookSide, Level, OrderBook
from cryptoj.domain.side import Side
from tests.utils.fixtures.domain import d, make_book


def test_snapshot_sets_best_bid_ask_mid_and_spread() -> None:
    book = make_book(bids=[("99", "1"), ("98", "2")], asks=[("101", "1.5"), ("102", "3")])
    assert book.best_bid == Level(d(99), d(1))
    assert book.best_ask == Level(d(101), d("1.5"))
    assert book.mid == d(100)
    assert book.spread == d(2)
    assert not book.is_crossed
    assert not book.is_empty


def test_snapshot_drops_zero_levels_and_replaces_everything() -> None:
    book = make_book(bids=[("99", "1")], asks=[("101", "1")])
    book.apply_snapshot([(d(90), d(1)), (d(91), d(0))], [])
    assert list(book.levels(BookSide.BID)) == [Level(d(90), d(1))]
    assert book.best_ask is None
    assert book.mid is None
    assert book.spread is None
    assert not book.is_crossed


def test_snapshot_where_a_later_zero_removes_an_earlier_level() -> None:
    book = OrderBook("BTC-USD")
    book.apply_snapshot([(d(90), d(1)), (d(90), d(0))], [])
    assert book.level_count(BookSide.BID) == 0


def test_a_bad_snapshot_level_leaves_the_book_unchanged() -> None:
    book = make_book(bids=[("99", "1")], asks=[("101", "1")])
    with pytest.raises(BookError, match="level size must be zero or positive"):
        book.apply_snapshot([(d(98), d(1))], [(d(100), d(-1))])
    assert book.best_bid == Level(d(99), d(1))
    assert book.best_ask == Level(d(101), d(1))


def test_update_sets_absolute_size_and_zero_removes_the_level() -> None:
    book = make_book(bids=[("99", "1")], asks=[("101", "1")])
    book.apply_update(BookSide.BID, d(99), d(5))
    assert book.size_at(BookSide.BID, d(99)) == 5
    book.apply_updates([(BookSide.BID, d(99), d(0)), (BookSide.ASK, d(100), d(2))])
    assert book.best_bid is None
    assert book.best_ask == Level(d(100), d(2))
    assert book.size_at(BookSide.BID, d(99)) == 0


def test_removing_a_missing_level_is_harmless() -> None:
    book = make_book(asks=[("101", "1")])
    book.apply_update(BookSide.ASK, d(150), d(0))
    assert book.level_count(BookSide.ASK) == 1


@pytest.mark.parametrize(("price", "size"), [("0", "1"), ("-1", "1"), ("NaN", "1"), ("1", "-1"), ("1", "Infinity")])
def test_bad_updates_are_refused(price: str, size: str) -> None:
    book = OrderBook("BTC-USD")
    with pytest.raises(BookError):
        book.apply_update(BookSide.BID, Decimal(price), Decimal(size))
    assert book.is_empty


def test_crossed_and_locked_books_are_detected() -> None:
    book = make_book(bids=[("100", "1")], asks=[("100", "1")])
    assert book.is_crossed
    book.apply_update(BookSide.BID, d(101), d(1))
    assert book.spread == d(-1)
    assert book.is_crossed


def test_depth_returns_best_levels_first_on_each_side() -> None:
    book = make_book(bids=[("97", "1"), ("99", "2"), ("98", "3")], asks=[("103", "1"), ("101", "2")])
    assert book.depth(BookSide.BID, 2) == [Level(d(99), d(2)), Level(d(98), d(3))]
    assert book.depth(BookSide.ASK, 5) == [Level(d(101), d(2)), Level(d(103), d(1))]
    assert book.depth(BookSide.ASK, 0) == []
    with pytest.raises(BookError, match="depth must not be negative"):
        book.depth(BookSide.ASK, -1)


def test_cost_to_fill_walks_the_opposite_side() -> None:
    book = make_book(bids=[("99", "1"), ("98", "1")], asks=[("101", "1"), ("102", "2")])
    buy = book.cost_to_fill(Side.BUY, d("2"))
    assert (buy.filled, buy.cost, buy.levels_used, buy.complete) == (d(2), d(203), 2, True)
    assert buy.average_price == d("101.5")
    sell = book.cost_to_fill(Side.SELL, d("1.5"))
    assert sell.cost == d(99) + d(49)


def test_cost_to_fill_reports_a_partial_fill_when_depth_runs_out() -> None:
    book = make_book(asks=[("101", "1")])
    estimate = book.cost_to_fill(Side.BUY, d(3))
    assert estimate.filled == 1
    assert not estimate.complete
    empty = OrderBook("BTC-USD").cost_to_fill(Side.BUY, d(1))
    assert empty.average_price is None
    with pytest.raises(BookError, match="must be positive"):
        book.cost_to_fill(Side.BUY, d(0))


def test_clear_empties_both_sides() -> None:
    book = make_book(bids=[("99", "1")], asks=[("101", "1")])
    book.clear()
    assert book.is_empty


def test_book_side_parses_wire_and_common_spellings() -> None:
    assert BookSide.parse("bid") is BookSide.BID
    assert BookSide.parse("BUY") is BookSide.BID
    assert BookSide.parse("offer") is BookSide.ASK
    assert BookSide.parse("ask") is BookSide.ASK
    with pytest.raises(BookError, match="unknown book side"):
        BookSide.parse("middle")


def test_repr_names_the_product_and_best_prices() -> None:
    text = repr(make_book(bids=[("99", "1")], asks=[("101", "1")]))
    assert "BTC-USD" in text
    assert "bids=1" in text


# --- level2 text in, Decimal out ---------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A level as the level2 channel's text (what `TextLevel` asks for)."""

    side: str
    price_text: str
    size_text: str


def bid(price: str, size: str) -> Text:
    return Text("bid", price, size)


def offer(price: str, size: str) -> Text:
    return Text("offer", price, size)


def test_a_text_snapshot_gives_the_same_book_as_decimals() -> None:
    text_book = OrderBook("BTC-USD")
    text_book.apply_text_snapshot([bid("99", "1"), bid("98.5", "2"), offer("101", "1.5"), offer("102.25", "3")])
    decimal_book = make_book(bids=[("99", "1"), ("98.5", "2")], asks=[("101", "1.5"), ("102.25", "3")])
    for side in BookSide:
        assert list(text_book.levels(side)) == list(decimal_book.levels(side))
    assert (text_book.mid, text_book.spread, text_book.is_crossed) == (d(100), d(2), False)


def test_text_levels_come_out_as_the_decimals_they_spell() -> None:
    # Exact, and written as sent: a price keeps its own trailing zeros, the book never rounds or rescales it.
    book = OrderBook("BTC-USD")
    book.apply_text_snapshot([bid("65083.60", "0.50000000"), offer("138991023.41", "0.002186")])
    best_bid, best_ask = book.best_bid, book.best_ask
    assert best_bid is not None
    assert best_ask is not None
    assert (str(best_bid.price), str(best_bid.size)) == ("65083.60", "0.50000000")
    assert (str(best_ask.price), str(best_ask.size)) == ("138991023.41", "0.002186")


def test_a_text_snapshot_may_come_in_any_order_and_drops_zero_sizes() -> None:
    book = OrderBook("BTC-USD")
    book.apply_text_snapshot(
        [offer("103", "1"), bid("97", "1"), offer("101", "0"), bid("99", "2"), offer("102", "1"), bid("97", "0.0")]
    )
    assert [level.price for level in book.levels(BookSide.BID)] == [d(99)]
    assert [level.price for level in book.levels(BookSide.ASK)] == [d(102), d(103)]


def test_the_same_price_spelled_two_ways_is_one_level() -> None:
    book = OrderBook("BTC-USD")
    book.apply_text_snapshot([bid("100.5", "1"), offer("101", "1")])
    book.apply_text_updates([bid("100.50", "3"), offer("101.000", "0")])
    assert book.level_count(BookSide.BID) == 1
    assert book.size_at(BookSide.BID, d("100.5")) == 3
    assert book.best_ask is None


@pytest.mark.parametrize(
    ("price", "size", "message"),
    [
        ("-1", "1", "plain decimal"),
        ("1e3", "1", "plain decimal"),
        (" 100", "1", "plain decimal"),
        ("100.5 ", "1", "plain decimal"),
        ("1_000", "1", "plain decimal"),
        ("NaN", "1", "plain decimal"),
        ("", "1", "plain decimal"),
        (".", "1", "plain decimal"),
        ("1.2.3", "1", "plain decimal"),
        ("0", "1", "positive"),
        ("0.00", "1", "positive"),
        ("100", "-1", "plain decimal"),
        ("100", "1e-8", "plain decimal"),
        ("100", "", "plain decimal"),
        ("100", "1.2.3", "plain decimal"),
        ("100", "Infinity", "plain decimal"),
        ("100", "\u0661", "plain decimal"),  # an Arabic-Indic one: Decimal reads it, a size must be ASCII
    ],
)
def test_a_bad_text_level_is_refused_and_leaves_the_book_unchanged(price: str, size: str, message: str) -> None:
    book = OrderBook("BTC-USD")
    book.apply_text_snapshot([bid("99", "1"), offer("101", "1")])
    before = [list(book.levels(side)) for side in BookSide]
    with pytest.raises(BookError, match=message):
        book.apply_text_updates([bid("98", "1"), bid(price, size)])
    with pytest.raises(BookError, match=message):
        book.apply_text_snapshot([bid("98", "1"), bid(price, size), offer("102", "1")])
    assert [list(book.levels(side)) for side in BookSide] == before


def test_an_unknown_side_is_refused() -> None:
    book = OrderBook("BTC-USD")
    with pytest.raises(BookError, match="unknown book side"):
        book.apply_text_snapshot([bid("99", "1"), Text("ask", "101", "1")])
    with pytest.raises(BookError, match="unknown book side"):
        book.apply_text_updates([Text("buy", "99", "1")])
    assert book.is_empty


def test_a_finer_price_rescales_the_book_exactly() -> None:
    # The book starts in cents; a price with more decimals multiplies every key instead of rounding.
    book = OrderBook("SHIB-USD")
    book.apply_text_snapshot([bid("0.00001234", "100"), offer("0.00001236", "50"), offer("0.5", "1")])
    book.apply_text_updates([bid("0.000012345", "7")])
    book.apply_update(BookSide.ASK, d("0.0000123575"), d("9"))
    assert [level.price for level in book.levels(BookSide.BID)] == [d("0.000012345"), d("0.00001234")]
    assert [level.price for level in book.levels(BookSide.ASK)] == [d("0.0000123575"), d("0.00001236"), d("0.5")]
    assert book.size_at(BookSide.BID, d("0.00001234")) == 100
    assert book.size_at(BookSide.BID, d("0.000000000001")) == 0


def test_a_price_finer_than_18_decimals_is_refused_not_rounded() -> None:
    book = make_book(bids=[("99", "1")])
    with pytest.raises(BookError, match="finer than 1e-18"):
        book.apply_update(BookSide.BID, d("1E-19"), d(1))
    with pytest.raises(BookError, match="finer than 1e-18"):
        book.apply_text_updates([bid("0.0000000000000000001", "1")])
    assert list(book.levels(BookSide.BID)) == [Level(d(99), d(1))]


def test_emptying_the_sorted_top_refills_it_from_the_rest() -> None:
    # Two levels a side are kept in order; taking them out must bring the next best up, in order.
    book = OrderBook("BTC-USD", sorted_depth=2)
    book.apply_text_snapshot([bid(str(p), "1") for p in (95, 99, 91, 97, 93)] + [offer("120", "1")])
    book.apply_text_updates([bid("99", "0"), bid("97", "0")])
    assert book.best_bid == Level(d(95), d(1))
    book.apply_update(BookSide.BID, d(95), d(0))
    assert [level.price for level in book.levels(BookSide.BID)] == [d(93), d(91)]
    book.apply_text_updates([bid("92", "4")])
    assert book.depth(BookSide.BID, 2) == [Level(d(93), d(1)), Level(d(92), d(4))]


def test_a_walk_past_the_sorted_top_sees_every_level_in_order() -> None:
    book = OrderBook("BTC-USD", sorted_depth=1)
    book.apply_snapshot([(d(p), d(1)) for p in (5, 9, 7, 3)], [(d(p), d(1)) for p in (12, 10, 11)])
    book.apply_update(BookSide.BID, d(1), d(2))  # far below the sorted top: the mapping only
    assert [level.price for level in book.levels(BookSide.BID)] == [d(9), d(7), d(5), d(3), d(1)]
    assert book.cost_to_fill(Side.BUY, d(3)).cost == d(33)


def test_many_levels_opening_inside_the_top_keep_it_short_and_the_book_whole() -> None:
    book = OrderBook("BTC-USD", sorted_depth=2)
    book.apply_snapshot([(d(100), d(1)), (d(50), d(1)), (d(40), d(1))], [])
    book.apply_updates([(BookSide.BID, d(60) + d(i) / 10, d(1)) for i in range(20)])
    expected = sorted([d(100), d(50), d(40), *(d(60) + d(i) / 10 for i in range(20))], reverse=True)
    assert [level.price for level in book.levels(BookSide.BID)] == expected


def test_sorted_depth_must_be_positive() -> None:
    with pytest.raises(BookError, match="sorted_depth"):
        OrderBook("BTC-USD", sorted_depth=0)


# --- the book equals a plain Decimal dict under any snapshot and update sequence -----------------------

TEXTS = {
    # Each price in several spellings: the book must key them by value.
    tick: [str(Decimal(tick) / 4), f"{Decimal(tick) / 4:.4f}"]
    for tick in range(1, 41)
}
SIZES = ["0", "0.000", "1", "0.5", "2.25", "0.00000001", "7.10"]


def level_texts() -> st.SearchStrategy[Text]:
    return st.builds(
        lambda side, tick, spelling, size: Text(side, TEXTS[tick][spelling], size),
        st.sampled_from(["bid", "offer"]),
        st.integers(1, 40),
        st.integers(0, 1),
        st.sampled_from(SIZES),
    )


Reference = dict[str, dict[Decimal, tuple[Decimal, Decimal]]]


def apply_reference(reference: Reference, levels: list[Text]) -> None:
    for level in levels:
        price, size = Decimal(level.price_text), Decimal(level.size_text)
        if size:
            reference[level.side][price] = (price, size)
        else:
            reference[level.side].pop(price, None)


def assert_matches(book: OrderBook, reference: Reference) -> None:
    for side, key in ((BookSide.BID, "bid"), (BookSide.ASK, "offer")):
        expected = [Level(*reference[key][p]) for p in sorted(reference[key], reverse=side is BookSide.BID)]
        walked = list(book.levels(side))
        assert walked == expected
        assert [str(level.price) for level in walked] == [str(level.price) for level in expected]  # as spelled
        assert book.level_count(side) == len(expected)
        assert (book.best_bid if side is BookSide.BID else book.best_ask) == (expected[0] if expected else None)
        assert book.depth(side, 2) == expected[:2]
        for tick in (1, 20, 40):
            price = Decimal(tick) / 4
            assert book.size_at(side, price) == reference[key].get(price, (price, Decimal(0)))[1]
    bids, asks = reference["bid"], reference["offer"]
    assert book.is_crossed == bool(bids and asks and max(bids) >= min(asks))
    assert book.is_empty == (not bids and not asks)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(1, 4),
    snapshot=st.lists(level_texts(), max_size=30),
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("update"), st.lists(level_texts(), min_size=1, max_size=8)),
            st.tuples(st.just("snapshot"), st.lists(level_texts(), max_size=30)),
            st.tuples(st.just("take the top"), st.sampled_from(["bid", "offer"]), st.integers(1, 4)),
            st.tuples(st.just("decimal"), st.lists(level_texts(), min_size=1, max_size=4)),
        ),
        max_size=25,
    ),
)
def test_the_book_equals_a_plain_decimal_dict_under_any_sequence(
    depth: int, snapshot: list[Text], steps: list[tuple[object, ...]]
) -> None:
    book = OrderBook("BTC-USD", sorted_depth=depth)
    reference: Reference = {"bid": {}, "offer": {}}
    book.apply_text_snapshot(snapshot)
    apply_reference(reference, snapshot)
    assert_matches(book, reference)
    for step in steps:
        match step:
            case ("update", levels):
                book.apply_text_updates(levels)
                apply_reference(reference, levels)
            case ("snapshot", levels):
                book.apply_text_snapshot(levels)
                reference = {"bid": {}, "offer": {}}
                apply_reference(reference, levels)
            case ("take the top", side, count):
                # Removals at the top: the sorted part empties and must refill from the rest.
                best = sorted(reference[side], reverse=side == "bid")[:count]
                removals = [Text(side, str(price), "0") for price in best]
                book.apply_text_updates(removals)
                apply_reference(reference, removals)
            case ("decimal", levels):
                for level in levels:
                    side = BookSide.BID if level.side == "bid" else BookSide.ASK
                    book.apply_update(side, Decimal(level.price_text), Decimal(level.size_text))
                apply_reference(reference, levels)
        assert_matches(book, reference)


GOOD = [bid(f"{1000 - n}.5", "1") for n in range(80)]  # enough levels for the snapshot's bulk checks


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789.+-e _\u0661", max_size=6))
def test_every_path_takes_exactly_the_plain_decimals_as_sizes(text: str) -> None:
    # Three checks see a size: a per-level one for updates, a regex for small snapshots, byte-wise passes
    # over all sizes of a big one. They must agree, and agree with Decimal, on every text.
    plain = bool(text) and text != "." and text.replace(".", "", 1).isdecimal() and text.isascii()
    outcomes = []
    for apply in (
        lambda book: book.apply_text_updates([bid("1", text)]),
        lambda book: book.apply_text_snapshot([bid("1", text)]),
        lambda book: book.apply_text_snapshot([*GOOD[:40], bid("1", text), *GOOD[40:]]),
    ):
        book = OrderBook("BTC-USD")
        try:
            apply(book)
        except BookError:
            outcomes.append(None)
        else:
            outcomes.append(book.size_at(BookSide.BID, d(1)))
    assert outcomes == [Decimal(text) if plain else None] * 3


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789.+-e _\u0661", max_size=6))
def test_every_path_takes_exactly_the_positive_decimals_as_prices(text: str) -> None:
    valid = bool(text.replace(".", "", 1)) and text.replace(".", "", 1).isdecimal() and Decimal(text) > 0
    outcomes = []
    for apply in (
        lambda book: book.apply_text_updates([bid(text, "2")]),
        lambda book: book.apply_text_snapshot([bid(text, "2")]),
        lambda book: book.apply_text_snapshot([*GOOD[:40], bid(text, "2"), *GOOD[40:]]),
    ):
        book = OrderBook("BTC-USD")
        try:
            apply(book)
        except BookError:
            outcomes.append(None)
        else:
            outcomes.append(book.size_at(BookSide.BID, Decimal(text)))
    assert outcomes == [d(2) if valid else None] * 3


def test_a_big_snapshot_with_zero_sizes_drops_them() -> None:
    # Past the regex's size the zero check runs byte-wise, and a zero sends it level by level.
    book = OrderBook("BTC-USD")
    book.apply_text_snapshot([*GOOD, bid("1.5", "0.00"), bid("999.5", "0"), offer("2000", "0.0")])
    assert book.level_count(BookSide.BID) == 79
    assert book.size_at(BookSide.BID, d("999.5")) == 0  # a later zero removes the level
    assert book.best_bid == Level(d("1000.5"), d(1))
    assert book.best_ask is None


def test_a_decimal_snapshot_with_finer_prices_rescales_before_keying_them() -> None:
    book = OrderBook("SHIB-USD")
    book.apply_snapshot([(d("0.00001234"), d(5)), (d("0.0000123"), d(0))], [(d("0.5"), d(1)), (d("1E-9"), d(0))])
    assert list(book.levels(BookSide.BID)) == [Level(d("0.00001234"), d(5))]
    assert book.size_at(BookSide.ASK, d("0.50")) == 1


def test_a_deep_book_rescales_its_unsorted_part_too() -> None:
    book = OrderBook("BTC-USD", sorted_depth=2)
    book.apply_snapshot([(d(p), d(1)) for p in (10, 20, 30, 40, 50)], [])
    book.apply_update(BookSide.BID, d("15.125"), d(3))  # below the sorted top, and finer than cents
    book.apply_updates([(BookSide.BID, d(50), d(0)), (BookSide.BID, d(40), d(0)), (BookSide.BID, d(30), d(0))])
    assert [level.price for level in book.levels(BookSide.BID)] == [d(20), d("15.125"), d(10)]


@pytest.mark.parametrize("price", ["NaN", "Infinity", "-1", "0"])
def test_a_decimal_snapshot_with_a_bad_price_is_refused(price: str) -> None:
    book = make_book(bids=[("99", "1")])
    with pytest.raises(BookError, match="positive finite decimal"):
        book.apply_snapshot([(d(98), d(1)), (Decimal(price), d(1))], [])
    assert list(book.levels(BookSide.BID)) == [Level(d(99), d(1))]
    assert book.size_at(BookSide.BID, Decimal(price)) == 0
