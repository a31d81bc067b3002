"""What a WebSocket handler keeps subscribed, the messages that ask for it, and how to recognise the answer.

The server answers every (un)subscribe with the WHOLE current set, not an echo of the request, so an ack
answers a request when the set it lists includes (or no longer includes) what was asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from cryptoj.coinbase.auth import CdpKey, build_ws_jwt

__all__ = ["AckMatch", "SubscriptionSet", "request_message", "subscribe_answered", "unsubscribe_answered"]

AckMatch = Callable[[dict[str, frozenset[str]]], bool]  # whether an ack's whole set answers a request


class SubscriptionSet:
    """Channel -> product ids the handler wants; heartbeats are always in it (they keep connections open)."""

    def __init__(self) -> None:
        self._wanted: dict[str, set[str]] = {"heartbeats": set()}

    def __contains__(self, channel: object) -> bool:
        return channel in self._wanted

    def as_dict(self) -> dict[str, frozenset[str]]:
        """A read-only copy."""
        return {channel: frozenset(products) for channel, products in self._wanted.items()}

    def products(self, channel: str) -> set[str]:
        """The products wanted on a channel (empty when none or not subscribed)."""
        return set(self._wanted.get(channel, ()))

    def add(self, channel: str, products: Iterable[str]) -> set[str] | None:
        """Want more products on a channel; returns what was wanted before (None: the channel is new)."""
        before = self._wanted.get(channel)
        self._wanted[channel] = (set(before) if before is not None else set()) | set(products)
        return None if before is None else set(before)

    def restore(self, channel: str, before: set[str] | None) -> None:
        """Undo an `add` the server refused."""
        if before is None:
            self._wanted.pop(channel, None)
        else:
            self._wanted[channel] = before

    def remove(self, channel: str, products: Iterable[str] | None) -> set[str]:
        """Stop wanting some products (all when None); a channel left empty goes, except heartbeats."""
        known = self._wanted.get(channel, set())
        removed = set(known) if products is None else known & set(products)
        remaining = known - removed
        if products is None or (not remaining and channel != "heartbeats"):
            self._wanted.pop(channel, None)
        else:
            self._wanted[channel] = remaining
        return removed


def request_message(kind: str, channel: str, products: list[str] | None, *, key: CdpKey | None) -> str:
    """A subscribe/unsubscribe message; with a key it carries a fresh JWT (each lives 2 minutes)."""
    body: dict[str, Any] = {"type": kind, "channel": channel}
    if products is not None:
        body["product_ids"] = products
    if key is not None:
        body["jwt"] = build_ws_jwt(key)
    return orjson.dumps(body).decode()


def subscribe_answered(channel: str, products: list[str]) -> AckMatch:
    """The ack that answers a subscribe: the channel is there with every product asked for."""
    # heartbeats list "heartbeats" and user lists the user's id, not the products asked for.
    if channel in ("heartbeats", "user"):
        return lambda current: channel in current
    return lambda current: channel in current and set(products) <= current[channel]


def unsubscribe_answered(channel: str, removed: set[str] | None) -> AckMatch:
    """The ack that answers an unsubscribe: the channel (or the removed products) is gone."""
    if removed is None:
        return lambda current: channel not in current
    return lambda current: channel not in current or not (removed & current[channel])
