"""Level2 snapshots the handler has asked for, and when to ask again or give up on the connection.

A subscribe or a resync (unsubscribe + subscribe) asks the server for a product's snapshot. If none comes,
the book would stay withdrawn for the rest of the connection, so each request has a deadline: the first one
missed asks again, the next one missed replaces the connection (a fresh connection resubscribes everything).
Any snapshot of the product answers, even one the book then refuses as crossed: `BookKeeper` paces those.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptoj.errors import ConfigurationError

__all__ = ["SnapshotWatch"]


class SnapshotWatch:
    """Products waiting for a snapshot asked for on the current connection, each with a deadline.

    Parameters:
        timeout: seconds a request waits for its snapshot.
        tries: requests per product, its first included, before `overdue` gives up on it.
    """

    def __init__(self, *, timeout: float, tries: int = 2) -> None:
        if not timeout > 0:
            raise ConfigurationError(f"snapshot_timeout must be positive, got {timeout}")
        self.timeout = timeout
        self._tries_allowed = tries
        self._due: dict[str, float] = {}
        self._tries: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._due)

    def asked(self, product_ids: Iterable[str], *, now: float) -> None:
        """Snapshots were asked for at `now` (a subscribe or a resync was sent)."""
        for product_id in product_ids:
            self._due[product_id] = now + self.timeout
            self._tries[product_id] = self._tries.get(product_id, 0) + 1

    def answered(self, product_id: str) -> None:
        """A snapshot of the product arrived."""
        if self._due.pop(product_id, None) is not None:
            del self._tries[product_id]

    def forget(self, product_ids: Iterable[str]) -> None:
        """Stop waiting for these products (no longer subscribed)."""
        for product_id in product_ids:
            self._due.pop(product_id, None)
            self._tries.pop(product_id, None)

    def clear(self) -> None:
        """The connection ended: nothing asked on it will be answered."""
        self._due.clear()
        self._tries.clear()

    def next_due(self) -> float | None:
        """The earliest deadline, or None when no snapshot is awaited."""
        return min(self._due.values()) if self._due else None

    def overdue(self, now: float) -> tuple[list[str], list[str]]:
        """Products past their deadline: (to ask again, to give up on), each sorted.

        Both leave the watch; the caller asks again with `asked`, or replaces the connection.
        """
        again: list[str] = []
        spent: list[str] = []
        for product_id, due in list(self._due.items()):
            if due <= now:
                (spent if self._tries[product_id] >= self._tries_allowed else again).append(product_id)
                del self._due[product_id]
        for product_id in spent:
            del self._tries[product_id]
        return sorted(again), sorted(spent)
