"""The time JWTs are signed with: our clock, corrected by Coinbase's when the two disagree.

A JWT is good from its `nbf` for 120 s. Signed on a clock that is off by more than that (a VM resumed
from sleep, a container without NTP), every request gets a bare 401 `Unauthorized`: the commonest
CDP-key failure users of other Coinbase clients report, and nothing in the answer says why.

The session measures Coinbase's clock against ours with `GET /time` before its first signed request,
and again after a 401. Beyond `CLOCK_TOLERANCE_SECONDS` it signs with Coinbase's time and says so in a
warning; a 401 that persists says in the `AuthenticationError` whether the clock was the cause.

A correction is a hypothesis the venue confirms. On a 401 the request is signed once more with each
clock not yet tried: the fresh measurement, then our own. The second matters where `/time` is not the
clock that checks JWTs (a simulator answering its simulated time): there our own clock wins and stays.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from cryptoj.coinbase.errors import AuthenticationError
from cryptoj.coinbase.models import ServerTime

__all__ = ["CLOCK_TOLERANCE_SECONDS", "SigningClock", "offset_from"]

# Past measurement noise (whole seconds in `epochSeconds`, half a round trip) and far inside the
# 120 s JWT window; a clock that far off is already wrong.
CLOCK_TOLERANCE_SECONDS = 5.0
_log = logging.getLogger("cryptoj.coinbase")


def offset_from(server: ServerTime, *, sent: float, received: float, age: str | None) -> float | None:
    """Coinbase's clock minus ours, in seconds, from a `GET /time` answer; None if it holds no time.

    The answer's time is read against the middle of the round trip (`sent`, `received`: our epoch seconds),
    plus its `Age` when a cache served it.
    """
    if server.epoch_millis is not None:
        at = server.epoch_millis / 1000
    elif server.epoch_seconds is not None:
        at = server.epoch_seconds + 0.5  # the middle of the whole second it names
    elif server.iso is not None:
        at = server.iso.timestamp()
    else:
        return None
    try:
        cached = max(0.0, float(age)) if age is not None else 0.0
    except ValueError:
        cached = 0.0
    if not math.isfinite(cached):
        cached = 0.0  # "Age: inf" would make every JWT's time infinite: int() of it raises OverflowError
    return at + cached - (sent + received) / 2


def _describe(offset: float) -> str:
    return f"{abs(offset):.0f} s {'behind' if offset > 0 else 'ahead of'} Coinbase's"


class SigningClock:
    """Seconds since the epoch for JWT `nbf`/`exp`: our wall clock plus the correction in use.

    Parameters:
        wall_clock: our epoch seconds (time.time; tests inject a fake).
        tolerance: how far the clocks may disagree before signing switches to Coinbase's time.
    """

    def __init__(self, wall_clock: Callable[[], float], *, tolerance: float = CLOCK_TOLERANCE_SECONDS) -> None:
        self._wall = wall_clock
        self._tolerance = tolerance
        self.offset = 0.0  # added to our clock when signing
        self.measured: float | None = None  # Coinbase's clock minus ours, at the last reading
        self.checked = False  # whether the start-up reading was made

    def now(self) -> int:
        """The time a JWT is signed with (whole epoch seconds)."""
        return int(self._wall() + self.offset)

    def _wanted(self, measured: float) -> float:
        return measured if abs(measured) > self._tolerance else 0.0

    def start(self, measured: float | None) -> None:
        """Take the start-up reading (None: Coinbase's clock could not be read; sign with ours)."""
        self.checked = True
        self.measured = measured
        if measured is not None and self._wanted(measured):
            self.use(measured, why="signing JWTs with Coinbase's time (fix this machine's clock)")

    def use(self, offset: float, *, why: str) -> None:
        """Sign with `offset` from now on, and say why in a warning."""
        self.offset = offset
        shown = _describe(self.measured) if self.measured is not None else "of unknown distance from Coinbase's"
        _log.warning("our clock is %s (GET /time): %s", shown, why)

    def alternatives(self, measured: float | None) -> list[float]:
        """After a 401: the signing offsets not yet tried that may cure it, best first (none: not the clock)."""
        if measured is not None:
            self.measured = measured
        candidates = ([self._wanted(measured)] if measured is not None else []) + [0.0]
        untried: list[float] = []
        for candidate in candidates:
            if all(abs(candidate - other) > self._tolerance for other in (self.offset, *untried)):
                untried.append(candidate)
        return untried

    def refused(self, error: AuthenticationError) -> AuthenticationError:
        """The 401 that no clock cured, saying what the clock check found; signing goes back to the best guess."""
        measured = self.measured
        if measured is None:
            note = "Coinbase's clock could not be read (GET /time), so clock skew is not ruled out"
        elif not self._wanted(measured):
            note = f"our clock agrees with Coinbase's within {abs(measured):.1f} s (GET /time): not clock skew"
        else:
            note = f"our clock is {_describe(measured)} (GET /time); signed with the corrected time, still refused"
        if measured is not None:
            self.offset = self._wanted(measured)
        return AuthenticationError(
            f"{error.message} ({note}: check the key name, private key and scopes)",
            status=error.status,
            code=error.code,
            trace_id=error.trace_id,
            clock_offset=measured,
        )
