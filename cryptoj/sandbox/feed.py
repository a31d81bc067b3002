"""The sandbox's WebSocket feed: the advanced-trade-ws protocol served from a `FeedSource`.

Per connection: a subscribe within 5 s or the connection closes; one channel per (un)subscribe message,
each answered by a `subscriptions` ack listing the whole set (after the channel's snapshot, as real traffic
orders them); heartbeats once a second; ONE `sequence_num` counter across channels from 0. Frames come in
the forms in force (`cryptoj.sandbox.forms`): real frames mostly lack `client_id` (fact 2) and carry 6 to 9
fraction digits in `timestamp` (fact 23); the documented forms carry all five envelope keys. A bad JWT (on
`user`, or on any channel that sends one) and an unknown channel both draw
``{"type":"error","message":"authentication failure"}``. The source's fault injector can drop the connection
or skip a sequence number before any frame.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from cryptoj.sandbox import feed_frames as wire
from cryptoj.sandbox.events import (
    BookChanged,
    CandleUpdated,
    FeedSource,
    OrderUpdated,
    SandboxEvent,
    TickerUpdated,
    TradePrinted,
)
from cryptoj.sandbox.forms import WireForms

__all__ = ["PUBLIC_CHANNELS", "serve_feed"]

PUBLIC_CHANNELS = frozenset({"heartbeats", "ticker", "ticker_batch", "level2", "market_trades", "candles", "status"})
_AUTH_FAILURE = "authentication failure"
_TICKER_BATCH_EVERY = 5  # heartbeat ticks between ticker_batch frames (Coinbase: every 5000 ms if changed)


class _Dropped(Exception):
    """The fault injector asked to drop the connection."""


async def serve_feed(
    websocket: WebSocket,
    source: FeedSource,
    *,
    heartbeat_interval: float = 1.0,
    subscribe_timeout: float = 5.0,
    forms: WireForms | None = None,
) -> None:
    """Serve one WebSocket connection from `source` until the client leaves or a fault drops it.

    `forms` says how frames are written (default: `WireForms()`, the default dialect); the exchange's app
    passes its own, so a dialect switched at run time reaches its open connections too.
    """
    await websocket.accept()
    connection = _FeedConnection(websocket, source, heartbeat_interval=heartbeat_interval, forms=forms or WireForms())
    await connection.serve(subscribe_timeout=subscribe_timeout)


class _FeedConnection:
    """One client's subscriptions, sequence counter and background tasks."""

    def __init__(
        self, websocket: WebSocket, source: FeedSource, *, heartbeat_interval: float, forms: WireForms
    ) -> None:
        self._ws = websocket
        self._source = source
        self._forms = forms
        self._interval = heartbeat_interval
        self._seq = 0
        self._lock = asyncio.Lock()  # one writer at a time, so sequence numbers go out in order
        self._subs: dict[str, set[str]] = {}
        self._owner: str | None = None
        self._heartbeat_counter = 0
        self._started = time.monotonic()
        self._pending_batch: dict[str, TickerUpdated] = {}
        self._queue: asyncio.Queue[SandboxEvent | None] | None = None
        self._dequeued = 0  # hub events taken from the queue so far: the index of the last one
        # (channel, product) -> index of the last hub event its snapshot already holds; "" for the user channel.
        self._snapshot_holds: dict[tuple[str, str], int] = {}

    async def serve(self, *, subscribe_timeout: float) -> None:
        try:
            try:
                first = await asyncio.wait_for(self._receive(), subscribe_timeout)
            except TimeoutError:
                await self._ws.close(code=1008, reason=f"no subscribe within {subscribe_timeout:g} s")
                return
            async with self._source.hub.subscribe() as queue:
                self._queue = queue
                tasks = [
                    asyncio.create_task(self._tick()),
                    asyncio.create_task(self._relay(queue)),
                    asyncio.create_task(self._read(first)),
                ]
                try:
                    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                error = next((t.exception() for t in done if not t.cancelled() and t.exception()), None)
                if isinstance(error, _Dropped):
                    await self._ws.close(code=1011, reason="connection dropped (fault injected)")
                elif isinstance(error, _FellBehind):
                    await self._ws.close(code=1011, reason="client fell behind")
                elif error is not None and not isinstance(error, WebSocketDisconnect | OSError):
                    # OSError: the server's "client disconnected" while a frame was being sent.
                    raise error
        except (WebSocketDisconnect, RuntimeError):
            # RuntimeError: starlette's "already closed" after the client went away first.
            return

    # --- sending --------------------------------------------------------------------------------------

    async def _send(self, channel: str, events: list[dict[str, Any]]) -> None:
        async with self._lock:
            await self._send_locked(channel, events)

    async def _send_locked(self, channel: str, events: list[dict[str, Any]]) -> None:
        if self._source.ws_fault("drop"):
            raise _Dropped
        if self._source.ws_fault("sequence_gap"):
            self._seq += 1  # a frame "lost" on the way
        forms = self._forms
        frame: dict[str, Any] = {"channel": channel}
        if forms.client_id():
            frame["client_id"] = ""
        nanos = forms.frame_nanos() if forms.real else 0
        frame["timestamp"] = self._style.time(self._source.now(), nanos=nanos)
        frame["sequence_num"] = self._seq
        frame["events"] = events
        self._seq += 1
        await self._ws.send_text(orjson.dumps(frame).decode())

    @property
    def _style(self) -> wire.FrameStyle:
        return wire.REAL_STYLE if self._forms.real else wire.DOCUMENTED_STYLE

    async def _send_error(self, message: str) -> None:
        async with self._lock:
            await self._ws.send_text(orjson.dumps({"type": "error", "message": message}).decode())

    # --- client messages ------------------------------------------------------------------------------

    async def _receive(self) -> str:
        """The next client message as text (a binary frame is read as UTF-8, then judged like any other)."""
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text: str | None = message.get("text")
        if text is None:
            text = bytes(message.get("bytes") or b"").decode("utf-8", "replace")
        return text

    async def _read(self, first: str) -> None:
        text = first
        while True:
            await self._on_message(text)
            text = await self._receive()

    async def _on_message(self, text: str) -> None:
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError:
            await self._send_error("malformed message: not JSON")
            return
        if not isinstance(body, dict) or body.get("type") not in ("subscribe", "unsubscribe"):
            await self._send_error("message type must be subscribe or unsubscribe")
            return
        channel = body.get("channel")
        products = body.get("product_ids")
        token = body.get("jwt")
        if channel not in PUBLIC_CHANNELS and channel != "user":
            await self._send_error(_AUTH_FAILURE)  # Coinbase answers an unknown channel like a bad JWT
            return
        if products is not None and (not isinstance(products, list) or not all(isinstance(p, str) for p in products)):
            await self._send_error("product_ids must be a list of strings")
            return
        owner = None
        if token is not None or channel == "user":
            try:
                owner = self._source.authenticate_ws(token if isinstance(token, str) else "")
            except ValueError:
                await self._send_error(_AUTH_FAILURE)
                return
        if body["type"] == "subscribe":
            await self._subscribe(channel, products or [], owner)
        else:
            await self._unsubscribe(channel, products)

    async def _subscribe(self, channel: str, products: list[str], owner: str | None) -> None:
        if channel not in ("heartbeats", "user"):
            unknown = sorted(set(products) - set(self._source.product_ids()))
            if unknown or not products:
                await self._send_error(f"Failed to subscribe: unknown product {', '.join(unknown) or '(none given)'}")
                return
        async with self._lock:
            # Snapshot, subscription and ack under one lock: no update can slip in before the snapshot.
            if channel == "user":
                self._owner = owner
            # Built, marked and subscribed with no await in between: a hub event already queued is in the
            # snapshot (and skipped later), one published while the snapshot is on the wire follows it.
            frames = self._snapshot_frames(channel, products)
            held = self._dequeued + (self._queue.qsize() if self._queue is not None else 0)
            for product_id in products if channel != "user" else [""]:
                self._snapshot_holds[(channel, product_id)] = held
            # heartbeats take no products; an empty user set means every product.
            self._subs.setdefault(channel, set()).update(products if channel != "heartbeats" else ())
            for name, events in frames:
                await self._send_locked(name, events)
            await self._send_locked("subscriptions", [{"subscriptions": self._ack_body()}])

    async def _unsubscribe(self, channel: str, products: list[str] | None) -> None:
        async with self._lock:
            current = self._subs.get(channel)
            if current is not None:
                if products is None:
                    del self._subs[channel]
                else:
                    current.difference_update(products)
                    if not current and channel != "heartbeats":
                        del self._subs[channel]
            await self._send_locked("subscriptions", [{"subscriptions": self._ack_body()}])

    def _ack_body(self) -> dict[str, list[str]]:
        body: dict[str, list[str]] = {}
        for channel, products in self._subs.items():
            if channel == "heartbeats":
                body[channel] = ["heartbeats"]
            elif channel == "user":
                body[channel] = [wire.user_id(self._owner or "")]
            else:
                # Real acks do not keep the requested order; sorted is one honest stable order.
                body[channel] = sorted(products)
        return body

    def _snapshot_frames(self, channel: str, products: list[str]) -> list[tuple[str, list[dict[str, Any]]]]:
        """The snapshot frames of a subscribe, as (channel, events), built from the exchange's state now."""
        source, style = self._source, self._style
        at = source.now()
        if channel == "level2":
            return [("l2_data", [wire.book_snapshot(source.book(p), at, style=style)]) for p in products]
        if channel == "market_trades":
            return [
                ("market_trades", [{"type": "snapshot", "trades": [wire.trade(t, style=style) for t in trades]}])
                for trades in (source.recent_trades(p, 100) for p in products)
            ]
        if channel == "candles":
            return [
                ("candles", [{"type": "snapshot", "candles": [wire.candle(c, style=style) for c in candles]}])
                for candles in (source.recent_candles(p, 100) for p in products)
            ]
        if channel in ("ticker", "ticker_batch"):
            tickers = [wire.ticker(source.ticker(p), style=style, best=channel == "ticker") for p in products]
            if style.real:
                # Fact 23: one product's ticker a frame, the snapshot one frame per product.
                return [(channel, [{"type": "snapshot", "tickers": [t]}]) for t in tickers]
            return [(channel, [{"type": "snapshot", "tickers": tickers}])]
        if channel == "status":
            wanted = set(products)
            bodies = [p for p in source.status_products() if p.get("id") in wanted]
            return [("status", [{"type": "snapshot", "products": bodies}])]
        if channel == "user" and self._owner is not None:
            orders = [o for o in source.open_orders(self._owner) if not products or o.get("product_id") in products]
            return [("user", [{"type": "snapshot", "orders": batch}]) for batch in wire.user_snapshot_batches(orders)]
        return []

    # --- background -----------------------------------------------------------------------------------

    async def _tick(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(self._interval)
            ticks += 1
            if "heartbeats" in self._subs:
                self._heartbeat_counter += 1
                uptime = time.monotonic() - self._started
                style = self._style
                nanos = self._forms.frame_nanos() if style.real else 0
                body = {
                    "current_time": style.current_time(self._source.now(), uptime=uptime, nanos=nanos),
                    "heartbeat_counter": style.counter(self._heartbeat_counter),
                }
                await self._send("heartbeats", [body])
            if ticks % _TICKER_BATCH_EVERY == 0 and self._pending_batch:
                pending, self._pending_batch = self._pending_batch, {}
                tickers = [wire.ticker(t, style=self._style, best=False) for t in pending.values()]
                if self._style.real:
                    for one in tickers:
                        await self._send("ticker_batch", [{"type": "update", "tickers": [one]}])
                else:
                    await self._send("ticker_batch", [{"type": "update", "tickers": tickers}])

    async def _relay(self, queue: asyncio.Queue[SandboxEvent | None]) -> None:
        while True:
            event = await queue.get()
            if event is None:
                raise _FellBehind
            self._dequeued += 1
            async with self._lock:
                # Decided under the lock: a subscribe in progress has finished its snapshot and marks.
                frame = self._frame_for(event, self._dequeued)
                if frame is not None:
                    await self._send_locked(*frame)

    def _frame_for(self, event: SandboxEvent, index: int) -> tuple[str, list[dict[str, Any]]] | None:
        """The update frame `event` makes for this client, or None (not subscribed, or already in a snapshot)."""
        subs, style = self._subs, self._style

        def fresh(channel: str, product_id: str) -> bool:
            return index > self._snapshot_holds.get((channel, product_id), 0)

        match event:
            case BookChanged() if event.product_id in subs.get("level2", ()) and fresh("level2", event.product_id):
                return "l2_data", [wire.book_update(event, style=style)]
            case TradePrinted() if event.product_id in subs.get("market_trades", ()) and fresh(
                "market_trades", event.product_id
            ):
                return "market_trades", [{"type": "update", "trades": [wire.trade(event, style=style)]}]
            case CandleUpdated() if event.product_id in subs.get("candles", ()) and fresh("candles", event.product_id):
                return "candles", [{"type": "update", "candles": [wire.candle(event, style=style)]}]
            case TickerUpdated():
                if event.product_id in subs.get("ticker_batch", ()):
                    self._pending_batch[event.product_id] = event
                if event.product_id in subs.get("ticker", ()):
                    return "ticker", [{"type": "update", "tickers": [wire.ticker(event, style=style)]}]
            case OrderUpdated() if "user" in subs and event.owner == self._owner and fresh("user", ""):
                wanted = subs["user"]
                if not wanted or event.order.get("product_id") in wanted:
                    return "user", [{"type": "update", "orders": [event.order]}]
            case _:
                pass
        return None


class _FellBehind(Exception):
    """The hub dropped this connection's queue: the client cannot keep up."""
