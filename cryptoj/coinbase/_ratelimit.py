"""A client-side async rate limiter, so a backfill never draws a 429 by itself.

It is GCRA, the arithmetic form of a token bucket: each request books the next free slot, then waits
for it once (again only if a hold arrived meanwhile). GCRA alone lets `burst - 1 + rate` requests into one
second (a burst, then the full rate), which a venue counting its budget per one-second window refuses (the
sandbox's fixed windows drew a 429 in the first second of every backfill). So a slot is also no earlier than
one `window` after the slot `per_window` requests before it: no span of `window` seconds holds more than
`per_window` sends, and the window is a little longer than a second so the spread of latencies cannot carry
more than the budget into one of the venue's seconds. Written here rather than taken from aiolimiter
because tests inject the clock and the sleep (no real waiting), because a computed wait compared with
stored values cannot spin on float rounding the way a clock re-check loop can, and because Coinbase's
`x-ratelimit-*` headers can tell the limiter to hold until a reset.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """Allows `rate` requests per second on average, `burst` back to back, and never more than the budget
    of one second (`rate` rounded down, at least 1) within a second and `margin`.

    Parameters:
        rate: requests per second.
        burst: how many may go at once after a quiet spell.
        clock: monotonic seconds.
        sleep: how to wait (asyncio.sleep; tests pass a fake that advances their clock).
        margin: seconds added to the window the budget is counted over: the most that latencies may differ
            by between requests (a request's latency decides which of the venue's windows counts it).
    """

    def __init__(self, *, rate: float, burst: int, clock: Clock, sleep: Sleep, margin: float = 0.0) -> None:
        if rate <= 0 or burst < 1 or margin < 0:
            raise ValueError("a token bucket needs rate > 0, burst >= 1 and margin >= 0")
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._next_free = clock()  # the "theoretical arrival time" of GCRA
        self._held_until = float("-inf")
        per_window = max(1, math.floor(rate))
        self._window = per_window * self._interval + margin
        self._booked: deque[float] = deque(maxlen=per_window)  # the last `per_window` slots booked

    async def acquire(self) -> None:
        """Book the next slot, then wait for it (booking happens before any await, so waiters keep order).

        A hold that arrives while a caller waits for its slot re-books it after the hold: a slot booked
        before the venue said its budget was spent would otherwise draw the 429 the hold is there to avoid.
        """
        while True:
            now = self._clock()
            slot = max(now, self._next_free - self._tolerance)
            if len(self._booked) == self._booked.maxlen:
                slot = max(slot, self._booked[0] + self._window)
            self._booked.append(slot)
            self._next_free = max(self._next_free, slot) + self._interval
            if slot <= now:
                return
            await self._sleep(slot - now)
            if self._held_until <= slot:  # no hold reaching past this slot arrived while waiting
                return

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` (the venue said its budget is spent), then resume from an empty bucket."""
        if seconds <= 0:
            return
        now = self._clock()
        self._held_until = max(self._held_until, now + seconds)
        self._next_free = max(self._next_free, now + seconds + self._tolerance)
