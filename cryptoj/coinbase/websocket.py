"""WebSocketHandler: one advanced-trade-ws connection kept alive, subscribed, and turned into typed messages.

It owns connect, subscribe (one channel per message, a fresh JWT each time when a key is set, heartbeats
always), reconnect with backoff and jitter, and resubscribe; each connection's frames are read by a
`ConnectionReader` (sequence check, level2 book upkeep and resyncs: see `ws_reader`). Consumers read bounded
`MessageStream`s or register async callbacks; neither can stall the reader. Level2 books live in `books`
(a `BookKeeper`) and are served only while trustworthy; order events come with `LookAgain` markers.

Every request is answered: `subscribe` returns once the server confirms it or raises `SubscriptionError`,
whenever it is called; a new connection resubscribes one channel at a time, each confirmed before the next.
When the handler gives up (`ReconnectExhausted`, or a subscription the server confirmed once and now
refuses), every stream, waiter and pending request ends with that error: nothing waits forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from cryptoj.coinbase._jitter import jitter as own_jitter
from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.ws_books import BookKeeper, BookState
from cryptoj.coinbase.ws_decode import FrameDecoder
from cryptoj.coinbase.ws_dispatch import Callback, Dispatcher
from cryptoj.coinbase.ws_errors import (
    HandlerClosed,
    HeartbeatTimeout,
    ReconnectExhausted,
    SnapshotTimeout,
    SubscriptionError,
)
from cryptoj.coinbase.ws_models import SubscriptionsMessage
from cryptoj.coinbase.ws_orders import OrderFeed
from cryptoj.coinbase.ws_policy import FrameSink, HandlerStats, ReconnectPolicy
from cryptoj.coinbase.ws_reader import ConnectionReader, ReaderParts
from cryptoj.coinbase.ws_resync import SnapshotWatch
from cryptoj.coinbase.ws_streams import MessageStream, OverflowPolicy
from cryptoj.coinbase.ws_subscriptions import Subscriber
from cryptoj.coinbase.ws_user import OrderFeedItem
from cryptoj.config import COINBASE_WS_MARKET_URL, COINBASE_WS_USER_URL
from cryptoj.errors import ConfigurationError

__all__ = [
    "AUTHENTICATED_CHANNELS",
    "DEFAULT_MAX_SIZE",
    "MARKET_DATA_URL",
    "USER_DATA_URL",
    "FrameSink",
    "HandlerStats",
    "ReconnectPolicy",
    "WebSocketHandler",
]

_log = logging.getLogger(__name__)

# Coinbase's endpoints are defined once, beside the settings that can override them.
MARKET_DATA_URL = COINBASE_WS_MARKET_URL
USER_DATA_URL = COINBASE_WS_USER_URL
# A level2 snapshot is one frame: 5.1 MB for BTC-USD in real traffic; websockets' 1 MiB default drops it.
DEFAULT_MAX_SIZE = 16 * 1024 * 1024
AUTHENTICATED_CHANNELS = frozenset({"user", "futures_balance_summary"})
# Failures after which the handler reconnects (closed connection, refused, handshake, silence, no snapshot).
_RECONNECTABLE = (ConnectionClosed, OSError, InvalidHandshake, TimeoutError, HeartbeatTimeout, SnapshotTimeout)


class WebSocketHandler:
    """A self-healing advanced-trade-ws connection with typed messages, level2 books and order events.

    Parameters:
        url: the endpoint (`MARKET_DATA_URL`, `USER_DATA_URL`, or a sandbox's ``ws://``/``wss://`` URL).
        key: a CDP key; subscribes carry a fresh JWT when set (the `user` channel requires one).
        reconnect: backoff and attempt cap; the defaults when None.
        heartbeat_timeout: seconds without a heartbeat before the connection is replaced.
        ack_timeout: seconds `subscribe`/`unsubscribe` (and each resubscribe) wait for the server's answer.
        snapshot_timeout: seconds a level2 subscribe or resync waits for its snapshot; one missed deadline
            asks again, a second replaces the connection.
        open_timeout: seconds for the opening handshake.
        max_size: the largest frame accepted (at least a full level2 snapshot).
        ssl: a TLS context for ``wss://`` (None: the system default).
        recorder: receives every raw frame before it is decoded.
        clock: monotonic seconds for book staleness and connection lifetimes.
        sleep: how backoff waits (tests pass one that returns at once).
        draw: uniform random numbers in [0, 1) for jitter.
    """

    def __init__(
        self,
        *,
        url: str = MARKET_DATA_URL,
        key: CdpKey | None = None,
        reconnect: ReconnectPolicy | None = None,
        heartbeat_timeout: float = 5.0,
        ack_timeout: float = 5.0,
        snapshot_timeout: float = 10.0,
        open_timeout: float = 10.0,
        max_size: int = DEFAULT_MAX_SIZE,
        ssl: ssl_module.SSLContext | None = None,
        recorder: FrameSink | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        draw: Callable[[], float] = own_jitter,
    ) -> None:
        self.url = url
        self._key = key
        self._policy = reconnect if reconnect is not None else ReconnectPolicy()
        self._open_timeout = open_timeout
        self._max_size = max_size
        self._ssl = ssl
        self._sleep = sleep
        self._draw = draw
        self._clock = clock
        self.books = BookKeeper(clock=clock)
        self.stats = HandlerStats()
        self._dispatch = Dispatcher(self.stats)
        self._orders = OrderFeed(self._dispatch, self.stats)
        self._subs = Subscriber(key=key, ack_timeout=ack_timeout, before_send=self._before_send)
        self._wanted = self._subs.wanted  # what the server confirmed, resubscribed after every reconnect
        self._acks = self._subs.acks
        self._snapshots = SnapshotWatch(timeout=snapshot_timeout)
        self._parts = ReaderParts(
            decoder=FrameDecoder(),
            books=self.books,
            snapshots=self._snapshots,
            subs=self._subs,
            orders=self._orders,
            dispatch=self._dispatch,
            stats=self.stats,
            recorder=recorder,
            heartbeat_timeout=heartbeat_timeout,
            on_ack=self._on_ack,
        )
        self._ws: ClientConnection | None = None
        self._generation = 0  # connections opened so far: tells a request whether its connection went
        self._connected = asyncio.Event()  # a connection is open and everything wanted is confirmed on it
        self._stop = asyncio.Event()  # set by close(): no more reconnects
        self._ended = asyncio.Event()  # closed, or failed with `_failure`: wakes whoever waits for a connection
        self._failure: BaseException | None = None
        self._run_task: asyncio.Task[None] | None = None
        self.server_subscriptions: dict[str, frozenset[str]] = {}  # the last ack's whole set

    def __repr__(self) -> str:
        # The key is deliberately absent: its name identifies the account.
        return (
            f"WebSocketHandler(url={self.url!r}, connected={self.connected}, channels={sorted(self._wanted.as_dict())})"
        )

    # --- consumers ------------------------------------------------------------------------------------

    def stream(
        self, channel: str, *, maxsize: int = 1000, policy: OverflowPolicy = OverflowPolicy.DROP_OLDEST
    ) -> MessageStream[Any]:
        """A bounded stream of a channel's typed messages (channel as subscribed: ``level2``, not ``l2_data``).

        ``error`` streams the server's unsolicited error frames. The stream ends after `close()`, or raises
        the error that ended the handler once what is queued has been read.
        """
        return self._dispatch.stream(channel, maxsize=maxsize, policy=policy)

    def order_events(self, *, maxsize: int = 10_000) -> MessageStream[OrderFeedItem]:
        """A bounded stream of the `user` channel's order events, with a `LookAgain` wherever one may be missing.

        The contract, for an order executor:

        - Each item is a `UserOrderEvent` (an order's status and cumulative totals as the channel reported
          them) or a `LookAgain` marker. The channel is a trigger to look, never the source of truth: answer
          a marker by reconciling open orders and their fills over REST. A marker comes after every event
          delivered before the gap and before any event after it.
        - Markers (`LookAgain.reason`): ``LAGGED`` when this consumer fell behind (`dropped` says how many
          items it missed; nothing more is queued until it has read up to the marker, so no event overtakes
          it); ``MALFORMED_ORDER`` when an order of a frame could not be read (`order_id` names it when it
          could be read; the other orders of the frame still come); ``MALFORMED_FRAME`` when a whole user
          frame could not be read; ``SEQUENCE_GAP`` when frames were lost on the connection; ``RECONNECT``
          once the user channel is confirmed on a new connection after one was lost (an order that finished
          meanwhile is in no snapshot, so only REST shows it).
        - Fills: `UserOrderEvent.new_fill` has no trade id and cannot be deduplicated; it says when to read
          the order's fills over REST, which are booked by trade id.
        - Nothing is dropped silently. The stream ends after `close()`, or raises the error that ended the
          handler (`ReconnectExhausted`, `SubscriptionError`) once its queue has been read.
        """
        return self._dispatch.order_events(maxsize=maxsize)

    def on(
        self,
        channel: str,
        callback: Callback,
        *,
        maxsize: int = 1000,
        policy: OverflowPolicy | None = None,
    ) -> MessageStream[Any]:
        """Call `callback` with each message of `channel` (``orders`` for order events) from its own task.

        `policy` None is the channel's default: DROP_OLDEST, or MARK_GAP for ``orders`` (the only one they
        accept: see `order_events`, whose items, markers included, the callback then receives).
        """
        return self._dispatch.on(channel, callback, maxsize=maxsize, policy=policy)

    # --- subscriptions --------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether a connection is open and every subscription kept is confirmed on it."""
        return self._connected.is_set()

    @property
    def subscriptions(self) -> dict[str, frozenset[str]]:
        """What the handler keeps subscribed (and resubscribes after a reconnect): what the server confirmed."""
        return self._wanted.as_dict()

    async def wait_connected(self) -> None:
        """Wait until a connection is open and every subscription kept is confirmed (wrap in `asyncio.timeout`).

        Raises the error that ended the handler (e.g. `ReconnectExhausted`), or `HandlerClosed`, instead of
        waiting forever.
        """
        await self._open()

    async def subscribe(self, channel: str, product_ids: Iterable[str] = ()) -> None:
        """Subscribe to a channel and keep it across reconnects; returns once the server has confirmed it.

        Called before the connection is open (right after entering the handler, or after `start()`), it
        waits for the connection; a request whose connection drops before the answer is asked again on the
        next one. Raises `SubscriptionError` when the server refuses it (a bad product; an unknown channel
        and an untrusted key both draw "authentication failure") or does not answer within `ack_timeout`:
        the subscription is then not kept. Raises the error that ended the handler, or `HandlerClosed`, if
        the handler stops first.
        """
        if channel in AUTHENTICATED_CHANNELS and self._key is None:
            raise ConfigurationError(f"the {channel!r} channel needs an API key")
        products = sorted(set(product_ids))
        # Only new products await a snapshot: a repeated subscribe may bring none for a synced book.
        fresh = [p for p in products if self.books.state(p) is None] if channel == "level2" else []
        self.books.expect(fresh)
        try:
            await self._request_subscribe(channel, products)
        except BaseException:
            dropped = [p for p in fresh if p not in self._wanted.products("level2")]
            self.books.forget(dropped)
            self._snapshots.forget(dropped)
            raise

    async def _request_subscribe(self, channel: str, products: list[str]) -> None:
        while True:
            ws = await self._open()
            generation = self._generation
            try:
                answer = await self._subs.ask(ws.send, "subscribe", channel, products)
            except TimeoutError:
                raise SubscriptionError(channel, f"no answer within {self._acks.timeout:g} s") from None
            if answer is not None:
                # Kept at once, with no await since the answer: a reconnect from now on resubscribes it.
                self._wanted.add(channel, products)
                self._confirmed(channel)
                if generation == self._generation:
                    return
            # The connection ended before answering, or right after (its successor may have resubscribed
            # without it): ask on the next one. A request its last ack already answers is not sent again.

    async def unsubscribe(self, channel: str, product_ids: Iterable[str] | None = None) -> None:
        """Unsubscribe from some products of a channel, or from the whole channel when `product_ids` is None.

        Heartbeats cannot be unsubscribed (`ConfigurationError`): they are the liveness check, and without
        them every heartbeat timeout would replace a healthy connection. Raises `SubscriptionError` when the
        server refuses or does not answer; while disconnected there is nothing to send.
        """
        if channel == "heartbeats":
            raise ConfigurationError("heartbeats cannot be unsubscribed: they are the handler's liveness check")
        removed = self._wanted.remove(channel, product_ids)
        if channel == "level2":
            self.books.forget(removed)
            self._snapshots.forget(removed)
        ws = self._ws
        if ws is None or not self._connected.is_set():
            return  # the next connection subscribes only what is wanted
        try:
            # None: the connection went first, and the next one subscribes only what is wanted.
            await self._subs.ask(ws.send, "unsubscribe", channel, None if product_ids is None else sorted(removed))
        except TimeoutError:
            raise SubscriptionError(channel, f"no answer within {self._acks.timeout:g} s") from None

    def _before_send(self, kind: str, channel: str, products: list[str] | None) -> None:
        if kind == "subscribe" and channel == "level2" and products:
            # The server answers with a snapshot of each product whose book is not in sync: wait for it.
            waiting = [p for p in products if self.books.state(p) not in (None, BookState.SYNCED)]
            self._snapshots.asked(waiting, now=asyncio.get_running_loop().time())

    def _confirmed(self, channel: str) -> None:
        if channel == "user":
            self._orders.confirmed()

    async def _open(self) -> ClientConnection:
        """The open, confirmed connection; waits for one, or raises what ended the handler."""
        while True:
            if self._failure is not None:
                raise self._failure
            if self._stop.is_set():
                raise HandlerClosed
            ws = self._ws
            if ws is not None and self._connected.is_set():
                return ws
            await _first_of(self._connected.wait(), self._ended.wait())

    # --- lifecycle ------------------------------------------------------------------------------------

    async def __aenter__(self) -> WebSocketHandler:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        failure = await self.close()
        if failure is not None and exc is None:
            raise failure

    def start(self) -> asyncio.Task[None]:
        """Run the connection in a background task (see `run`)."""
        if self._run_task is None or self._run_task.done():
            self._run_task = asyncio.get_running_loop().create_task(self.run())
        return self._run_task

    async def close(self) -> BaseException | None:
        """Shut down cleanly: close the connection, end every stream and callback, stop `run`.

        Returns the error that had already ended `run` (e.g. `ReconnectExhausted`), if any. Whoever waits
        on the handler afterwards gets `HandlerClosed`.
        """
        self._stop.set()
        self._ended.set()
        ws = self._ws
        if ws is not None:
            await ws.close()
        task = self._run_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif task is not None and not task.cancelled():
            task.exception()  # retrieved here, so asyncio does not report it as never retrieved
        await self._dispatch.close()
        return self._failure

    async def run(self) -> None:
        """Connect, subscribe and read until `close()`; reconnect after drops, closes and missed heartbeats.

        Raises `ReconnectExhausted` after the policy's cap of consecutive failed attempts, and
        `SubscriptionError` when the server refuses a resubscribe; either ends every stream and waiter too,
        for good: running a failed handler again raises the same error (make a new handler).
        """
        if self._failure is not None:
            raise self._failure
        try:
            await self._run()
        except Exception as exc:
            self._failure = exc
            self._ended.set()
            self._dispatch.fail(exc)
            raise

    async def _run(self) -> None:
        failures = 0
        last_error = ""
        while not self._stop.is_set():
            reader: ConnectionReader | None = None
            opened_at: float | None = None
            try:
                async with connect(
                    self.url,
                    max_size=self._max_size,
                    open_timeout=self._open_timeout,
                    ssl=self._ssl,
                    additional_headers={"x-cb-retry-counter": str(failures)} if failures else None,
                    ping_interval=None,  # Coinbase's heartbeats channel is the liveness check
                ) as ws:
                    self.stats.connects += 1
                    opened_at = self._clock()
                    reader = ConnectionReader(ws, self._parts)
                    await self._serve(ws, reader)
            except _RECONNECTABLE as exc:
                last_error = _describe(exc)
                if isinstance(exc, HeartbeatTimeout):
                    self.stats.heartbeat_timeouts += 1
            except InvalidURI as exc:
                raise ConfigurationError(f"bad WebSocket URL {self.url!r}: {exc}") from None
            finally:
                self._on_disconnect()
            if self._stop.is_set():
                break
            # A connection that delivered live data, or stayed up delivering frames, ends a run of failures;
            # one that died before either extends it (a frame that kills every connection after its snapshot
            # must not reconnect forever, and a feed that is merely cut often must not exhaust the cap).
            lived = self._clock() - opened_at if opened_at is not None else 0.0
            stable = reader is not None and reader.healthy and lived >= self._policy.stable_after
            failures = 1 if stable or (reader is not None and reader.productive) else failures + 1
            if failures >= self._policy.max_attempts:
                raise ReconnectExhausted(failures, last_error)
            wait = self._policy.delay(max(failures, 1), self._draw())
            _log.warning("WebSocket connection lost (%s); reconnecting in %.2f s", last_error, wait)
            await self._sleep(wait)

    async def _serve(self, ws: ClientConnection, reader: ConnectionReader) -> None:
        """Read a new connection while resubscribing it; connected once every subscription is confirmed.

        A resubscribe the server refuses raises `SubscriptionError`, which ends the handler: it cannot keep
        what it promised, and retrying a bad key or product would only hide that.
        """
        self._ws = ws
        self._generation += 1
        self.server_subscriptions = {}
        self._orders.connection_opened()
        self._acks.open()
        reading = asyncio.get_running_loop().create_task(self._read(reader))
        try:
            if await self._subs.resubscribe(ws.send, confirmed=self._confirmed) and not reading.done():
                self._connected.set()
            await reading  # an exception always ends it
        finally:
            if not reading.done():
                reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, *_RECONNECTABLE):
                await reading

    async def _read(self, reader: ConnectionReader) -> None:
        try:
            await reader.run()
        finally:
            # Whoever waits for an answer on this connection hears now that none will come.
            self._connected.clear()
            self._acks.abandon()

    def _on_ack(self, message: SubscriptionsMessage) -> None:
        self.server_subscriptions = message.current
        self._acks.on_ack(message)

    def _on_disconnect(self) -> None:
        self._ws = None
        self._connected.clear()
        self.books.disconnect()
        self._snapshots.clear()
        self._acks.abandon()
        self._orders.connection_ended(subscribed="user" in self._wanted)


async def _first_of(*waits: Awaitable[Any]) -> None:
    """Wait until the first of `waits` is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _describe(exc: BaseException) -> str:
    # websockets' text names close codes ("sent 1009 (message too big)"); none of our errors carry secrets.
    return f"{type(exc).__name__}: {exc}"
