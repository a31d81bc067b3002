"""A client-side async token bucket, so a backfill never draws a 429 by itself.

Written here rather than taken from aiolimiter because tests inject the clock and the sleep (no real
waiting), and because Coinbase's `x-ratelimit-*` headers can tell the bucket to hold until a reset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """Allows `rate` requests per second on average and `burst` back to back.

    Parameters:
        rate: tokens added per second.
        burst: bucket capacity.
        clock: monotonic seconds.
        sleep: how to wait (asyncio.sleep; tests pass a fake that advances their clock).
    """

    def __init__(self, *, rate: float, burst: int, clock: Clock, sleep: Sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._hold_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one request may go, then take its token."""
        async with self._lock:  # first come, first served: waiters queue on the lock
            while True:
                now = self._clock()
                if now < self._hold_until:
                    await self._sleep(self._hold_until - now)
                    continue
                self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self._rate)

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` (the venue said its budget is spent) and restart from an empty bucket."""
        if seconds <= 0:
            return
        until = self._clock() + seconds
        if until > self._hold_until:
            self._hold_until = until
            self._tokens = 0.0
            self._updated = until
