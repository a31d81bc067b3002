"""A client-side async rate limiter, so a backfill never draws a 429 by itself.

It is GCRA, the arithmetic form of a token bucket: each request books the next free slot, then waits
for it once (again only if a hold arrived meanwhile). Written here rather than taken from aiolimiter
because tests inject the clock and the sleep (no real waiting), because a computed wait compared with
stored values cannot spin on float rounding the way a clock re-check loop can, and because Coinbase's
`x-ratelimit-*` headers can tell the limiter to hold until a reset.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """Allows `rate` requests per second on average and `burst` back to back.

    Parameters:
        rate: requests per second.
        burst: how many may go at once after a quiet spell.
        clock: monotonic seconds.
        sleep: how to wait (asyncio.sleep; tests pass a fake that advances their clock).
    """

    def __init__(self, *, rate: float, burst: int, clock: Clock, sleep: Sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._next_free = clock()  # the "theoretical arrival time" of GCRA
        self._held_until = float("-inf")

    async def acquire(self) -> None:
        """Book the next slot, then wait for it (booking happens before any await, so waiters keep order).

        A hold that arrives while a caller waits for its slot re-books it after the hold: a slot booked
        before the venue said its budget was spent would otherwise draw the 429 the hold is there to avoid.
        """
        while True:
            now = self._clock()
            slot = max(now, self._next_free - self._tolerance)
            self._next_free = max(self._next_free, now) + self._interval
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
