"""The feed's snapshot and the updates around it: none lost, none stale, whatever the exchange does meanwhile.

A fake transport at the edge (a starlette-like WebSocket whose send yields to the loop, as a real one may)
and a fake exchange whose book changes right as the snapshot is taken make the interleaving deterministic.
"""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cryptoj.domain.book import BookSide, OrderBook
from cryptoj.sandbox.events import BookChanged
from cryptoj.sandbox.feed import serve_feed
from tests.utils.fixtures.websocket import FIXED_NOW, FakeFeedSource

STALE = (BookSide.BID, Decimal("1.00"), Decimal("7"))  # already in the snapshot when it is sent
FRESH = (BookSide.BID, Decimal("2.00"), Decimal("9"))  # happens while the snapshot is on the wire


@dataclass
class YieldingSocket:
    """The starlette WebSocket calls serve_feed makes; `send_text` yields, like a socket under load."""

    subscribe: dict[str, Any]
    sent: list[dict[str, Any]] = field(default_factory=list)
    leave: asyncio.Event = field(default_factory=asyncio.Event)
    _first: bool = True

    async def accept(self) -> None:
        return None

    async def receive(self) -> dict[str, Any]:
        if self._first:
            self._first = False
            return {"type": "websocket.receive", "text": json.dumps(self.subscribe)}
        await self.leave.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))
        for _ in range(3):  # a large frame drains over several turns of the loop
            await asyncio.sleep(0)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.leave.set()


class ChangingSource(FakeFeedSource):
    """A fake exchange whose BTC-USD book changes as the feed reads it for a snapshot."""

    def book(self, product_id: str) -> OrderBook:
        live = self.books[product_id]
        self._change(live, STALE)  # published before the snapshot is built: the snapshot holds it
        snapshot = copy.deepcopy(live)
        asyncio.get_running_loop().call_soon(self._change, live, FRESH)  # after the build, before the ack
        return snapshot

    def _change(self, book: OrderBook, change: tuple[BookSide, Decimal, Decimal]) -> None:
        book.apply_update(*change)
        self.hub.publish(BookChanged(product_id=book.product_id, changes=(change,), time=FIXED_NOW))


async def _serve_until_acked(source: FakeFeedSource) -> list[dict[str, Any]]:
    socket = YieldingSocket({"type": "subscribe", "channel": "level2", "product_ids": ["BTC-USD"]})
    server = asyncio.create_task(serve_feed(socket, source, heartbeat_interval=60))  # type: ignore[arg-type]
    for _ in range(200):
        if sum(frame["channel"] == "l2_data" for frame in socket.sent) >= 2:
            break
        await asyncio.sleep(0.005)
    socket.leave.set()
    await asyncio.wait_for(server, 2)
    return socket.sent


def _levels(frame: dict[str, Any]) -> list[tuple[str, Decimal, Decimal]]:
    # Read as numbers: real frames write "1" where the documented ones write "1.00" (fact 23).
    return [(u["side"], Decimal(u["price_level"]), Decimal(u["new_quantity"])) for u in frame["events"][0]["updates"]]


async def test_a_change_made_while_the_snapshot_is_sent_follows_it_and_one_already_in_it_does_not() -> None:
    sent = await _serve_until_acked(ChangingSource(levels=5))
    book_frames = [frame for frame in sent if frame["channel"] == "l2_data"]
    snapshot, *updates = book_frames
    assert snapshot["events"][0]["type"] == "snapshot"
    assert ("bid", Decimal("1.00"), Decimal("7")) in _levels(snapshot)
    assert ("bid", Decimal("2.00"), Decimal("9")) not in _levels(snapshot)
    # The fresh change is not lost (the book would stay wrong with no gap to show it) and the stale one
    # is not sent again after the snapshot that already holds it.
    assert [_levels(frame) for frame in updates] == [[("bid", Decimal("2.00"), Decimal("9"))]]
    assert [frame["sequence_num"] for frame in sent] == list(range(len(sent)))
