"""Adapter for the real Coinbase Advanced Trade API v3: auth, wire models, errors, REST and WebSocket.

The REST entry point is `CoinbaseAdvancedClient`; its errors are in `cryptoj.coinbase.errors` and its
wire models in `cryptoj.coinbase.models`.
"""

from cryptoj.coinbase.auth import CdpKey, InvalidKeyError, build_rest_jwt, build_ws_jwt
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.errors import CoinbaseError, UnknownOutcomeError, retry_condition, should_retry
from cryptoj.coinbase.limits import COINBASE_LIMITS, VenueLimits

__all__ = [
    "COINBASE_LIMITS",
    "CdpKey",
    "CoinbaseAdvancedClient",
    "CoinbaseError",
    "InvalidKeyError",
    "UnknownOutcomeError",
    "VenueLimits",
    "build_rest_jwt",
    "build_ws_jwt",
    "retry_condition",
    "should_retry",
]
