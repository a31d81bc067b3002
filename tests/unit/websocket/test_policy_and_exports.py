"""Reconnect backoff, secrets kept out of reprs, and each module's public names."""

from __future__ import annotations

import importlib
import inspect

import pytest

from cryptoj.coinbase.websocket import ReconnectPolicy, WebSocketHandler
from cryptoj.coinbase.ws_errors import (
    FrameError,
    HandlerClosed,
    ReconnectExhausted,
    SnapshotTimeout,
    SubscriptionError,
    WebSocketError,
)
from cryptoj.errors import ConfigurationError, CryptojError
from tests.utils.fixtures.websocket import KEY_NAME, make_key


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = ReconnectPolicy(base_delay=0.5, max_delay=3.0, jitter=0.0)
    assert [policy.delay(n, 0.99) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_spreads_the_wait_within_its_fraction() -> None:
    policy = ReconnectPolicy(base_delay=2.0, jitter=0.5)
    assert policy.delay(1, 0.0) == 1.0
    assert policy.delay(1, 0.5) == 1.5
    assert policy.delay(1, 0.999) == pytest.approx(1.999)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base_delay": 0.0}, "base_delay"),
        ({"base_delay": 2.0, "max_delay": 1.0}, "max_delay"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"jitter": 1.5}, "jitter"),
        ({"jitter": -0.1}, "jitter"),
        ({"stable_after": -1.0}, "stable_after"),
    ],
)
def test_a_policy_that_would_spin_or_never_try_is_refused(options: dict[str, float], message: str) -> None:
    # A jitter above 1 gives negative waits and a zero delay none at all: reconnects would spin.
    with pytest.raises(ConfigurationError, match=message):
        ReconnectPolicy(**options)  # type: ignore[arg-type]


def test_the_handler_repr_never_shows_the_key() -> None:
    handler = WebSocketHandler(url="ws://127.0.0.1:1", key=make_key())
    assert KEY_NAME not in repr(handler)
    assert "apiKeys" not in repr(handler)


def test_errors_are_cryptoj_errors_with_their_fields() -> None:
    for error in (
        FrameError("x"),
        HandlerClosed(),
        SnapshotTimeout(["BTC-USD"], 10.0),
        SubscriptionError("user", "authentication failure"),
        ReconnectExhausted(3, "refused"),
    ):
        assert isinstance(error, WebSocketError)
        assert isinstance(error, CryptojError)
    assert ReconnectExhausted(3, "refused").attempts == 3


@pytest.mark.parametrize(
    "module",
    [
        "cryptoj.coinbase.websocket",
        "cryptoj.coinbase.ws_books",
        "cryptoj.coinbase.ws_decode",
        "cryptoj.coinbase.ws_dispatch",
        "cryptoj.coinbase.ws_orders",
        "cryptoj.coinbase.ws_policy",
        "cryptoj.coinbase.ws_reader",
        "cryptoj.coinbase.ws_errors",
        "cryptoj.coinbase.ws_models",
        "cryptoj.coinbase.ws_recording",
        "cryptoj.coinbase.ws_resync",
        "cryptoj.coinbase.ws_salvage",
        "cryptoj.coinbase.ws_streams",
        "cryptoj.coinbase.ws_subscriptions",
        "cryptoj.coinbase.ws_user",
        "cryptoj.sandbox.feed",
        "cryptoj.sandbox.feed_frames",
    ],
)
def test_every_public_name_is_exported_and_exists(module: str) -> None:
    loaded = importlib.import_module(module)
    for name in loaded.__all__:
        assert hasattr(loaded, name), f"{module}.{name}"
    defined_here = {
        name
        for name, value in vars(loaded).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module
    }
    assert defined_here <= set(loaded.__all__), f"{module} does not export {sorted(defined_here - set(loaded.__all__))}"


def test_the_order_feed_names_are_exported_from_the_package() -> None:
    from cryptoj import coinbase
    from cryptoj.coinbase import ws_errors, ws_user

    for name in ("LookAgain", "LookAgainReason", "UserOrderEvent", "FillDelta"):
        assert getattr(coinbase, name) is getattr(ws_user, name)
    for name in ("HandlerClosed", "SnapshotTimeout"):
        assert getattr(coinbase, name) is getattr(ws_errors, name)
