"""One side of a level-2 book: every level in a plain mapping, only the best ones kept in order.

Real books are deep (BTC-USD: 27,000 offers out to absurd prices) while nearly all traffic is near the
top. A fully sorted side pays an ordered insert or removal for every level anywhere; here a level far
from the top costs one dict operation, and order is kept only for the best `depth` keys (`top`, a plain
sorted list, best last so inserts near the top move few items). When the top empties the next best
levels are sorted in from the mapping; a walk past the top sorts the rest on demand.

Keys are signed integer ticks (see `_ticks`): the best level has the largest key on both sides.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

__all__ = ["Ladder"]

E = TypeVar("E")  # what the book keeps per level


class Ladder(Generic[E]):
    """The levels of one side.

    Parameters:
        depth: how many best keys are kept sorted after a load or a refill.

    Invariant: `top` is sorted and holds exactly the keys of `levels` that are >= `floor`, or every key
    when `floor` is None. So `top[-1]` is the best key whenever `top` is not empty, and `top` is empty
    only when `levels` is.
    """

    __slots__ = ("depth", "floor", "levels", "top")

    def __init__(self, *, depth: int) -> None:
        self.depth = depth
        self.levels: dict[int, E] = {}
        self.top: list[int] = []
        self.floor: int | None = None

    def load(self, levels: dict[int, E]) -> None:
        """Replace every level (a snapshot)."""
        self.levels = levels
        self._take_top(sorted(levels))

    def _take_top(self, keys: list[int]) -> None:
        # `keys`: every key, sorted. A snapshot sent best first is one descending run: timsort sorts it in O(n).
        if len(keys) > self.depth:
            self.top = keys[-self.depth :]
            self.floor = self.top[0]
        else:
            self.top = keys
            self.floor = None

    def apply(self, changes: Iterable[tuple[int, E | None]]) -> None:
        """Set (an entry) or remove (None, a no-op when there is no level) levels in order.

        Most changes only touch `levels`; the sorted top is updated through `opened`/`closed` only when a
        level appears or disappears. A caller changing `levels` itself calls those two the same way.
        """
        levels = self.levels
        for key, entry in changes:
            if entry is None:
                if levels.pop(key, None) is not None:
                    self.closed(key)
            else:
                if key not in levels:
                    self.opened(key)
                levels[key] = entry

    def opened(self, key: int) -> None:
        """A level was added to `levels` at `key`: put it in the sorted top when it belongs there."""
        floor = self.floor
        if floor is None or key >= floor:
            top = self.top
            insort(top, key)
            if len(top) > 4 * self.depth:
                # Many levels opened inside the top: keep the best `depth`, the rest stay in `levels`.
                cut = len(top) - self.depth
                self.floor = top[cut]
                del top[:cut]

    def closed(self, key: int) -> None:
        """The level at `key` left `levels`: take it out of the sorted top; an emptied top is refilled."""
        floor = self.floor
        if floor is None or key >= floor:
            top = self.top
            del top[bisect_left(top, key)]
            if not top and floor is not None:
                self._take_top(sorted(self.levels))  # the next best levels move up

    def clear(self) -> None:
        """Remove every level."""
        self.levels = {}
        self.top = []
        self.floor = None

    def rescale(self, factor: int) -> None:
        """Multiply every key by `factor` (the book's tick got finer); order is unchanged."""
        self.levels = {key * factor: entry for key, entry in self.levels.items()}
        self.top = [key * factor for key in self.top]
        if self.floor is not None:
            self.floor *= factor

    def best(self) -> int | None:
        """The best key, or None on an empty side."""
        return self.top[-1] if self.top else None

    def walk(self) -> Iterator[int]:
        """Every key, best first."""
        yield from reversed(self.top)
        floor = self.floor
        if floor is not None:
            # Past the sorted top: order the rest now (a walk this deep is rare and already O(n)).
            yield from sorted((key for key in self.levels if key < floor), reverse=True)
