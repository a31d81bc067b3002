"""A client-side async rate limiter, so a backfill never draws a 429 by itself.

It is GCRA, the arithmetic form of a token bucket: each request books the next free slot, then waits
for it once. Written here rather than taken from aiolimiter because tests inject the clock and the
sleep (no real waiting), because one computed wait cannot spin on float rounding the way a re-check
loop can, and because Coinbase's `x-ratelimit-*` headers can tell the limiter to hold until a reset.
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

    async def acquire(self) -> None:
        """Book the next slot, then wait for it (booking happens before any await, so waiters keep order)."""
        now = self._clock()
        slot = max(now, self._next_free - self._tolerance)
        self._next_free = max(self._next_free, now) + self._interval
        if slot > now:
            await self._sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` (the venue said its budget is spent), then resume from an empty bucket."""
        if seconds <= 0:
            return
        until = self._clock() + seconds + self._tolerance
        self._next_free = max(self._next_free, until)
