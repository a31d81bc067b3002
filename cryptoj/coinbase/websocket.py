"""WebSocketHandler: one advanced-trade-ws connection kept alive, subscribed, and turned into typed messages.

It owns connect, subscribe (one channel per message, a fresh JWT each time when a key is set, heartbeats
always), the per-connection sequence check, level2 book upkeep, reconnect with backoff and jitter, and
resubscribe. Consumers read bounded `MessageStream`s or register async callbacks; neither can stall the
reader. Level2 books live in `books` (a `BookKeeper`) and are served only while trustworthy.

Sequence numbers: real traffic shows ONE counter per connection across all channels, from 0. A jump means
frames were lost on some channel, so every level2 book is resynchronised (unsubscribe + subscribe brings a
fresh snapshot) and the user channel is resubscribed (its snapshot reveals fills missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl as ssl_module
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.ws_books import BookKeeper
from cryptoj.coinbase.ws_decode import FrameDecoder
from cryptoj.coinbase.ws_dispatch import Callback, Dispatcher
from cryptoj.coinbase.ws_errors import (
    FrameError,
    HeartbeatTimeout,
    ReconnectExhausted,
    SubscriptionError,
)
from cryptoj.coinbase.ws_models import (
    ErrorFrame,
    HeartbeatsMessage,
    L2Message,
    SubscriptionsMessage,
    UserMessage,
    WsMessage,
)
from cryptoj.coinbase.ws_policy import FrameSink, HandlerStats, ReconnectPolicy
from cryptoj.coinbase.ws_streams import MessageStream, OverflowPolicy
from cryptoj.coinbase.ws_subscriptions import (
    AckMatch,
    AckWaiter,
    SubscriptionSet,
    request_message,
    subscribe_answered,
    unsubscribe_answered,
)
from cryptoj.coinbase.ws_user import UserOrderEvent, UserOrderTracker
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
# Wire channel name -> the name subscribed to (level2 frames say "l2_data").
_SUBSCRIBED_NAME = {"l2_data": "level2"}
# Failures after which the handler reconnects (closed connection, refused, handshake, silence).
_RECONNECTABLE = (ConnectionClosed, OSError, InvalidHandshake, TimeoutError, HeartbeatTimeout)


class WebSocketHandler:
    """A self-healing advanced-trade-ws connection with typed messages, level2 books and order events.

    Parameters:
        url: the endpoint (`MARKET_DATA_URL`, `USER_DATA_URL`, or a sandbox's ``ws://``/``wss://`` URL).
        key: a CDP key; subscribes carry a fresh JWT when set (the `user` channel requires one).
        reconnect: backoff and attempt cap; the defaults when None.
        heartbeat_timeout: seconds without a heartbeat before the connection is replaced.
        ack_timeout: seconds `subscribe`/`unsubscribe` wait for the server's answer.
        open_timeout: seconds for the opening handshake.
        max_size: the largest frame accepted (at least a full level2 snapshot).
        ssl: a TLS context for ``wss://`` (None: the system default).
        recorder: receives every raw frame before it is decoded.
        clock: monotonic seconds for book staleness.
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
        open_timeout: float = 10.0,
        max_size: int = DEFAULT_MAX_SIZE,
        ssl: ssl_module.SSLContext | None = None,
        recorder: FrameSink | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.url = url
        self._key = key
        self._policy = reconnect if reconnect is not None else ReconnectPolicy()
        self._heartbeat_timeout = heartbeat_timeout
        self._open_timeout = open_timeout
        self._max_size = max_size
        self._ssl = ssl
        self._recorder = recorder
        self._sleep = sleep
        self._draw = draw
        self._clock = clock
        self._decoder = FrameDecoder()
        self.books = BookKeeper(clock=clock)
        self.stats = HandlerStats()
        self._orders = UserOrderTracker()
        self._wanted = SubscriptionSet()
        self._dispatch = Dispatcher(self.stats)
        self._ws: ClientConnection | None = None
        self._last_seq = -1
        self._acks = AckWaiter(timeout=ack_timeout)
        self._connected = asyncio.Event()
        self._stop = asyncio.Event()  # set by close(): no more reconnects
        self._run_task: asyncio.Task[None] | None = None
        self._healthy = False  # the current connection delivered at least one good frame
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

        ``error`` streams the server's unsolicited error frames.
        """
        return self._dispatch.stream(channel, maxsize=maxsize, policy=policy)

    def order_events(
        self, *, maxsize: int = 10_000, policy: OverflowPolicy = OverflowPolicy.DROP_NEWEST
    ) -> MessageStream[UserOrderEvent]:
        """A bounded stream of domain order events from the `user` channel."""
        return self._dispatch.order_events(maxsize=maxsize, policy=policy)

    def on(
        self,
        channel: str,
        callback: Callback,
        *,
        maxsize: int = 1000,
        policy: OverflowPolicy = OverflowPolicy.DROP_OLDEST,
    ) -> MessageStream[Any]:
        """Call `callback` with each message of `channel` (``orders`` for order events) from its own task."""
        return self._dispatch.on(channel, callback, maxsize=maxsize, policy=policy)

    # --- subscriptions --------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether a connection is open and subscribed."""
        return self._connected.is_set()

    @property
    def subscriptions(self) -> dict[str, frozenset[str]]:
        """What the handler keeps subscribed (and resubscribes after a reconnect)."""
        return self._wanted.as_dict()

    async def wait_connected(self) -> None:
        """Wait until a connection is open and every subscription has been sent (wrap in `asyncio.timeout`)."""
        await self._connected.wait()

    async def subscribe(self, channel: str, product_ids: Iterable[str] = ()) -> None:
        """Subscribe to a channel now (when connected) and after every reconnect.

        Raises `SubscriptionError` when the server answers with an error frame (a bad JWT or an unknown
        channel); the channel is then not kept.
        """
        if channel in AUTHENTICATED_CHANNELS and self._key is None:
            raise ConfigurationError(f"the {channel!r} channel needs an API key")
        products = sorted(set(product_ids))
        before = self._wanted.add(channel, products)
        if channel == "level2":
            # Only new products await a snapshot: a repeated subscribe may bring none for a synced book.
            self.books.expect(set(products) - (before or set()))
        try:
            await self._request("subscribe", channel, products, subscribe_answered(channel, products))
        except SubscriptionError:
            self._wanted.restore(channel, before)
            if channel == "level2":
                self.books.forget(set(products) - (before or set()))
            raise

    async def unsubscribe(self, channel: str, product_ids: Iterable[str] | None = None) -> None:
        """Unsubscribe from some products of a channel, or from the whole channel when `product_ids` is None."""
        removed = self._wanted.remove(channel, product_ids)
        if channel == "level2":
            self.books.forget(removed)
        if product_ids is None:
            await self._request("unsubscribe", channel, None, unsubscribe_answered(channel, None))
        else:
            await self._request("unsubscribe", channel, sorted(removed), unsubscribe_answered(channel, removed))

    async def _request(self, kind: str, channel: str, products: list[str] | None, answered: AckMatch) -> None:
        ws = self._ws
        if ws is None or not self._connected.is_set():
            return  # sent on the next (re)connect
        message = self._message(kind, channel, products)
        try:
            answer = await self._acks.request(lambda: ws.send(message), answered)
        except ConnectionClosed:
            return  # the reconnect resubscribes
        except TimeoutError:
            raise SubscriptionError(channel, f"no answer within {self._acks.timeout:g} s") from None
        if isinstance(answer, ErrorFrame):
            raise SubscriptionError(channel, answer.message)

    def _message(self, kind: str, channel: str, products: list[str] | None) -> str:
        return request_message(kind, channel, products, key=self._key)

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

        Returns the error that had already ended the background `run` (e.g. `ReconnectExhausted`), if any.
        """
        self._stop.set()
        ws = self._ws
        if ws is not None:
            await ws.close()
        task = self._run_task
        failure: BaseException | None = None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif task is not None and not task.cancelled():
            failure = task.exception()
        await self._dispatch.close()
        return failure

    async def run(self) -> None:
        """Connect, subscribe and read until `close()`; reconnect after drops, closes and missed heartbeats.

        Raises `ReconnectExhausted` after the policy's cap of consecutive failed attempts.
        """
        failures = 0
        last_error = ""
        while not self._stop.is_set():
            self._healthy = False
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
                    self._ws = ws
                    self._last_seq = -1  # the counter restarts with each connection
                    await self._resubscribe(ws)
                    self._connected.set()
                    await self._read(ws)
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
            # A connection that stayed up delivering frames ends a run of failures; a short-lived one extends it.
            stable = self._healthy and opened_at is not None and self._clock() - opened_at >= self._policy.stable_after
            failures = 1 if stable else failures + 1
            if failures >= self._policy.max_attempts:
                raise ReconnectExhausted(failures, last_error)
            wait = self._policy.delay(max(failures, 1), self._draw())
            _log.warning("WebSocket connection lost (%s); reconnecting in %.2f s", last_error, wait)
            await self._sleep(wait)

    async def _resubscribe(self, ws: ClientConnection) -> None:
        # Loop until nothing new: a subscribe() made while these sends await is recorded, not sent, since
        # the handler is not "connected" yet; no await separates the last check from setting connected.
        sent: dict[str, frozenset[str]] = {}
        while unsent := {c: p for c, p in self._wanted.as_dict().items() if sent.get(c) != p}:
            for channel, products in unsent.items():
                await ws.send(self._message("subscribe", channel, sorted(products)))
                sent[channel] = products

    def _on_disconnect(self) -> None:
        self._ws = None
        self._connected.clear()
        self.books.disconnect()
        self._acks.abandon()

    async def _read(self, ws: ClientConnection) -> None:
        """Read frames until the connection fails (an exception always ends it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._heartbeat_timeout
        while True:
            try:
                # asyncio.timeout, not wait_for: no task per frame; cancelling recv() loses nothing.
                async with asyncio.timeout_at(deadline):
                    frame = await ws.recv()
            except TimeoutError:
                raise HeartbeatTimeout(self._heartbeat_timeout) from None
            self.stats.frames += 1
            if self._recorder is not None:
                self._recorder.record(frame)
            try:
                message = self._decoder.decode(frame)
            except FrameError as exc:
                self.stats.decode_errors += 1
                _log.warning("%s", exc)
                continue
            if isinstance(message, ErrorFrame):
                self._on_error_frame(message)
                continue
            if not await self._check_sequence(ws, message.sequence_num):
                continue
            if isinstance(message, HeartbeatsMessage):
                deadline = loop.time() + self._heartbeat_timeout
            self._healthy = True
            await self._handle(ws, message)

    async def _check_sequence(self, ws: ClientConnection, sequence_num: int) -> bool:
        last = self._last_seq
        if sequence_num <= last:
            self.stats.out_of_order += 1
            return False
        self._last_seq = sequence_num
        if sequence_num > last + 1:
            self.stats.sequence_gaps += 1
            _log.warning("sequence gap: %d after %d; resynchronising", sequence_num, last)
            await self._resync(ws, self.books.product_ids, user=True)
        return True

    async def _resync(self, ws: ClientConnection, product_ids: list[str], *, user: bool) -> None:
        if product_ids and "level2" in self._wanted:
            self.stats.resyncs += 1
            self.books.expect(product_ids)
            await ws.send(self._message("unsubscribe", "level2", sorted(product_ids)))
            await ws.send(self._message("subscribe", "level2", sorted(product_ids)))
        if user and "user" in self._wanted:
            await ws.send(self._message("subscribe", "user", sorted(self._wanted.products("user"))))

    def _on_error_frame(self, frame: ErrorFrame) -> None:
        if self._acks.on_error(frame):
            return
        self.stats.error_frames += 1
        _log.warning("server sent an error frame: %s", frame.message)
        self._dispatch.publish("error", frame)

    async def _handle(self, ws: ClientConnection, message: WsMessage) -> None:
        if isinstance(message, L2Message):
            broken = self.books.apply(message)
            if broken:
                await self._resync(ws, broken, user=False)
        elif isinstance(message, SubscriptionsMessage):
            self.server_subscriptions = message.current
            self._acks.on_ack(message)
        elif isinstance(message, UserMessage):
            try:
                events = self._orders.events(message)
            except FrameError as exc:
                self.stats.decode_errors += 1
                _log.warning("%s", exc)
                events = []
            self._dispatch.publish_orders(events)
        channel = type(message).__struct_config__.tag
        self._dispatch.publish(_SUBSCRIBED_NAME.get(str(channel), str(channel)), message)


def _describe(exc: BaseException) -> str:
    # websockets' text names close codes ("sent 1009 (message too big)"); none of our errors carry secrets.
    return f"{type(exc).__name__}: {exc}"
