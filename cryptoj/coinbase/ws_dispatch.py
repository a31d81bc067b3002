"""Fan-out of the handler's typed messages and order events to bounded streams and callback tasks.

The reader only ever calls `publish`, which never waits: each consumer has its own `MessageStream`, so a
slow one fills (and overflows) only its own stream. Order streams never drop silently: they mark the gap
with a `LookAgain` (`OverflowPolicy.MARK_GAP`). A callback runs in its own task and a failing callback
is counted and logged, never allowed to stop the others. When the handler gives up, `fail` ends every
stream with its error, so no consumer waits forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from cryptoj.coinbase.ws_policy import HandlerStats
from cryptoj.coinbase.ws_streams import MessageStream, OverflowPolicy
from cryptoj.coinbase.ws_user import LookAgain, LookAgainReason, OrderFeedItem
from cryptoj.errors import ConfigurationError

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
        self._order_streams: list[MessageStream[OrderFeedItem]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._ended = False  # closed or failed: a stream asked for now is born ended
        self._failure: BaseException | None = None

    def stream(self, channel: str, *, maxsize: int, policy: OverflowPolicy) -> MessageStream[Any]:
        """A new bounded stream of one channel's messages."""
        stream: MessageStream[Any] = MessageStream(maxsize=maxsize, policy=policy, key=_product_key)
        self._streams.setdefault(channel, []).append(stream)
        return self._born(stream)

    def order_events(self, *, maxsize: int) -> MessageStream[OrderFeedItem]:
        """A new bounded stream of order events that marks any gap with a `LookAgain`."""
        stream: MessageStream[OrderFeedItem] = MessageStream(
            maxsize=maxsize, policy=OverflowPolicy.MARK_GAP, marker=_lagged
        )
        self._order_streams.append(stream)
        return self._born(stream)

    def on(
        self, channel: str, callback: Callback, *, maxsize: int, policy: OverflowPolicy | None
    ) -> MessageStream[Any]:
        """Feed `callback` from a new stream of `channel` (or `ORDERS`) in its own task.

        `policy` None means the channel's default: DROP_OLDEST for market data, MARK_GAP for orders (the only
        policy orders accept, since any other would drop order events silently).
        """
        stream: MessageStream[Any]
        if channel == ORDERS:
            if policy not in (None, OverflowPolicy.MARK_GAP):
                raise ConfigurationError(f"order events are never dropped silently; {policy} is not allowed")
            stream = self.order_events(maxsize=maxsize)
        else:
            stream = self.stream(channel, maxsize=maxsize, policy=policy or OverflowPolicy.DROP_OLDEST)
        task = asyncio.get_running_loop().create_task(self._run(stream, callback))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return stream

    def _born(self, stream: MessageStream[Any]) -> MessageStream[Any]:
        if self._ended:
            stream.close(self._failure)
        return stream

    async def _run(self, stream: MessageStream[Any], callback: Callback) -> None:
        try:
            async for message in stream:
                try:
                    await callback(message)
                except Exception:
                    self._stats.callback_errors += 1
                    _log.exception("WebSocket callback failed; the stream goes on")
        except Exception as exc:  # the handler's failure ended the stream; the handler reports it
            _log.warning("WebSocket callback stopped: %s", exc)

    def publish(self, channel: str, message: Any) -> None:
        """Hand a message to every stream of its channel, without waiting."""
        for stream in self._streams.get(channel, ()):
            stream.put(message)

    def publish_orders(self, items: Iterable[OrderFeedItem]) -> None:
        """Hand order events and markers to every order stream, without waiting."""
        for item in items:
            for stream in self._order_streams:
                stream.put(item)

    def fail(self, error: BaseException) -> None:
        """The handler gave up: every stream, and any asked for later, ends with `error` after what is queued."""
        self._end(error)

    async def close(self, *, grace: float = 5.0) -> None:
        """End every stream and give the callbacks `grace` seconds to work through what is queued.

        A callback still running after that is cancelled: one stuck consumer must not hang shutdown.
        """
        self._end(None)
        if self._tasks:
            _, stuck = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in stuck:
                _log.warning("a WebSocket callback did not finish within %g s of close; cancelling it", grace)
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)

    def _end(self, error: BaseException | None) -> None:
        if not self._ended:
            self._ended, self._failure = True, error
        for streams in self._streams.values():
            for stream in streams:
                stream.close(error)
        for order_stream in self._order_streams:
            order_stream.close(error)


def _lagged(missed: int) -> LookAgain:
    return LookAgain(LookAgainReason.LAGGED, dropped=missed)


def _product_key(message: Any) -> Hashable:
    # Coalescing replaces a queued message of the same type and products (e.g. the latest ticker).
    events = getattr(message, "events", ())
    return type(message), tuple(getattr(event, "product_id", "") for event in events)
