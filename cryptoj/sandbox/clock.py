"""The sandbox's simulated clock: wall time, optionally running faster, and steppable in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["SimClock"]


class SimClock:
    """A clock that starts at `start` and runs `speed` times faster than the wall clock.

    Parameters:
        start: the simulated time at creation (default: the wall clock's now).
        speed: simulated seconds per real second; 0 freezes the clock so only `advance` moves it.
        monotonic: the real-time source (seconds), replaceable in tests.
    """

    def __init__(
        self,
        *,
        start: datetime | None = None,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError(f"clock speed must not be negative, got {speed}")
        if start is not None and start.tzinfo is None:
            raise ValueError("the clock's start must be timezone-aware")
        self._start = start or datetime.now(UTC)
        self._speed = speed
        self._monotonic = monotonic
        self._t0 = monotonic()
        self._offset = 0.0

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    @property
    def start(self) -> datetime:
        """The simulated time the clock started at."""
        return self._start

    def seconds(self) -> float:
        """Simulated seconds since the start."""
        return (self._monotonic() - self._t0) * self._speed + self._offset

    def now(self) -> datetime:
        """The simulated current time (UTC)."""
        return self._start + timedelta(seconds=self.seconds())

    def advance(self, seconds: float) -> None:
        """Move simulated time forward (tests and fast-forward)."""
        if seconds < 0:
            raise ValueError("the clock never goes backwards")
        self._offset += seconds
