"""One connection's frames, read until it fails: sequence check, books and resyncs, snapshot deadlines, dispatch.

The sequence counter is one per connection across every channel, from 0. A jump means frames were lost on
some channel, so every level2 book is resynchronised (unsubscribe + subscribe brings a fresh snapshot) and
the user channel is resubscribed, with a `LookAgain` in the order streams. A frame whose body fails to
decode still used up its number (`ws_salvage` reads it), so it causes no false gap. A snapshot asked for and
not received in time is asked again; missed twice, the connection is replaced (`SnapshotTimeout`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection

from cryptoj.coinbase.ws_books import BookKeeper
from cryptoj.coinbase.ws_decode import FrameDecoder
from cryptoj.coinbase.ws_dispatch import Dispatcher
from cryptoj.coinbase.ws_errors import FrameError, HeartbeatTimeout, SnapshotTimeout
from cryptoj.coinbase.ws_models import (
    ErrorFrame,
    HeartbeatsMessage,
    L2Message,
    SubscriptionsMessage,
    UserMessage,
    WsMessage,
)
from cryptoj.coinbase.ws_orders import OrderFeed
from cryptoj.coinbase.ws_policy import FrameSink, HandlerStats
from cryptoj.coinbase.ws_resync import SnapshotWatch
from cryptoj.coinbase.ws_salvage import salvage
from cryptoj.coinbase.ws_subscriptions import Subscriber

__all__ = ["ConnectionReader", "ReaderParts"]

_log = logging.getLogger(__name__)

# Wire channel name -> the name subscribed to (level2 frames say "l2_data").
_SUBSCRIBED_NAME = {"l2_data": "level2"}


@dataclass(frozen=True, kw_only=True)
class ReaderParts:
    """What every connection's reader shares with its handler (built once per handler)."""

    decoder: FrameDecoder
    books: BookKeeper
    snapshots: SnapshotWatch
    subs: Subscriber
    orders: OrderFeed
    dispatch: Dispatcher
    stats: HandlerStats
    recorder: FrameSink | None
    heartbeat_timeout: float  # seconds without a heartbeat before the connection is given up
    on_ack: Callable[[SubscriptionsMessage], None]  # a subscriptions ack arrived


class ConnectionReader:
    """Reads one connection until it fails, and remembers what it delivered.

    Parameters:
        ws: the connection.
        parts: what it shares with the handler.
    """

    def __init__(self, ws: ClientConnection, parts: ReaderParts) -> None:
        self._ws = ws
        self._p = parts
        self._last_seq = -1
        self.healthy = False  # it delivered at least one good frame
        self.productive = False  # ... and live data (an update), not only opening snapshots, acks, heartbeats

    async def run(self) -> None:
        """Read frames until the connection fails: an exception always ends it."""
        p = self._p
        loop = asyncio.get_running_loop()
        heartbeat_due = loop.time() + p.heartbeat_timeout
        while True:
            due = heartbeat_due
            if p.snapshots:
                due = min(due, p.snapshots.next_due() or due)
            try:
                # asyncio.timeout, not wait_for: no task per frame; cancelling recv() loses nothing.
                async with asyncio.timeout_at(due):
                    frame = await self._ws.recv()
            except TimeoutError:
                if loop.time() >= heartbeat_due:
                    raise HeartbeatTimeout(p.heartbeat_timeout) from None
                await self._snapshots_overdue()
                continue
            p.stats.frames += 1
            if p.recorder is not None:
                p.recorder.record(frame)
            try:
                message = p.decoder.decode(frame)
            except FrameError as exc:
                p.stats.decode_errors += 1
                _log.warning("%s", exc)
                await self._undecodable(frame)
                continue
            if isinstance(message, ErrorFrame):
                self._error_frame(message)
                continue
            if not await self._in_sequence(message.sequence_num):
                continue
            if isinstance(message, HeartbeatsMessage):
                heartbeat_due = loop.time() + p.heartbeat_timeout
            self.healthy = True
            await self._handle(message)

    async def _in_sequence(self, sequence_num: int) -> bool:
        """Check a frame's number: False for a stale frame (dropped); a gap resyncs before True."""
        last = self._last_seq
        if sequence_num <= last:
            self._p.stats.out_of_order += 1
            return False
        self._last_seq = sequence_num
        if sequence_num > last + 1:
            self._p.stats.sequence_gaps += 1
            _log.warning("sequence gap: %d after %d; resynchronising", sequence_num, last)
            await self._resync(self._p.books.product_ids, user=True)
        return True

    async def _resync(self, product_ids: list[str], *, user: bool) -> None:
        p = self._p
        if product_ids:
            p.stats.resyncs += 1
            p.books.expect(product_ids)
            p.snapshots.asked(product_ids, now=asyncio.get_running_loop().time())
            await self._ws.send(p.subs.message("unsubscribe", "level2", sorted(product_ids)))
            await self._ws.send(p.subs.message("subscribe", "level2", sorted(product_ids)))
        if user:
            subscribed = "user" in p.subs.wanted
            p.orders.gap(subscribed=subscribed)
            if subscribed:
                products = sorted(p.subs.wanted.products("user"))
                await self._ws.send(p.subs.message("subscribe", "user", products))

    async def _snapshots_overdue(self) -> None:
        p = self._p
        again, spent = p.snapshots.overdue(asyncio.get_running_loop().time())
        if spent:
            p.stats.snapshot_timeouts += 1
            raise SnapshotTimeout(spent, p.snapshots.timeout)
        if again:
            _log.warning("no level2 snapshot for %s in %g s; asking again", ", ".join(again), p.snapshots.timeout)
            await self._resync(again, user=False)

    async def _undecodable(self, frame: str | bytes) -> None:
        """Account for a frame the decoder refused: its sequence number, a lost book update, lost user orders."""
        found = salvage(frame)
        if found is None:
            return  # no sequence number: the next frame's check tells whether one was used up
        if not await self._in_sequence(found.sequence_num):
            return
        books = self._p.books
        if found.channel == "l2_data":
            # A level2 update was lost: the books it names (all, when none can be read) are stale.
            named = books.product_ids if found.product_ids is None else sorted(found.product_ids)
            await self._resync([p for p in named if books.state(p) is not None], user=False)
        elif found.channel == "user":
            self._p.orders.salvaged(found)
            if found.user is not None:
                self._p.dispatch.publish("user", found.user)

    def _error_frame(self, frame: ErrorFrame) -> None:
        p = self._p
        if p.subs.acks.on_error(frame):
            return
        p.stats.error_frames += 1
        _log.warning("server sent an error frame: %s", frame.message)
        p.dispatch.publish("error", frame)

    async def _handle(self, message: WsMessage) -> None:
        p = self._p
        if not self.productive and _delivers_updates(message):
            self.productive = True
        if isinstance(message, L2Message):
            if p.snapshots:
                for event in message.events:
                    if event.type == "snapshot":
                        p.snapshots.answered(event.product_id)
            broken = p.books.apply(message)
            if broken:
                await self._resync(broken, user=False)
        elif isinstance(message, SubscriptionsMessage):
            p.on_ack(message)
        elif isinstance(message, UserMessage):
            p.orders.frame(message)
        channel = str(type(message).__struct_config__.tag)
        p.dispatch.publish(_SUBSCRIBED_NAME.get(channel, channel), message)


def _delivers_updates(message: WsMessage) -> bool:
    """Whether a message carries live data (an update), not only an opening snapshot, an ack or a heartbeat."""
    if isinstance(message, HeartbeatsMessage | SubscriptionsMessage):
        return False
    return any(event.type == "update" for event in message.events)
