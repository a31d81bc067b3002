"""Fan-out of the handler's typed messages and order events to bounded streams and callback tasks.

The reader only ever calls `publish`, which never waits: each consumer has its own `MessageStream`, so a
slow one fills (and overflows) only its own stream. A callback runs in its own task and a failing callback
is counted and logged, never allowed to stop the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from cryptoj.coinbase.ws_policy import HandlerStats
from cryptoj.coinbase.ws_streams import MessageStream, OverflowPolicy
from cryptoj.coinbase.ws_user import UserOrderEvent

__all__ = ["ORDERS", "Callback", "Dispatcher"]

_log = logging.getLogger(__name__)

Callback = Callable[[Any], Awaitable[None]]
ORDERS = "orders"  # the pseudo-channel of domain order events (from the `user` channel)


class Dispatcher:
    """Streams per channel, order-event streams, and the tasks that feed callbacks.

    Parameters:
        stats: where failing callbacks are counted.
    """

    def __init__(self, stats: HandlerStats) -> None:
        self._stats = stats
        self._streams: dict[str, list[MessageStream[Any]]] = {}
        self._order_streams: list[MessageStream[UserOrderEvent]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def stream(self, channel: str, *, maxsize: int, policy: OverflowPolicy) -> MessageStream[Any]:
        """A new bounded stream of one channel's messages."""
        stream: MessageStream[Any] = MessageStream(maxsize=maxsize, policy=policy, key=_product_key)
        self._streams.setdefault(channel, []).append(stream)
        return stream

    def order_events(self, *, maxsize: int, policy: OverflowPolicy) -> MessageStream[UserOrderEvent]:
        """A new bounded stream of order events."""
        stream: MessageStream[UserOrderEvent] = MessageStream(maxsize=maxsize, policy=policy)
        self._order_streams.append(stream)
        return stream

    def on(self, channel: str, callback: Callback, *, maxsize: int, policy: OverflowPolicy) -> MessageStream[Any]:
        """Feed `callback` from a new stream of `channel` (or `ORDERS`) in its own task."""
        stream: MessageStream[Any] = (
            self.order_events(maxsize=maxsize, policy=policy)
            if channel == ORDERS
            else self.stream(channel, maxsize=maxsize, policy=policy)
        )
        task = asyncio.get_running_loop().create_task(self._run(stream, callback))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return stream

    async def _run(self, stream: MessageStream[Any], callback: Callback) -> None:
        async for message in stream:
            try:
                await callback(message)
            except Exception:
                self._stats.callback_errors += 1
                _log.exception("WebSocket callback failed; the stream goes on")

    def publish(self, channel: str, message: Any) -> None:
        """Hand a message to every stream of its channel, without waiting."""
        for stream in self._streams.get(channel, ()):
            stream.put(message)

    def publish_orders(self, events: Iterable[UserOrderEvent]) -> None:
        """Hand order events to every order stream, without waiting."""
        for event in events:
            for stream in self._order_streams:
                stream.put(event)

    async def close(self, *, grace: float = 5.0) -> None:
        """End every stream and give the callbacks `grace` seconds to work through what is queued.

        A callback still running after that is cancelled: one stuck consumer must not hang shutdown.
        """
        for streams in self._streams.values():
            for stream in streams:
                stream.close()
        for order_stream in self._order_streams:
            order_stream.close()
        if self._tasks:
            _, stuck = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in stuck:
                _log.warning("a WebSocket callback did not finish within %g s of close; cancelling it", grace)
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)


def _product_key(message: Any) -> Hashable:
    # Coalescing replaces a queued message of the same type and products (e.g. the latest ticker).
    events = getattr(message, "events", ())
    return type(message), tuple(getattr(event, "product_id", "") for event in events)
