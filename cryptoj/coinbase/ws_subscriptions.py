"""What a WebSocket handler keeps subscribed, the messages that ask for it, and how to recognise the answer.

The server answers every (un)subscribe with the WHOLE current set, not an echo of the request, so an ack
answers a request when the set it lists includes (or no longer includes) what was asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from cryptoj.coinbase.auth import CdpKey, build_ws_jwt
from cryptoj.coinbase.ws_models import ErrorFrame, SubscriptionsMessage

__all__ = [
    "AckMatch",
    "AckWaiter",
    "Answer",
    "SubscriptionSet",
    "request_message",
    "subscribe_answered",
    "unsubscribe_answered",
]

AckMatch = Callable[[dict[str, frozenset[str]]], bool]  # whether an ack's whole set answers a request
# What answered a request: the ack, the server's error frame, or None when the connection went first.
Answer = SubscriptionsMessage | ErrorFrame | None


class SubscriptionSet:
    """Channel -> product ids the handler wants; heartbeats are always in it (they keep connections open)."""

    def __init__(self) -> None:
        self._wanted: dict[str, set[str]] = {"heartbeats": set()}

    def __contains__(self, channel: object) -> bool:
        return channel in self._wanted

    def as_dict(self) -> dict[str, frozenset[str]]:
        """A read-only copy."""
        return {channel: frozenset(products) for channel, products in self._wanted.items()}

    def products(self, channel: str) -> set[str]:
        """The products wanted on a channel (empty when none or not subscribed)."""
        return set(self._wanted.get(channel, ()))

    def add(self, channel: str, products: Iterable[str]) -> set[str] | None:
        """Want more products on a channel; returns what was wanted before (None: the channel is new)."""
        before = self._wanted.get(channel)
        self._wanted[channel] = (set(before) if before is not None else set()) | set(products)
        return None if before is None else set(before)

    def restore(self, channel: str, before: set[str] | None) -> None:
        """Undo an `add` the server refused."""
        if before is None:
            self._wanted.pop(channel, None)
        else:
            self._wanted[channel] = before

    def remove(self, channel: str, products: Iterable[str] | None) -> set[str]:
        """Stop wanting some products (all when None); a channel left empty goes, except heartbeats."""
        known = self._wanted.get(channel, set())
        removed = set(known) if products is None else known & set(products)
        remaining = known - removed
        if products is None or (not remaining and channel != "heartbeats"):
            self._wanted.pop(channel, None)
        else:
            self._wanted[channel] = remaining
        return removed


def request_message(kind: str, channel: str, products: list[str] | None, *, key: CdpKey | None) -> str:
    """A subscribe/unsubscribe message; with a key it carries a fresh JWT (each lives 2 minutes)."""
    body: dict[str, Any] = {"type": kind, "channel": channel}
    if products is not None:
        body["product_ids"] = products
    if key is not None:
        body["jwt"] = build_ws_jwt(key)
    return orjson.dumps(body).decode()


def subscribe_answered(channel: str, products: list[str]) -> AckMatch:
    """The ack that answers a subscribe: the channel is there with every product asked for."""
    # heartbeats list "heartbeats" and user lists the user's id, not the products asked for.
    if channel in ("heartbeats", "user"):
        return lambda current: channel in current
    return lambda current: channel in current and set(products) <= current[channel]


def unsubscribe_answered(channel: str, removed: set[str] | None) -> AckMatch:
    """The ack that answers an unsubscribe: the channel (or the removed products) is gone."""
    if removed is None:
        return lambda current: channel not in current
    return lambda current: channel not in current or not (removed & current[channel])


class AckWaiter:
    """The one (un)subscribe request waiting for its answer; requests take turns.

    Error frames carry no request id, so an error frame that arrives while a request waits is its answer.

    Parameters:
        timeout: seconds a request waits for its answer before `request` raises TimeoutError.
    """

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._future: asyncio.Future[Answer] | None = None
        self._match: AckMatch | None = None

    async def request(self, send: Callable[[], Awaitable[None]], match: AckMatch) -> Answer:
        """Send a request and wait for the answer `match` accepts; raises TimeoutError when none comes in time."""
        async with self._lock:
            self._future = future = asyncio.get_running_loop().create_future()
            self._match = match
            try:
                await send()
                return await asyncio.wait_for(future, self.timeout)
            finally:
                self._future = None
                self._match = None

    def on_ack(self, message: SubscriptionsMessage) -> None:
        """An ack arrived: it answers the waiting request only if its set shows what was asked for.

        Acks of earlier requests (resubscribes, resyncs) may arrive first and are passed over.
        """
        future, match = self._future, self._match
        if future is not None and not future.done() and match is not None and match(message.current):
            future.set_result(message)

    def on_error(self, frame: ErrorFrame) -> bool:
        """An error frame arrived; True when it answered the waiting request (else it is unsolicited)."""
        future = self._future
        if future is None or future.done():
            return False
        future.set_result(frame)
        return True

    def abandon(self) -> None:
        """The connection ended: a waiting request is answered with None (the reconnect resubscribes)."""
        future = self._future
        if future is not None and not future.done():
            future.set_result(None)
