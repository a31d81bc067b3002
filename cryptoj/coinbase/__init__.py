"""Adapter for the real Coinbase Advanced Trade API v3: auth, wire models, errors, REST and WebSocket.

The REST entry point is `CoinbaseAdvancedClient` (errors in `cryptoj.coinbase.errors`, wire models in
`cryptoj.coinbase.models`); the streaming one is `WebSocketHandler` (errors in
`cryptoj.coinbase.ws_errors`). The names most callers need are re-exported here; importing this
package only defines them (no connection, no logging set-up, no settings read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptoj._lazy import lazy_exports

if TYPE_CHECKING:
    from cryptoj.coinbase.auth import CdpKey, InvalidKeyError, build_rest_jwt, build_ws_jwt
    from cryptoj.coinbase.client import CoinbaseAdvancedClient
    from cryptoj.coinbase.errors import (
        AuthenticationError,
        CoinbaseError,
        EditRejectedError,
        InvalidArgumentError,
        InvalidRequestError,
        NotFoundError,
        OperatorError,
        OrderRejectedError,
        PermissionDeniedError,
        RateLimitedError,
        RequestError,
        ServerError,
        TransientError,
        TransportError,
        UnexpectedResponseError,
        UnknownOutcomeError,
        retry_condition,
        should_retry,
    )
    from cryptoj.coinbase.limits import COINBASE_LIMITS, VenueLimits
    from cryptoj.coinbase.websocket import (
        MARKET_DATA_URL,
        USER_DATA_URL,
        HandlerStats,
        ReconnectPolicy,
        WebSocketHandler,
    )
    from cryptoj.coinbase.ws_errors import (
        BookUnavailable,
        FrameError,
        HandlerClosed,
        HeartbeatTimeout,
        ReconnectExhausted,
        SnapshotTimeout,
        SubscriptionError,
        WebSocketError,
    )
    from cryptoj.coinbase.ws_user import FillDelta, LookAgain, LookAgainReason, UserOrderEvent

__all__ = [
    "COINBASE_LIMITS",
    "MARKET_DATA_URL",
    "USER_DATA_URL",
    "AuthenticationError",
    "BookUnavailable",
    "CdpKey",
    "CoinbaseAdvancedClient",
    "CoinbaseError",
    "EditRejectedError",
    "FillDelta",
    "FrameError",
    "HandlerClosed",
    "HandlerStats",
    "HeartbeatTimeout",
    "InvalidArgumentError",
    "InvalidKeyError",
    "InvalidRequestError",
    "LookAgain",
    "LookAgainReason",
    "NotFoundError",
    "OperatorError",
    "OrderRejectedError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ReconnectExhausted",
    "ReconnectPolicy",
    "RequestError",
    "ServerError",
    "SnapshotTimeout",
    "SubscriptionError",
    "TransientError",
    "TransportError",
    "UnexpectedResponseError",
    "UnknownOutcomeError",
    "UserOrderEvent",
    "VenueLimits",
    "WebSocketError",
    "WebSocketHandler",
    "build_rest_jwt",
    "build_ws_jwt",
    "retry_condition",
    "should_retry",
]

# Public name -> defining module, imported on first use (see cryptoj._lazy).
_EXPORTS = {
    "CdpKey": "cryptoj.coinbase.auth",
    "InvalidKeyError": "cryptoj.coinbase.auth",
    "build_rest_jwt": "cryptoj.coinbase.auth",
    "build_ws_jwt": "cryptoj.coinbase.auth",
    "CoinbaseAdvancedClient": "cryptoj.coinbase.client",
    "AuthenticationError": "cryptoj.coinbase.errors",
    "CoinbaseError": "cryptoj.coinbase.errors",
    "EditRejectedError": "cryptoj.coinbase.errors",
    "InvalidArgumentError": "cryptoj.coinbase.errors",
    "InvalidRequestError": "cryptoj.coinbase.errors",
    "NotFoundError": "cryptoj.coinbase.errors",
    "OperatorError": "cryptoj.coinbase.errors",
    "OrderRejectedError": "cryptoj.coinbase.errors",
    "PermissionDeniedError": "cryptoj.coinbase.errors",
    "RateLimitedError": "cryptoj.coinbase.errors",
    "RequestError": "cryptoj.coinbase.errors",
    "ServerError": "cryptoj.coinbase.errors",
    "TransientError": "cryptoj.coinbase.errors",
    "TransportError": "cryptoj.coinbase.errors",
    "UnexpectedResponseError": "cryptoj.coinbase.errors",
    "UnknownOutcomeError": "cryptoj.coinbase.errors",
    "retry_condition": "cryptoj.coinbase.errors",
    "should_retry": "cryptoj.coinbase.errors",
    "COINBASE_LIMITS": "cryptoj.coinbase.limits",
    "VenueLimits": "cryptoj.coinbase.limits",
    "MARKET_DATA_URL": "cryptoj.coinbase.websocket",
    "USER_DATA_URL": "cryptoj.coinbase.websocket",
    "HandlerStats": "cryptoj.coinbase.websocket",
    "ReconnectPolicy": "cryptoj.coinbase.websocket",
    "WebSocketHandler": "cryptoj.coinbase.websocket",
    "BookUnavailable": "cryptoj.coinbase.ws_errors",
    "FrameError": "cryptoj.coinbase.ws_errors",
    "HeartbeatTimeout": "cryptoj.coinbase.ws_errors",
    "ReconnectExhausted": "cryptoj.coinbase.ws_errors",
    "SubscriptionError": "cryptoj.coinbase.ws_errors",
    "WebSocketError": "cryptoj.coinbase.ws_errors",
    "HandlerClosed": "cryptoj.coinbase.ws_errors",
    "SnapshotTimeout": "cryptoj.coinbase.ws_errors",
    "FillDelta": "cryptoj.coinbase.ws_user",
    "LookAgain": "cryptoj.coinbase.ws_user",
    "LookAgainReason": "cryptoj.coinbase.ws_user",
    "UserOrderEvent": "cryptoj.coinbase.ws_user",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
