"""Which forms the sandbox answers in: the ones real Coinbase traffic shows, or the tidier documented ones.

Recorded traffic (facts 1 to 28 of ../shared/coinbase/real-traffic.md; tests/data/coinbase/captured)
differs from the documentation in ways a client depends on: a 429 is an HTML page, no answer carries
`x-ratelimit-*` headers, `trace-id` comes twice in decimal, `client_id` is often missing from frames.
`Dialect.REAL` answers in those forms (the documented ones where nothing real was recorded) and, where real
traffic has several forms (JSON spacing, time precision, `client_id` present or not, 404 as text or
JSON), varies among them from seeded streams, so a client tested here meets each of them.
`Dialect.DOCUMENTED` keeps the sandbox's earlier, tidier answers, so a client's handling of those stays
tested too.

Time texts live here too: the REST API writes times as protobuf's JSON does (0, 3, 6 or 9 fraction digits,
as the value needs), the WebSocket feed as Go's RFC3339Nano (trailing zeros dropped).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from enum import StrEnum

from cryptoj.errors import CryptojError

__all__ = [
    "DEFAULT_DIALECT",
    "VARIATIONS",
    "Dialect",
    "FormsError",
    "WireForms",
    "fixed_time",
    "go_time_nano",
    "go_time_string",
    "proto_time",
]


class Dialect(StrEnum):
    """The sandbox's manner of speaking."""

    # What recorded Coinbase traffic shows; the documented form where nothing real was recorded.
    REAL = "real"
    # The tidier forms of the docs and of the sandbox's first versions: `client_id: ""` on every frame, a JSON
    # 429 with `Retry-After` and `x-ratelimit-*` headers (those headers on every answer), one hex `trace-id`,
    # times with a fixed number of fraction digits, decimals as computed, enum fields left "".
    DOCUMENTED = "documented"


# What passes against the sandbox should pass against Coinbase: the real forms unless asked otherwise.
DEFAULT_DIALECT = Dialect.REAL

# Each variation draws from its own seeded stream, so a change in one never shifts another's pattern.
VARIATIONS = (
    "spacing",  # a REST answer's JSON: compact, or a space after each comma (protobuf's JSON randomises it)
    "not_found",  # an unserved path: text `404 page not found`, or Coinbase's JSON NOT_FOUND
    "trace_id",  # the decimal `trace-id` value
    "client_id",  # a WebSocket frame with or without `client_id: ""`
    "frame_nanos",  # the nanoseconds below the clock's microseconds in a frame's `timestamp`
    "best_prices",  # /market product objects: `best_bid_price`/`best_ask_price` absent, or ""
    "whole_second",  # an order created on a whole second (its `created_time` has no fraction)
    "cdn_ray",  # the `CF-RAY` value
)

# How often a variation takes its less common form.
_SPACED_RATE = 0.5
_NOT_FOUND_JSON_RATE = 0.5
_CLIENT_ID_RATE = 0.25  # real 2026 frames never carried it; the docs' (and 2023's) always did
_BEST_PRICES_EMPTY_RATE = 0.5
_WHOLE_SECOND_RATE = 0.25


class FormsError(CryptojError):
    """A forms setting the sandbox cannot use (an unknown dialect name)."""


