"""What can still be read from a frame the typed decoder refused: its sequence number, channel, products, orders.

The sequence counter is one per connection, so a frame whose body is bad still used up its number: skipping
it would make the next frame look like a gap and resync every book. Read leniently, a refused frame still says
which number it took, which channel it was on (a lost level2 update breaks only its products' books), and, on
the user channel, which orders decode on their own, so one bad order costs only itself. Only refused frames
come here, so none of this is on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec

from cryptoj.coinbase.ws_models import UserEvent, UserMessage, UserOrder

__all__ = ["BadOrder", "Salvage", "salvage"]


class _Numbered(msgspec.Struct):
    sequence_num: int
    channel: str = ""


class _Named(msgspec.Struct):
    product_id: str


class _Products(msgspec.Struct):
    events: list[_Named]


class _LooseUserEvent(msgspec.Struct):
    type: Literal["snapshot", "update"]
    orders: list[msgspec.Raw] = msgspec.field(default_factory=list)


class _LooseUserFrame(msgspec.Struct):
    timestamp: datetime
    sequence_num: int
    events: list[_LooseUserEvent]


class _OrderId(msgspec.Struct):
    order_id: str


@dataclass(frozen=True, slots=True)
class BadOrder:
    """A user order that could not be decoded."""

    order_id: str  # "" when not even the id could be read
    reason: str  # the decoder's message (names the field, never quotes the order)


@dataclass(frozen=True, slots=True)
class Salvage:
    """What a refused frame still tells."""

    sequence_num: int
    channel: str  # "" when the frame names none readably
    product_ids: frozenset[str] | None  # the products its events name; None when they cannot be read
    user: UserMessage | None = None  # on the user channel: the orders that decode on their own
    bad_orders: tuple[BadOrder, ...] = ()  # on the user channel: the orders that do not


# ValidationError is a DecodeError; msgspec raises RecursionError past Python's recursion limit.
_UNREADABLE = (msgspec.DecodeError, RecursionError)
_NUMBERED = msgspec.json.Decoder(_Numbered)
_PRODUCTS = msgspec.json.Decoder(_Products)
_USER = msgspec.json.Decoder(_LooseUserFrame)
_ORDER = msgspec.json.Decoder(UserOrder)
_ORDER_ID = msgspec.json.Decoder(_OrderId)


def salvage(frame: str | bytes) -> Salvage | None:
    """Read what a refused frame still tells; None when it has no readable sequence number (not a data frame)."""
    try:
        numbered = _NUMBERED.decode(frame)
    except _UNREADABLE:
        return None
    try:
        product_ids: frozenset[str] | None = frozenset(event.product_id for event in _PRODUCTS.decode(frame).events)
    except _UNREADABLE:
        product_ids = None
    if numbered.channel != "user":
        return Salvage(sequence_num=numbered.sequence_num, channel=numbered.channel, product_ids=product_ids)
    user, bad = _user_orders(frame)
    return Salvage(
        sequence_num=numbered.sequence_num, channel="user", product_ids=product_ids, user=user, bad_orders=bad
    )


def _user_orders(frame: str | bytes) -> tuple[UserMessage | None, tuple[BadOrder, ...]]:
    """A user frame's orders, each decoded on its own: the good ones as a message, the others as `BadOrder`s."""
    try:
        loose = _USER.decode(frame)
    except _UNREADABLE:
        return None, ()
    events: list[UserEvent] = []
    bad: list[BadOrder] = []
    for event in loose.events:
        orders: list[UserOrder] = []
        for raw in event.orders:
            try:
                orders.append(_ORDER.decode(raw))
            except msgspec.DecodeError as exc:
                bad.append(BadOrder(order_id=_order_id(raw), reason=str(exc)))
            except RecursionError:
                bad.append(BadOrder(order_id=_order_id(raw), reason="JSON nested too deeply"))
        events.append(UserEvent(type=event.type, orders=orders))
    message = UserMessage(timestamp=loose.timestamp, sequence_num=loose.sequence_num, events=events)
    return message, tuple(bad)


def _order_id(raw: msgspec.Raw) -> str:
    try:
        return _ORDER_ID.decode(raw).order_id
    except _UNREADABLE:
        return ""
