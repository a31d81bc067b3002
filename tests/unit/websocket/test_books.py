"""BookKeeper: a book is served only from a snapshot onwards, never crossed, stale or disconnected."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cryptoj.coinbase.ws_books import BookKeeper, BookState
from cryptoj.coinbase.ws_decode import FrameDecoder
from cryptoj.coinbase.ws_errors import BookUnavailable
from cryptoj.coinbase.ws_models import L2Event, L2Message, L2Update
from cryptoj.domain.book import BookSide
from tests.utils.fixtures.level2 import BookShape, level2_session, update_frames

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def level(side: str, price: str, size: str) -> L2Update:
    return L2Update(side=side, event_time="", price_text=price, size_text=size)  # type: ignore[arg-type]


def l2(kind: str, *updates: L2Update, product_id: str = "BTC-USD", seq: int = 0) -> L2Message:
    return L2Message(
        timestamp=NOW, sequence_num=seq, events=[L2Event(type=kind, product_id=product_id, updates=list(updates))]
    )  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def synced_keeper(clock: Clock | None = None) -> BookKeeper:
    keeper = BookKeeper(clock=clock or Clock())
    keeper.expect(["BTC-USD"])
    keeper.apply(l2("snapshot", level("bid", "100", "1"), level("bid", "99", "2"), level("offer", "101", "1")))
    return keeper


def test_no_book_is_served_before_its_snapshot() -> None:
    keeper = BookKeeper()
    keeper.expect(["BTC-USD"])
    keeper.apply(l2("update", level("bid", "100", "1")))
    with pytest.raises(BookUnavailable, match="awaiting snapshot"):
        keeper.book("BTC-USD")
    assert keeper.ignored_updates == 1


def test_an_unsubscribed_product_has_no_book() -> None:
    with pytest.raises(BookUnavailable, match="not subscribed"):
        BookKeeper().book("ETH-USD")


def test_snapshot_then_updates_give_the_book() -> None:
    keeper = synced_keeper()
    keeper.apply(l2("update", level("bid", "100", "0"), level("offer", "100.5", "3")))
    book = keeper.book("BTC-USD")
    assert book.best_bid == (Decimal("99"), Decimal("2"))
    assert book.best_ask == (Decimal("100.5"), Decimal("3"))
    assert book.level_count(BookSide.BID) == 1


def test_a_crossing_update_withdraws_the_book_and_asks_for_a_resync() -> None:
    keeper = synced_keeper()
    broken = keeper.apply(l2("update", level("bid", "102", "1")))
    assert broken == ["BTC-USD"]
    assert keeper.state("BTC-USD") is BookState.AWAITING_SNAPSHOT
    with pytest.raises(BookUnavailable):
        keeper.book("BTC-USD")


@pytest.mark.parametrize(("price", "size"), [("0", "1"), ("abc", "1"), ("100", "-1"), ("100", "1e3"), ("1.2.3", "1")])
def test_a_bad_level_withdraws_the_book(price: str, size: str) -> None:
    # The decoder keeps level texts as sent; the book checks them as it applies the event.
    keeper = synced_keeper()
    assert keeper.apply(l2("update", level("bid", "99", "5"), level("bid", price, size))) == ["BTC-USD"]
    with pytest.raises(BookUnavailable):
        keeper.book("BTC-USD")


def test_a_bad_snapshot_level_withdraws_the_book() -> None:
    keeper = synced_keeper()
    assert keeper.apply(l2("snapshot", level("bid", "99", "1"), level("offer", "101", " 1"))) == ["BTC-USD"]
    with pytest.raises(BookUnavailable):
        keeper.book("BTC-USD")


def test_a_fresh_snapshot_restores_the_book() -> None:
    keeper = synced_keeper()
    keeper.apply(l2("update", level("bid", "102", "1")))
    keeper.apply(l2("snapshot", level("bid", "90", "1"), level("offer", "91", "1")))
    assert keeper.book("BTC-USD").mid == Decimal("90.5")
    assert keeper.snapshots == 2


def test_disconnect_withdraws_every_book() -> None:
    keeper = synced_keeper()
    keeper.disconnect()
    with pytest.raises(BookUnavailable, match="disconnected"):
        keeper.book("BTC-USD")


def test_staleness_counts_from_the_last_change_and_max_age_refuses_old_books() -> None:
    clock = Clock()
    keeper = synced_keeper(clock)
    clock.now += 4.0
    assert keeper.staleness("BTC-USD") == 4.0
    assert keeper.book("BTC-USD", max_age=5.0) is not None
    with pytest.raises(BookUnavailable, match="limit 3"):
        keeper.book("BTC-USD", max_age=3.0)
    keeper.apply(l2("update", level("bid", "98", "1")))
    assert keeper.staleness("BTC-USD") == 0.0
    assert keeper.staleness("ETH-USD") is None


def test_forget_drops_a_product() -> None:
    keeper = synced_keeper()
    keeper.forget(["BTC-USD"])
    assert keeper.product_ids == []
    assert keeper.state("BTC-USD") is None


def test_fact_05_every_event_of_a_frame_is_applied() -> None:
    keeper = BookKeeper()
    keeper.expect(["BTC-USD", "ETH-USD"])
    message = L2Message(
        timestamp=NOW,
        sequence_num=0,
        events=[
            L2Event(
                type="snapshot", product_id="BTC-USD", updates=[level("bid", "100", "1"), level("offer", "101", "1")]
            ),
            L2Event(
                type="snapshot", product_id="ETH-USD", updates=[level("bid", "10", "1"), level("offer", "11", "1")]
            ),
            L2Event(type="update", product_id="BTC-USD", updates=[level("bid", "100.5", "2")]),
        ],
    )
    assert keeper.apply(message) == []
    assert keeper.book("BTC-USD").best_bid == (Decimal("100.5"), Decimal("2"))
    assert keeper.book("ETH-USD").mid == Decimal("10.5")


def test_a_late_snapshot_of_an_unsubscribed_product_is_not_served() -> None:
    # A snapshot already in flight when the unsubscribe went out: no updates follow it, so serving it
    # would serve a book that silently goes stale (and a resync would resubscribe a dropped product).
    keeper = synced_keeper()
    keeper.forget(["BTC-USD"])
    assert keeper.apply(l2("snapshot", level("bid", "100", "1"), level("offer", "101", "1"))) == []
    with pytest.raises(BookUnavailable, match="not subscribed"):
        keeper.book("BTC-USD")
    assert keeper.product_ids == []
    assert keeper.ignored_updates == 1


def test_a_product_never_subscribed_gets_no_book_from_a_stray_snapshot() -> None:
    keeper = BookKeeper()
    keeper.apply(l2("snapshot", level("bid", "10", "1"), level("offer", "11", "1"), product_id="ETH-USD"))
    assert keeper.state("ETH-USD") is None
    with pytest.raises(BookUnavailable, match="not subscribed"):
        keeper.book("ETH-USD")


CROSSED = (level("bid", "102", "1"), level("offer", "101", "1"))


def test_a_book_that_keeps_arriving_crossed_is_resynced_with_backoff_not_in_a_loop() -> None:
    # A product in auction mode can show a crossed book in every snapshot: asking again at once each time
    # would pull multi-MB snapshots as fast as the link allows.
    clock = Clock()
    keeper = BookKeeper(clock=clock)
    keeper.expect(["BTC-USD"])
    assert keeper.apply(l2("snapshot", *CROSSED)) == ["BTC-USD"]  # the first break asks at once
    clock.now += 0.1
    assert keeper.apply(l2("snapshot", *CROSSED)) == []  # the fresh snapshot is crossed again: wait
    assert keeper.apply(l2("update", level("bid", "90", "1"))) == []  # still inside the wait
    clock.now += 1.0
    assert keeper.apply(l2("update", level("bid", "90", "1"))) == ["BTC-USD"]  # the wait is over: ask again
    clock.now += 0.1
    assert keeper.apply(l2("snapshot", *CROSSED)) == []
    clock.now += 1.0
    assert keeper.apply(l2("update", level("bid", "90", "1"))) == []  # the wait doubled to 2 s
    clock.now += 1.0
    assert keeper.apply(l2("update", level("bid", "90", "1"))) == ["BTC-USD"]
    with pytest.raises(BookUnavailable):
        keeper.book("BTC-USD")


def test_a_book_that_synced_again_breaks_and_is_resynced_at_once() -> None:
    clock = Clock()
    keeper = BookKeeper(clock=clock)
    keeper.expect(["BTC-USD"])
    assert keeper.apply(l2("snapshot", *CROSSED)) == ["BTC-USD"]
    clock.now += 0.1
    keeper.apply(l2("snapshot", level("bid", "100", "1"), level("offer", "101", "1")))
    assert keeper.state("BTC-USD") is BookState.SYNCED
    clock.now += 0.1
    assert keeper.apply(l2("update", level("bid", "105", "1"))) == ["BTC-USD"]  # no wait after a good sync


# --- the books equal a reference built independently, on frames of the real shape ------------------------


class ReferenceBooks:
    """Level2 frames applied to plain dicts of Decimal, straight from `json.loads`: no code shared with the book."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[str, dict[Decimal, Decimal]]] = {}

    def apply(self, frame: bytes) -> None:
        for event in json.loads(frame)["events"]:
            if event["type"] == "snapshot":
                self.sides[event["product_id"]] = {"bid": {}, "offer": {}}
            sides = self.sides[event["product_id"]]
            for level in event["updates"]:
                price, size = Decimal(level["price_level"]), Decimal(level["new_quantity"])
                if size:
                    sides[level["side"]][price] = size
                else:
                    sides[level["side"]].pop(price, None)

    def best(self, product_id: str, side: str) -> tuple[Decimal, Decimal] | None:
        levels = self.sides[product_id][side]
        if not levels:
            return None
        price = max(levels) if side == "bid" else min(levels)
        return price, levels[price]

    def levels(self, product_id: str, side: str) -> list[tuple[Decimal, Decimal]]:
        levels = self.sides[product_id][side]
        return [(price, levels[price]) for price in sorted(levels, reverse=side == "bid")]


