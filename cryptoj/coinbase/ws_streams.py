"""Bounded message streams between the WebSocket reader and its consumers.

The reader never waits for a consumer: `put` returns at once and, when a stream is full, its overflow
policy decides what gives way, counted in `dropped` or `coalesced`; with `MARK_GAP` the consumer is also
told, by a marker where the gap begins. A stream ends by `close()`: iteration stops after what is queued,
or, when it was closed with an error (the handler gave up), raises that error there.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable
from enum import StrEnum
from typing import Generic, TypeVar

from cryptoj.errors import ConfigurationError

__all__ = ["MessageStream", "OverflowPolicy", "StreamClosed"]

T = TypeVar("T")


class StreamClosed(Exception):
    """Raised inside `get` once a closed stream is drained (iteration simply stops)."""


class OverflowPolicy(StrEnum):
    """What a full stream does with a new message."""

    DROP_OLDEST = "drop_oldest"  # keep the newest messages (market data: fresher is better)
    DROP_NEWEST = "drop_newest"  # keep what is queued, refuse the new message
    COALESCE = "coalesce"  # replace the queued message with the same key (e.g. the latest ticker per product)
    # Keep what is queued and refuse new messages until the consumer has read it all, then hand the consumer
    # one marker saying how many it missed: a gap is never silent (order events).
    MARK_GAP = "mark_gap"


class MessageStream(Generic[T]):
    """A bounded queue that never blocks its producer, read as an async iterator.

    Parameters:
        maxsize: how many messages may wait.
        policy: what gives way when full.
        key: for COALESCE, which queued message a new one replaces (same key); default: the message type.
        marker: for MARK_GAP, builds the message that tells the consumer how many messages it missed.
    """

    def __init__(
        self,
        *,
        maxsize: int = 1000,
        policy: OverflowPolicy = OverflowPolicy.DROP_OLDEST,
        key: Callable[[T], Hashable] | None = None,
        marker: Callable[[int], T] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ConfigurationError(f"maxsize must be at least 1, got {maxsize}")
        if policy is OverflowPolicy.MARK_GAP and marker is None:
            raise ConfigurationError("the mark_gap overflow policy needs a marker")
        self.maxsize = maxsize
        self.policy = policy
        self._key: Callable[[T], Hashable] = key if key is not None else type
        self._marker = marker
        self._items: deque[T] = deque()
        self._missed = 0  # MARK_GAP: messages refused since the gap opened; a marker follows the queue
        self._ready = asyncio.Event()
        self._closed = False
        self._error: BaseException | None = None  # what the consumer gets once the queue is drained
        self.delivered = 0  # messages handed to the consumer
        self.dropped = 0  # messages lost to the overflow policy
        self.coalesced = 0  # messages replaced by a newer one with the same key

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        """Whether the stream has ended (no more messages will be put)."""
        return self._closed

    def put(self, item: T) -> None:
        """Queue a message without waiting, applying the overflow policy when full."""
        if self._closed:
            return
        if self._missed:
            # A gap is open: a message after it must not overtake the marker that reports it.
            self._missed += 1
            self.dropped += 1
            return
        if len(self._items) >= self.maxsize:
            if self.policy is OverflowPolicy.MARK_GAP:
                self._missed = 1
                self.dropped += 1
                return
            if self.policy is OverflowPolicy.DROP_NEWEST:
                self.dropped += 1
                return
            if self.policy is OverflowPolicy.COALESCE and self._replace(item):
                self.coalesced += 1
                return
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    def _replace(self, item: T) -> bool:
        key = self._key(item)
        for index in range(len(self._items) - 1, -1, -1):
            if self._key(self._items[index]) == key:
                del self._items[index]
                self._items.append(item)
                return True
        return False

    def close(self, error: BaseException | None = None) -> None:
        """End the stream: the consumer gets what is queued, then iteration stops, or `error` is raised.

        Only the first close counts: a plain close after a failure does not hide the failure.
        """
        if not self._closed:
            self._closed = True
            self._error = error
        self._ready.set()

    async def get(self) -> T:
        """The next message; once the stream is closed and empty, raises its error or `StreamClosed`."""
        while not self._items:
            if self._missed and self._marker is not None:
                missed, self._missed = self._missed, 0
                self.delivered += 1
                return self._marker(missed)
            if self._closed:
                if self._error is not None:
                    raise self._error
                raise StreamClosed
            self._ready.clear()
            await self._ready.wait()
        self.delivered += 1
        return self._items.popleft()

    def __aiter__(self) -> MessageStream[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.get()
        except StreamClosed:
            raise StopAsyncIteration from None
