"""The handler's tunables and counters: reconnect backoff, statistics, and where raw frames may be recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cryptoj.errors import ConfigurationError

__all__ = ["FrameSink", "HandlerStats", "ReconnectPolicy"]


class FrameSink(Protocol):
    """Where raw received frames go before decoding (the JSONL recorder)."""

    def record(self, frame: str | bytes) -> None:
        """Keep one frame."""
        ...


@dataclass(frozen=True, kw_only=True)
class ReconnectPolicy:
    """Exponential backoff with jitter, and a cap on consecutive failed attempts.

    Parameters:
        base_delay: the first wait, in seconds.
        max_delay: no wait is longer.
        max_attempts: consecutive failed attempts before `ReconnectExhausted`.
        jitter: the fraction of each wait that is random (0 = none, 1 = anywhere from 0 to the full wait).
        stable_after: seconds after which a connection that delivered frames counts as a success even if
            it delivered no live data. A connection that delivered live data (an update, not only its
            snapshots, acks and heartbeats) counts as a success however short it was: a feed cut often
            still works. One that did neither is a failed attempt (a frame that kills every connection
            right after its snapshot must not reconnect forever).
    """

    base_delay: float = 0.5
    max_delay: float = 30.0
    max_attempts: int = 10
    jitter: float = 0.5
    stable_after: float = 10.0

    def __post_init__(self) -> None:
        # A zero delay or a jitter above 1 (negative waits) would make reconnects spin.
        if not self.base_delay > 0:
            raise ConfigurationError(f"base_delay must be positive, got {self.base_delay}")
        if not self.max_delay >= self.base_delay:
            raise ConfigurationError(f"max_delay must be at least base_delay, got {self.max_delay}")
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError(f"jitter must be from 0 to 1, got {self.jitter}")
        if not self.stable_after >= 0:
            raise ConfigurationError(f"stable_after must not be negative, got {self.stable_after}")

    def delay(self, attempt: int, draw: float) -> float:
        """The wait before attempt `attempt` (1-based), given a uniform draw in [0, 1)."""
        full = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return full * (1 - self.jitter) + full * self.jitter * draw


@dataclass
class HandlerStats:
    """Counters a caller or a test can read."""

    connects: int = 0  # successful handshakes
    frames: int = 0  # frames received
    decode_errors: int = 0  # frames skipped because they could not be decoded
    error_frames: int = 0  # `type: error` frames not answering a subscribe of ours
    sequence_gaps: int = 0  # jumps in sequence_num (frames lost)
    out_of_order: int = 0  # frames with a sequence_num at or below the last one (dropped)
    resyncs: int = 0  # level2 resubscriptions for a fresh snapshot (after a gap, a broken book, or no snapshot)
    snapshot_timeouts: int = 0  # connections replaced because a snapshot asked for twice never came
    heartbeat_timeouts: int = 0
    callback_errors: int = 0
    look_again: int = 0  # LookAgain markers sent to order streams (each stream adds its own LAGGED markers)
