"""Typed messages of every advanced-trade-ws channel, as msgspec Structs that mirror the wire.

Why msgspec and not pydantic (the REST models' library): a level2 snapshot is one frame of tens of
thousands of levels, and frames arrive many per second. Measured on real level2 traffic, msgspec decodes
into typed Structs with Decimal prices at 0.91x of `json.loads`, pydantic at about 2x. Every price and size
is a `Decimal` parsed from the wire's string, except level2's: those stay checked plain decimal text
(`L2Update`), which decodes at about 0.15x of `json.loads` and goes into the book without a Decimal per
level (the handler's budget: 1.5x `json.loads` for decode and apply, see docs/performance.md). Unknown
fields are ignored, never fatal (the feed grows fields).

Each envelope is tagged by `channel` (level2 arrives as ``l2_data``), so one pass over the bytes picks the
message type and validates it. `client_id` is often absent in real traffic, so it defaults to "".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Literal

import msgspec

from cryptoj.coinbase.ws_errors import FrameError

__all__ = [
    "Candle",
    "CandlesEvent",
    "CandlesMessage",
    "ErrorFrame",
    "HeartbeatsEvent",
    "HeartbeatsMessage",
    "L2Event",
    "L2Message",
    "L2Update",
    "MarketTrade",
    "MarketTradesEvent",
    "MarketTradesMessage",
    "StatusEvent",
    "StatusMessage",
    "StatusProduct",
    "SubscriptionsEvent",
    "SubscriptionsMessage",
    "Ticker",
    "TickerBatchMessage",
    "TickerEvent",
    "TickerMessage",
    "UserEvent",
    "UserMessage",
    "UserOrder",
    "WsMessage",
    "parse_go_time",
]

EventType = Literal["snapshot", "update"]


class _Model(msgspec.Struct, frozen=True, kw_only=True):
    """Common base: immutable, keyword construction."""


class _Envelope(_Model, frozen=True, kw_only=True, tag_field="channel"):
    """The five envelope keys every data frame carries (the `channel` key is the tag)."""

    client_id: str = ""  # real traffic often omits it
    timestamp: datetime  # RFC3339 with up to 9 fractional digits (msgspec keeps microseconds)
    sequence_num: int  # one counter per connection across all channels, from 0


# --- heartbeats ---------------------------------------------------------------------------------


class HeartbeatsEvent(_Model, frozen=True, kw_only=True):
    """One heartbeat: Go time text and a counter that is not a reliable sequence."""

    current_time: str  # Go time.String(): "2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105"
    heartbeat_counter: int | str  # a string in the docs, a number in some captures

    @property
    def time(self) -> datetime | None:
        """`current_time` as an aware datetime, or None when the text has another shape."""
        return parse_go_time(self.current_time)


class HeartbeatsMessage(_Envelope, frozen=True, kw_only=True, tag="heartbeats"):
    """A `heartbeats` frame, about once a second."""

    events: list[HeartbeatsEvent]


# --- ticker and ticker_batch ----------------------------------------------------------------------


class Ticker(_Model, frozen=True, kw_only=True):
    """Last trade and 24-hour statistics of a product (best bid/ask only on `ticker`, not `ticker_batch`)."""

    type: str = "ticker"
    product_id: str
    price: Decimal
    volume_24_h: Decimal
    low_24_h: Decimal
    high_24_h: Decimal
    low_52_w: Decimal | None = None
    high_52_w: Decimal | None = None
    price_percent_chg_24_h: Decimal | None = None
    best_bid: Decimal | None = None
    best_bid_quantity: Decimal | None = None
    best_ask: Decimal | None = None
    best_ask_quantity: Decimal | None = None


class TickerEvent(_Model, frozen=True, kw_only=True):
    """A batch of tickers."""

    type: EventType
    tickers: list[Ticker]


class TickerMessage(_Envelope, frozen=True, kw_only=True, tag="ticker"):
    """A `ticker` frame, sent on every match."""

    events: list[TickerEvent]


class TickerBatchMessage(_Envelope, frozen=True, kw_only=True, tag="ticker_batch"):
    """A `ticker_batch` frame, every 5 s when something changed."""

    events: list[TickerEvent]


# --- level2 ---------------------------------------------------------------------------------------


class L2Update(_Model, frozen=True, kw_only=True, gc=False):
    """One level: the new absolute size at a price (zero removes the level).

    Price and size stay the wire's text (`price_text`, `size_text`): a snapshot holds tens of thousands of
    levels, and two Decimals per level would cost more than parsing the whole frame. The book checks the
    texts of a whole event at once as it applies them (a bad one withdraws that product's book);
    `price_level` and `new_quantity` give them as Decimal. Not tracked by the garbage collector (strings
    only, so no cycles): a snapshot would otherwise add 46,000 objects to every collection.
    """

    side: Literal["bid", "offer"]
    event_time: str = ""  # matching-engine time, not monotonic; kept as text because nothing depends on it
    price_text: str = msgspec.field(name="price_level")
    size_text: str = msgspec.field(name="new_quantity")

    @property
    def price_level(self) -> Decimal:
        """The price as a Decimal; `FrameError` when the text is not a finite decimal."""
        return _wire_decimal(self.price_text, "price_level")

    @property
    def new_quantity(self) -> Decimal:
        """The new absolute size as a Decimal (zero removes the level); `FrameError` when it is not one."""
        return _wire_decimal(self.size_text, "new_quantity")


class L2Event(_Model, frozen=True, kw_only=True):
    """A snapshot (the whole book, in one frame) or an update (a few levels) of one product."""

    type: EventType
    product_id: str
    updates: list[L2Update]


class L2Message(_Envelope, frozen=True, kw_only=True, tag="l2_data"):
    """A level2 frame (channel `l2_data`); usually one event, but the format allows several."""

    events: list[L2Event]


# --- market_trades ------------------------------------------------------------------------------


class MarketTrade(_Model, frozen=True, kw_only=True):
    """One trade; `side` is the maker's side."""

    trade_id: str
    product_id: str
    price: Decimal
    size: Decimal
    side: Literal["BUY", "SELL"]
    time: datetime


class MarketTradesEvent(_Model, frozen=True, kw_only=True):
    """A snapshot (100 newest trades, newest first) or an update (trades of the last 250 ms)."""

    type: EventType
    trades: list[MarketTrade]


class MarketTradesMessage(_Envelope, frozen=True, kw_only=True, tag="market_trades"):
    """A `market_trades` frame."""

    events: list[MarketTradesEvent]


# --- candles ------------------------------------------------------------------------------------


class Candle(_Model, frozen=True, kw_only=True):
    """A 5-minute candle; `start` is epoch seconds as a string."""

    start: str
    high: Decimal
    low: Decimal
    open: Decimal
    close: Decimal
    volume: Decimal
    product_id: str

    @property
    def start_time(self) -> datetime:
        """The bucket's open as an aware datetime."""
        return datetime.fromtimestamp(int(self.start), tz=UTC)


class CandlesEvent(_Model, frozen=True, kw_only=True):
    """A snapshot (oldest first, empty buckets absent) or an update re-sending the open candle."""

    type: EventType
    candles: list[Candle]


class CandlesMessage(_Envelope, frozen=True, kw_only=True, tag="candles"):
    """A `candles` frame."""

    events: list[CandlesEvent]


# --- status -------------------------------------------------------------------------------------


class StatusProduct(_Model, frozen=True, kw_only=True):
    """A product's trading status and increments."""

    product_type: str = ""
    id: str
    base_currency: str = ""
    quote_currency: str = ""
    base_increment: Decimal
    quote_increment: Decimal
    display_name: str = ""
    status: str
    status_message: str = ""
    min_market_funds: Decimal | None = None


class StatusEvent(_Model, frozen=True, kw_only=True):
    """Statuses of the subscribed products."""

    type: EventType
    products: list[StatusProduct]


class StatusMessage(_Envelope, frozen=True, kw_only=True, tag="status"):
    """A `status` frame."""

    events: list[StatusEvent]


# --- user ---------------------------------------------------------------------------------------


class UserOrder(_Model, frozen=True, kw_only=True):
    """An order as the `user` channel reports it.

    Amounts stay strings here because the channel sends ``""`` for unset ones (a market order's
    `limit_price`); `cryptoj.coinbase.ws_user` turns them into Decimal or None.
    """

    order_id: str
    client_order_id: str = ""
    product_id: str
    order_side: str
    order_type: str = ""
    status: str
    avg_price: str = ""
    cumulative_quantity: str = ""
    leaves_quantity: str = ""
    filled_value: str = ""
    total_fees: str = ""
    number_of_fills: str | int = ""  # a string in the docs; tolerate a number
    limit_price: str = ""
    stop_price: str = ""
    time_in_force: str = ""
    post_only: str | bool = ""  # the one boolean the channel sends as "true"/"false"
    cancel_reason: str = ""
    reject_reason: str = ""
    creation_time: datetime | None = None
    product_type: str = ""


class UserEvent(_Model, frozen=True, kw_only=True):
    """A snapshot batch (at most 50 open orders) or an update."""

    type: EventType
    orders: list[UserOrder] = msgspec.field(default_factory=list)


class UserMessage(_Envelope, frozen=True, kw_only=True, tag="user"):
    """A `user` frame (authenticated)."""

    events: list[UserEvent]


# --- subscriptions and errors -------------------------------------------------------------------


class SubscriptionsEvent(_Model, frozen=True, kw_only=True):
    """The whole current subscription set: channel -> product ids (order not as requested)."""

    subscriptions: dict[str, list[str]]


class SubscriptionsMessage(_Envelope, frozen=True, kw_only=True, tag="subscriptions"):
    """The ack after every subscribe and unsubscribe."""

    events: list[SubscriptionsEvent]

    @property
    def current(self) -> dict[str, frozenset[str]]:
        """The subscription set this ack reports."""
        merged: dict[str, frozenset[str]] = {}
        for event in self.events:
            for channel, products in event.subscriptions.items():
                merged[channel] = merged.get(channel, frozenset()) | frozenset(products)
        return merged


class ErrorFrame(_Model, frozen=True, kw_only=True):
    """`{"type":"error","message":...}`: a bad JWT and an unknown channel both draw "authentication failure"."""

    type: Literal["error"]
    message: str = ""


WsMessage = (
    HeartbeatsMessage
    | TickerMessage
    | TickerBatchMessage
    | L2Message
    | MarketTradesMessage
    | CandlesMessage
    | StatusMessage
    | UserMessage
    | SubscriptionsMessage
)


def _wire_decimal(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise FrameError(f"level2 {field} is not a decimal number: {text[:40]!r}")
    return value


_GO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ([+-])(\d{2})(\d{2})\b")


def parse_go_time(text: str) -> datetime | None:
    """Parse Go's `time.String()` text (monotonic ``m=+...`` suffix ignored); None when it has another shape."""
    match = _GO_TIME.match(text)
    if match is None:
        return None
    day, clock, fraction, sign, hours, minutes = match.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    offset = timedelta(hours=int(hours), minutes=int(minutes)) * (-1 if sign == "-" else 1)
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:
        return None
    return parsed.replace(microsecond=micros, tzinfo=timezone(offset))