def replay_against_reference(frames: list[bytes], *, every: int) -> tuple[BookKeeper, ReferenceBooks]:
    """Every frame through the decoder and the keeper, and into the reference; the tops compared every few."""
    decoder, keeper, reference = FrameDecoder(), BookKeeper(), ReferenceBooks()
    keeper.expect(["BTC-USD", "ETH-USD"])
    for n, frame in enumerate(frames):
        message = decoder.decode(frame)
        assert isinstance(message, L2Message)
        assert keeper.apply(message) == []
        reference.apply(frame)
        if n % every:
            continue  # the reference finds its best by a scan of every level: not after every frame
        for product_id in reference.sides:
            book = keeper.book(product_id)
            assert book.best_bid == reference.best(product_id, "bid")
            assert book.best_ask == reference.best(product_id, "offer")
    return keeper, reference


def assert_books_equal(keeper: BookKeeper, reference: ReferenceBooks) -> None:
    for product_id in reference.sides:
        book = keeper.book(product_id)
        assert list(book.levels(BookSide.BID)) == reference.levels(product_id, "bid")
        assert list(book.levels(BookSide.ASK)) == reference.levels(product_id, "offer")


def test_the_books_of_a_real_size_session_equal_a_plain_decimal_reference() -> None:
    # BTC-USD 18,764 bids and 27,236 offers, ETH-USD 6,925 and 16,403, then 773 updates of 1 to 60 levels.
    session = level2_session()
    keeper, reference = replay_against_reference(session.frames, every=25)
    assert_books_equal(keeper, reference)
    assert keeper.book("BTC-USD").level_count(BookSide.ASK) == len(reference.sides["BTC-USD"]["offer"]) > 27_000


def test_books_replaced_by_a_fresh_snapshot_while_full_equal_the_reference() -> None:
    # As after a resubscribe: a whole snapshot lands on a book that already holds thousands of levels.
    shapes = (BookShape("BTC-USD", mid=6_508_367, bids=1_500, offers=2_500), BookShape("ETH-USD", 193_741, 900, 1_300))
    snapshots, updates = update_frames(shapes, count=300, seed=5, resnapshot_every=60)
    assert sum(b'"type":"snapshot"' in frame for frame in updates) == 5
    keeper, reference = replay_against_reference(snapshots + updates, every=1)
    assert_books_equal(keeper, reference)
