"""The handler's order feed: user-channel frames in, order events and `LookAgain` markers out, never silence.

The handler tells the feed what happens on the connection; the feed decides where a consumer may have missed
something and puts a marker there: an order or frame that could not be read, frames lost to a sequence gap,
and the user channel confirmed again after a connection carrying it was lost (an order that finished while
disconnected is in no snapshot). A consumer that lags gets its own marker from its stream (`MARK_GAP`).
"""

from __future__ import annotations

import logging

from cryptoj.coinbase.ws_dispatch import Dispatcher
from cryptoj.coinbase.ws_models import UserMessage
from cryptoj.coinbase.ws_policy import HandlerStats
from cryptoj.coinbase.ws_salvage import Salvage
from cryptoj.coinbase.ws_user import LookAgain, LookAgainReason, OrderFeedItem, UserOrderTracker

__all__ = ["OrderFeed"]

_log = logging.getLogger(__name__)


class OrderFeed:
    """Turns the user channel into order streams, with a marker wherever something may be missing.

    Parameters:
        dispatch: where order events and markers go.
        stats: counts unreadable orders (`decode_errors`) and markers (`look_again`).
    """

    def __init__(self, dispatch: Dispatcher, stats: HandlerStats) -> None:
        self._dispatch = dispatch
        self._stats = stats
        self._tracker = UserOrderTracker()
        self._seen = False  # the current connection delivered user frames
        self._interrupted = False  # a connection carrying the user channel ended since it was last confirmed

    def frame(self, message: UserMessage) -> None:
        """A decoded user frame: its orders' events, with a marker in place of each order that cannot be read."""
        self._seen = True
        items = self._tracker.events(message)
        for item in items:
            if isinstance(item, LookAgain):
                self._stats.decode_errors += 1
                _log.warning("%s", item)
        self._publish(items)

    def salvaged(self, found: Salvage) -> None:
        """A user frame the decoder refused: the orders that decode alone, then a marker for each other one."""
        self._seen = True
        if found.user is None:
            self._publish([LookAgain(LookAgainReason.MALFORMED_FRAME, detail="the frame's orders cannot be read")])
            return
        items = self._tracker.events(found.user)
        items += [
            LookAgain(LookAgainReason.MALFORMED_ORDER, order_id=bad.order_id or None, detail=bad.reason)
            for bad in found.bad_orders
        ]
        self._publish(items)

    def gap(self, *, subscribed: bool) -> None:
        """Frames were lost on the connection: any of them may have been a user frame."""
        if subscribed or self._seen:
            self._publish([LookAgain(LookAgainReason.SEQUENCE_GAP)])

    def connection_opened(self) -> None:
        """A new connection: nothing delivered on it yet."""
        self._seen = False

    def connection_ended(self, *, subscribed: bool) -> None:
        """The connection ended: if it carried the user channel, events after it may be missing."""
        if subscribed or self._seen:
            self._interrupted = True

    def confirmed(self) -> None:
        """The user channel is confirmed on the current connection: after an interrupted one, look again."""
        if self._interrupted:
            self._interrupted = False
            self._publish([LookAgain(LookAgainReason.RECONNECT)])

    def _publish(self, items: list[OrderFeedItem]) -> None:
        self._stats.look_again += sum(isinstance(item, LookAgain) for item in items)
        self._dispatch.publish_orders(items)
