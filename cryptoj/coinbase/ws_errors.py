"""Errors of the WebSocket handler, grouped by what the caller does next.

    CryptojError
    └── WebSocketError                  anything the WebSocket side raises
        ├── FrameError                  a frame that is not valid JSON or not a known message: a server bug, log it
        ├── SubscriptionError           the server answered a subscribe with an error frame: fix keys or channel
        ├── BookUnavailable             no trustworthy book right now (never synced, resyncing, stale): don't trade
        ├── HeartbeatTimeout            heartbeats stopped: the handler reconnects by itself
        ├── SnapshotTimeout             a level2 resync went unanswered twice: the handler reconnects by itself
        ├── HandlerClosed               the handler was closed: nothing more will arrive, open a new one
        └── ReconnectExhausted          the connection could not be restored within the cap: call an operator

No message carries a JWT, a key name or a frame's raw text beyond a short excerpt of public data.
"""

from __future__ import annotations

from cryptoj.errors import CryptojError

__all__ = [
    "BookUnavailable",
    "FrameError",
    "HandlerClosed",
    "HeartbeatTimeout",
    "ReconnectExhausted",
    "SnapshotTimeout",
    "SubscriptionError",
    "WebSocketError",
]


class WebSocketError(CryptojError):
    """Base of every WebSocket handler error."""


class FrameError(WebSocketError):
    """A received frame could not be decoded into a known message; the frame is skipped, nothing else changes.

    Parameters:
        reason: what was wrong (the decoder's message).
        excerpt: the first characters of the frame, for the log.
    """

    def __init__(self, reason: str, *, excerpt: str = "") -> None:
        self.reason = reason
        self.excerpt = excerpt
        super().__init__(f"undecodable WebSocket frame: {reason}" + (f" (frame starts {excerpt!r})" if excerpt else ""))


class SubscriptionError(WebSocketError):
    """The server refused a subscription with an error frame (a bad JWT and an unknown channel look the same).

    Parameters:
        channel: the channel whose subscribe drew the error.
        server_message: the server's `message` text, e.g. ``authentication failure``.
    """

    def __init__(self, channel: str, server_message: str) -> None:
        self.channel = channel
        self.server_message = server_message
        super().__init__(f"subscribing to {channel!r} failed: {server_message}")


class BookUnavailable(WebSocketError):
    """The handler holds no book for a product that may be traded on: not synced yet, resyncing, or too old.

    Parameters:
        product_id: the product asked for.
        reason: why, in a few words.
    """

    def __init__(self, product_id: str, reason: str) -> None:
        self.product_id = product_id
        self.reason = reason
        super().__init__(f"no usable book for {product_id}: {reason}")


class HeartbeatTimeout(WebSocketError):
    """No heartbeat arrived in time, so the connection is treated as dead and replaced."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"no heartbeat for {seconds:g} s")


class SnapshotTimeout(WebSocketError):
    """No snapshot answered a level2 resync, nor the resync asked again, so the connection is replaced.

    Parameters:
        product_ids: the products still waiting for their snapshot.
        seconds: how long each request waited.
    """

    def __init__(self, product_ids: list[str], seconds: float) -> None:
        self.product_ids = product_ids
        self.seconds = seconds
        super().__init__(f"no level2 snapshot for {', '.join(product_ids)} within {seconds:g} s, asked twice")


class HandlerClosed(WebSocketError):
    """The handler was closed: no connection, subscription or message will come from it any more."""

    def __init__(self) -> None:
        super().__init__("the WebSocket handler is closed")


class ReconnectExhausted(WebSocketError):
    """The handler gave up after `attempts` consecutive failed connection attempts.

    Parameters:
        attempts: how many attempts were made.
        last_error: the last failure, described without secrets.
    """

    def __init__(self, attempts: int, last_error: str) -> None:
        self.attempts = attempts
        self.last_error = last_error
        super().__init__(f"WebSocket connection lost; gave up after {attempts} attempts (last: {last_error})")
