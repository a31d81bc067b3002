"""The package's public surface: client, key, errors and the WebSocket handler from one import, no side effects."""

from __future__ import annotations

import subprocess
import sys

from cryptoj import coinbase
from cryptoj.coinbase import client, errors, websocket, ws_errors


def test_the_package_re_exports_the_rest_client_its_errors_and_the_websocket_handler() -> None:
    assert coinbase.CoinbaseAdvancedClient is client.CoinbaseAdvancedClient
    assert coinbase.WebSocketHandler is websocket.WebSocketHandler
    assert coinbase.ReconnectPolicy is websocket.ReconnectPolicy
    assert coinbase.UnknownOutcomeError is errors.UnknownOutcomeError
    assert coinbase.OrderRejectedError is errors.OrderRejectedError
    assert coinbase.WebSocketError is ws_errors.WebSocketError
    # every error class of both modules' bases is reachable from the package
    for name in ("TransientError", "RequestError", "OperatorError", "SubscriptionError", "BookUnavailable"):
        assert name in coinbase.__all__


def test_importing_the_package_sets_nothing_up() -> None:
    probe = (
        "import logging, threading\n"
        "import cryptoj.coinbase\n"
        "print(len(logging.getLogger().handlers), threading.active_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["0", "1"]  # no logging handler installed, no thread started
