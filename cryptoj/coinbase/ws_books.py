"""Level-2 books kept from one connection's snapshots and updates, with resync state and staleness.

A book is served only while it is trustworthy: after its snapshot, before any sequence gap, disconnect or
crossing. In between, `book()` raises `BookUnavailable`, so a caller never trades on a stale or crossed book.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from enum import StrEnum

from cryptoj.coinbase.ws_errors import BookUnavailable
from cryptoj.coinbase.ws_models import L2Event, L2Message
from cryptoj.domain.book import BookError, OrderBook

__all__ = ["BookKeeper", "BookState"]

# A book that breaks again before it ever synced waits before the next resync, doubling up to the cap:
# a product in auction mode can send a crossed snapshot every time, each several MB.
_RESYNC_FIRST_WAIT = 1.0
_RESYNC_MAX_WAIT = 30.0


class BookState(StrEnum):
    """Where a product's book stands."""

    AWAITING_SNAPSHOT = "awaiting snapshot"  # subscribed, no snapshot yet (or a resync asked for a fresh one)
    SYNCED = "synced"  # snapshot applied, every update since applied in order
    DISCONNECTED = "disconnected"  # the connection dropped; a reconnect brings a fresh snapshot


class BookKeeper:
    """One `OrderBook` per product, fed by level2 messages.

    Parameters:
        clock: monotonic seconds, for staleness (injectable so tests control time).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._books: dict[str, OrderBook] = {}
        self._state: dict[str, BookState] = {}
        self._updated_at: dict[str, float] = {}
        self._strikes: dict[str, int] = {}  # breaks since the book was last synced
        self._retry_at: dict[str, float] = {}  # when a deferred resync may be asked for
        self.snapshots = 0  # snapshots applied (counter for tests and metrics)
        self.ignored_updates = 0  # events that arrived while a book awaited its snapshot or was not subscribed

    @property
    def product_ids(self) -> list[str]:
        """Products that have (or await) a book."""
        return list(self._state)

    def expect(self, product_ids: Iterable[str]) -> None:
        """Mark products as awaiting a snapshot (after a subscribe, a gap or a crossing)."""
        for product_id in product_ids:
            self._state[product_id] = BookState.AWAITING_SNAPSHOT

    def forget(self, product_ids: Iterable[str]) -> None:
        """Drop the books of products no longer subscribed."""
        for product_id in product_ids:
            self._books.pop(product_id, None)
            self._state.pop(product_id, None)
            self._updated_at.pop(product_id, None)
            self._strikes.pop(product_id, None)
            self._retry_at.pop(product_id, None)

    def disconnect(self) -> None:
        """The connection dropped: no book may be served until a fresh snapshot arrives."""
        for product_id in self._state:
            self._state[product_id] = BookState.DISCONNECTED
        self._retry_at.clear()  # the reconnect brings fresh snapshots anyway

    def state(self, product_id: str) -> BookState | None:
        """A product's book state, or None when it is not tracked."""
        return self._state.get(product_id)

    def apply(self, message: L2Message) -> list[str]:
        """Apply every event of a level2 frame; returns products to resync now (a book broke, or its wait ended)."""
        broken: list[str] = []
        for event in message.events:
            if not self._apply_event(event):
                broken.append(event.product_id)
        return broken

    def _apply_event(self, event: L2Event) -> bool:
        product_id = event.product_id
        if product_id not in self._state:
            # Not subscribed (a frame in flight when the unsubscribe went out): no update would follow, so a
            # book built from it would go stale unnoticed.
            self.ignored_updates += 1
            return True
        book = self._books.get(product_id)
        if book is None:
            book = self._books[product_id] = OrderBook(product_id)
        snapshot = event.type == "snapshot"
        if not snapshot and self._state.get(product_id) is not BookState.SYNCED:
            self.ignored_updates += 1
            return not self._retry_due(product_id)
        try:
            # The wire's text levels go into the book as they are: no Decimal per level, one check per event.
            if snapshot:
                book.apply_text_snapshot(event.updates)
                self.snapshots += 1
            else:
                book.apply_text_updates(event.updates)
        except BookError:
            return not self._break(product_id)
        if book.is_crossed:
            # Checked once per event, not per level (it only compares the two best integer keys). A crossed
            # book means an update was lost or misapplied: never serve it, ask for a fresh one.
            return not self._break(product_id)
        self._state[product_id] = BookState.SYNCED
        self._updated_at[product_id] = self._clock()
        if self._strikes:  # both empty while every book is healthy: skip the lookups on the hot path
            self._strikes.pop(product_id, None)
            self._retry_at.pop(product_id, None)
        return True

    def _break(self, product_id: str) -> bool:
        """Withdraw a broken book; True when a resync should be asked for now, False when it must wait."""
        self._state[product_id] = BookState.AWAITING_SNAPSHOT
        strikes = self._strikes.get(product_id, 0)
        self._strikes[product_id] = strikes + 1
        if strikes == 0:
            return True  # the book was good until now: an update was lost, fetch a fresh one at once
        wait = min(_RESYNC_MAX_WAIT, _RESYNC_FIRST_WAIT * 2 ** (strikes - 1))
        self._retry_at[product_id] = self._clock() + wait
        return False

    def _retry_due(self, product_id: str) -> bool:
        # Checked as frames of the product arrive: no timer task to leak on close.
        retry_at = self._retry_at.get(product_id)
        if retry_at is None or self._clock() < retry_at:
            return False
        del self._retry_at[product_id]
        return True

    def staleness(self, product_id: str) -> float | None:
        """Seconds since the product's book last changed, or None before its first snapshot."""
        updated = self._updated_at.get(product_id)
        return None if updated is None else self._clock() - updated

    def book(self, product_id: str, *, max_age: float | None = None) -> OrderBook:
        """The product's book if it can be trusted now; else `BookUnavailable` says why.

        `max_age` refuses a book whose last change is older than that many seconds (a quiet book can be
        fine, so the caller chooses).
        """
        state = self._state.get(product_id)
        if state is None:
            raise BookUnavailable(product_id, "not subscribed to level2")
        if state is not BookState.SYNCED:
            raise BookUnavailable(product_id, state.value)
        if max_age is not None:
            age = self.staleness(product_id)
            if age is not None and age > max_age:
                raise BookUnavailable(product_id, f"last update {age:.3f} s ago (limit {max_age:g} s)")
        return self._books[product_id]
