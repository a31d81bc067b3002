"""Request budgets like Coinbase's: per key for private endpoints, per client address for public ones."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateDecision", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one request against its budget, with what the x-ratelimit headers report."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends
    retry_after: int  # seconds to wait (when refused)

    def headers(self) -> dict[str, str]:
        """The x-ratelimit-* headers (and Retry-After when refused)."""
        result = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
        }
        if not self.allowed:
            result["Retry-After"] = str(self.retry_after)
        return result


class RateLimiter:
    """Fixed one-second windows: at most `private_per_second` or `public_per_second` requests per window.

    Parameters:
        private_per_second: budget per API key (Coinbase: 30/s).
        public_per_second: budget per client address on public endpoints (Coinbase: 10/s).
        clock: epoch seconds, replaceable in tests.
    """

    def __init__(
        self,
        *,
        private_per_second: int = 30,
        public_per_second: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.private_per_second = private_per_second
        self.public_per_second = public_per_second
        self._clock = clock
        self._window = -1
        self._counts: dict[str, int] = {}

    def check(self, who: str, *, public: bool) -> RateDecision:
        """Count one request by `who`; refuse it when the window's budget is spent."""
        now = self._clock()
        window = math.floor(now)
        if window != self._window:
            self._window, self._counts = window, {}
        limit = self.public_per_second if public else self.private_per_second
        bucket = f"{'public' if public else 'private'}:{who}"
        used = self._counts.get(bucket, 0)
        reset = window + 1
        if used >= limit:
            return RateDecision(False, limit, 0, reset, max(1, math.ceil(reset - now)))
        self._counts[bucket] = used + 1
        return RateDecision(True, limit, limit - used - 1, reset, 0)