class WireForms:
    """The dialect in force and the seeded draws that vary the real forms.

    Parameters:
        dialect: real (default) or documented forms.
        seed: fixes every variation's pattern.
    """

    def __init__(self, dialect: Dialect = DEFAULT_DIALECT, *, seed: int = 0) -> None:
        self._seed = seed
        self.configure(dialect)

    @property
    def dialect(self) -> Dialect:
        """The dialect in force."""
        return self._dialect

    @property
    def real(self) -> bool:
        """Whether the real forms are in force."""
        return self._dialect is Dialect.REAL

    def configure(self, dialect: Dialect | str) -> None:
        """Switch the dialect (a `Dialect` or its name) and restart every variation from the seed."""
        try:
            self._dialect = Dialect(dialect)
        except ValueError:
            names = ", ".join(d.value for d in Dialect)
            raise FormsError(f"unknown dialect {dialect!r}: use one of {names}") from None
        self._streams = {
            kind: random.Random(f"{self._seed}:{kind}")  # noqa: S311 - reproducible variety, not secrets
            for kind in VARIATIONS
        }

    def _draw(self, kind: str, rate: float) -> bool:
        return self.real and self._streams[kind].random() < rate

    def spaced(self) -> bool:
        """Whether this REST answer puts a space after each comma (real forms only)."""
        return self._draw("spacing", _SPACED_RATE)

    def not_found_json(self) -> bool:
        """Whether this unserved path is answered in JSON rather than text (real forms only)."""
        return self._draw("not_found", _NOT_FOUND_JSON_RATE)

    def client_id(self) -> bool:
        """Whether this frame carries `client_id: ""` (always in the documented forms)."""
        return not self.real or self._draw("client_id", _CLIENT_ID_RATE)

    def best_prices_empty(self) -> bool:
        """Whether this /market answer writes `best_bid_price`/`best_ask_price` as "" rather than leaving them out."""
        return self._draw("best_prices", _BEST_PRICES_EMPTY_RATE)

    def whole_second(self) -> bool:
        """Whether the order being created is stamped on a whole second (real forms only)."""
        return self._draw("whole_second", _WHOLE_SECOND_RATE)

    def trace_id(self) -> str:
        """A `trace-id` value: decimal like Coinbase's (a hex uuid in the documented forms)."""
        if not self.real:
            return uuid.uuid4().hex
        return str(self._streams["trace_id"].getrandbits(63))

    def frame_nanos(self) -> int:
        """Nanoseconds (0-999) below the clock's microseconds for a frame's `timestamp`."""
        return self._streams["frame_nanos"].randrange(1000)

    def cdn_ray(self) -> str:
        """A Cloudflare ray id (`CF-RAY`): 16 hex digits and the answering data centre."""
        return f"{self._streams['cdn_ray'].getrandbits(64):016x}-EWR"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def fixed_time(moment: datetime) -> str:
    """RFC3339 UTC with exactly six fraction digits (the documented forms' REST times)."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _nanos(moment: datetime, nanos: int) -> int:
    if not 0 <= nanos < 1000:
        raise ValueError(f"nanos below the microsecond must be 0-999, got {nanos}")
    return moment.microsecond * 1000 + nanos


def proto_time(moment: datetime, *, nanos: int = 0) -> str:
    """RFC3339 as protobuf's JSON writes a Timestamp: 0, 3, 6 or 9 fraction digits, as few as the value needs.

    `nanos` are the nanoseconds below `moment`'s microseconds.
    """
    moment, total = _utc(moment), _nanos(moment, nanos)
    if total == 0:
        fraction = ""
    elif total % 1_000_000 == 0:
        fraction = f".{total // 1_000_000:03d}"
    elif total % 1000 == 0:
        fraction = f".{total // 1000:06d}"
    else:
        fraction = f".{total:09d}"
    return f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}Z"


def _go_fraction(total: int) -> str:
    # Go's ".999999999" layout: up to nine digits, trailing zeros (and a bare dot) dropped.
    digits = f"{total:09d}".rstrip("0")
    return f".{digits}" if digits else ""


def go_time_nano(moment: datetime, *, nanos: int = 0) -> str:
    """RFC3339 as Go's `time.RFC3339Nano` writes it: up to nine fraction digits, trailing zeros dropped."""
    moment = _utc(moment)
    return f"{moment:%Y-%m-%dT%H:%M:%S}{_go_fraction(_nanos(moment, nanos))}Z"


def go_time_string(moment: datetime, *, uptime: float, nanos: int = 0) -> str:
    """Go's `time.String()` text with its monotonic suffix, as the heartbeats channel sends `current_time`."""
    moment = _utc(moment)
    fraction = _go_fraction(_nanos(moment, nanos))
    return f"{moment:%Y-%m-%d %H:%M:%S}{fraction} +0000 UTC m=+{uptime:.9f}"
