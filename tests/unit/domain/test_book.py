"""The level-2 order book: snapshots, absolute updates, best prices, depth and cost to fill."""

from decimal import Decimal

import pytest

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
