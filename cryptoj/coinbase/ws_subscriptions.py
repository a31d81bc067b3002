"""What a WebSocket handler keeps subscribed, the messages that ask for it, and how to recognise the answer.

The server answers every (un)subscribe with the WHOLE current set, not an echo of the request, so an ack
answers a request when the set it lists includes (or no longer includes) what was asked for. Requests take
turns (an error frame names no request), and `Subscriber` sends them and resubscribes a new connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed

from cryptoj.coinbase.auth import CdpKey, build_ws_jwt
from cryptoj.coinbase.ws_errors import SubscriptionError
from cryptoj.coinbase.ws_models import ErrorFrame, SubscriptionsMessage

__all__ = [
    "AckMatch",
    "AckWaiter",
    "Answer",
    "BeforeSend",
    "Send",
    "Subscriber",
    "SubscriptionSet",
    "request_message",
    "subscribe_answered",
    "unsubscribe_answered",
]

AckMatch = Callable[[dict[str, frozenset[str]]], bool]  # whether an ack's whole set answers a request
# What answered a request: the ack, the server's error frame, or None when the connection went first.
Answer = SubscriptionsMessage | ErrorFrame | None
Send = Callable[[str], Awaitable[None]]  # sends one text frame on the connection
BeforeSend = Callable[[str, str, list[str] | None], None]  # (kind, channel, products) of a request about to go


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
    """The one (un)subscribe request waiting for its answer on the current connection; requests take turns.

    Error frames carry no request id, so an error frame that arrives while a request waits is its answer.
    Because requests take turns, the last ack reflects every request answered so far: a request it already
    answers is not sent again (that also covers a recording replayed without answering anything).

    Parameters:
        timeout: seconds a request waits for its answer before `request` raises TimeoutError.
    """

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._future: asyncio.Future[Answer] | None = None
        self._match: AckMatch | None = None
        self._open = False  # a connection is up to carry requests
        self._last: SubscriptionsMessage | None = None  # the last ack on this connection

    def open(self) -> None:
        """A connection is up: requests may be sent on it."""
        self._open = True
        self._last = None

    async def request(self, send: Callable[[], Awaitable[None]], match: AckMatch) -> Answer:
        """Send a request and wait for the answer `match` accepts; raises TimeoutError when none comes in time.

        Returns the last ack without sending when it already answers the request, and None without sending
        when no connection is up.
        """
        async with self._lock:
            if not self._open:
                return None
            if self._last is not None and match(self._last.current):
                return self._last
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
        self._last = message
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
        """The connection ended: a waiting request, and any until the next `open`, is answered with None."""
        self._open = False
        self._last = None
        future = self._future
        if future is not None and not future.done():
            future.set_result(None)


class Subscriber:
    """Asks for (un)subscriptions one at a time, and keeps what the server confirmed for the next connection.

    Parameters:
        key: signs every request with a fresh JWT when set.
        ack_timeout: seconds a request waits for its answer.
        before_send: told of each request right before it goes out.
    """

    def __init__(self, *, key: CdpKey | None, ack_timeout: float, before_send: BeforeSend) -> None:
        self._key = key
        self._before_send = before_send
        self.wanted = SubscriptionSet()  # what the server confirmed: resubscribed on every new connection
        self.acks = AckWaiter(timeout=ack_timeout)

    def message(self, kind: str, channel: str, products: list[str] | None) -> str:
        """A request, signed when a key is set."""
        return request_message(kind, channel, products, key=self._key)

    async def ask(self, send: Send, kind: str, channel: str, products: list[str] | None) -> Answer:
        """Send one request and wait for its ack; None when the connection went first.

        Raises `SubscriptionError` when an error frame answers it and TimeoutError when nothing does in time.
        """
        if kind == "subscribe":
            answered = subscribe_answered(channel, products or [])
        else:
            answered = unsubscribe_answered(channel, None if products is None else set(products))

        async def request() -> None:
            self._before_send(kind, channel, products)
            await send(self.message(kind, channel, products))

        try:
            answer = await self.acks.request(request, answered)
        except ConnectionClosed:
            return None
        if isinstance(answer, ErrorFrame):
            raise SubscriptionError(channel, answer.message)
        return answer

    async def resubscribe(self, send: Send, *, confirmed: Callable[[str], None]) -> bool:
        """Subscribe a new connection to everything wanted, one confirmed channel at a time; False if it ends first.

        Loops until nothing changes: what was subscribed or unsubscribed meanwhile is sent too. `confirmed` is
        told of each channel the server confirms. A refusal raises `SubscriptionError`; no answer in time
        raises TimeoutError (replace the connection and try again: unanswered is not refused).
        """
        sent: dict[str, frozenset[str]] = {}
        while True:
            wanted = self.wanted.as_dict()
            extra = {c: p - wanted.get(c, frozenset()) for c, p in sent.items() if p - wanted.get(c, frozenset())}
            missing = {c: p for c, p in wanted.items() if c not in sent or p - sent[c]}
            if not extra and not missing:
                return True
            for channel, products in missing.items():
                if not await self._reask(send, "subscribe", channel, sorted(products)):
                    return False
                sent[channel] = sent.get(channel, frozenset()) | products
                confirmed(channel)
            for channel, removed in extra.items():
                whole = channel not in self.wanted
                if not await self._reask(send, "unsubscribe", channel, None if whole else sorted(removed)):
                    return False
                sent[channel] = sent[channel] - removed

    async def _reask(self, send: Send, kind: str, channel: str, products: list[str] | None) -> bool:
        try:
            return await self.ask(send, kind, channel, products) is not None
        except TimeoutError:
            raise TimeoutError(f"no answer to the {channel!r} {kind} within {self.acks.timeout:g} s") from None
