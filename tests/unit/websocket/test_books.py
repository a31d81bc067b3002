"""BookKeeper: a book is served only from a snapshot onwards, never crossed, stale or disconnected."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cryptoj.coinbase.ws_books import BookKeeper, BookState
from cryptoj.coinbase.ws_errors import BookUnavailable
from cryptoj.coinbase.ws_models import L2Event, L2Message, L2Update
from cryptoj.domain.book import BookSide

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def level(side: str, price: str, size: str) -> L2Update:
    return L2Update(side=side, event_time="", price_level=Decimal(price), new_quantity=Decimal(size))  # type: ignore[arg-type]


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


def test_a_bad_level_withdraws_the_book() -> None:
    keeper = synced_keeper()
    assert keeper.apply(l2("update", level("bid", "100", "-1"))) == ["BTC-USD"]
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
