"""Adapter for the real Coinbase Advanced Trade API v3: auth, wire models, errors, REST and WebSocket.

The REST entry point is `CoinbaseAdvancedClient` (errors in `cryptoj.coinbase.errors`, wire models in
`cryptoj.coinbase.models`); the streaming one is `WebSocketHandler` (errors in
`cryptoj.coinbase.ws_errors`). The names most callers need are re-exported here; importing this
package only defines them (no connection, no logging set-up, no settings read).
"""

from __future__ import annotations

from cryptoj.coinbase.auth import CdpKey, InvalidKeyError, build_rest_jwt, build_ws_jwt
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.errors import (
    AccountUnavailableError,
    AuthenticationError,
    CertificateError,
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
    "AccountUnavailableError",
    "AuthenticationError",
    "BookUnavailable",
    "CdpKey",
    "CertificateError",
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
