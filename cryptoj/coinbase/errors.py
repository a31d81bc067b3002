"""Errors the Coinbase REST client raises, grouped by what the caller does next.

::

    CryptojError
    └── CoinbaseError                   any failure talking to Coinbase (status, code, trace_id)
        ├── TransientError              RETRY later, with backoff (`should_retry` says yes)
        │   ├── RateLimitedError        429: wait `retry_after` seconds first
        │   ├── ServerError             5xx: the venue or its gateway failed
        │   ├── TransportError          no HTTP answer at all (connect failure, timeout, broken connection)
        │   └── AccountUnavailableError 400 "account is not available": a passing state right after a trade
        ├── UnknownOutcomeError         LOOK UP: an order write (create, close, edit, cancel) was sent and
        │                               no definite answer came back; look the order(s) up, never resend blindly
        ├── RequestError                FIX THE INPUT: Coinbase (or the client, before sending) said no
        │   ├── InvalidArgumentError    refused before sending (bad id, naive time, OPEN mixed with others)
        │   ├── InvalidRequestError     400 (unknown field, bad enum, too many candles...)
        │   ├── NotFoundError           404 (unknown order id, product, or an unserved path)
        │   ├── OrderRejectedError      create/close answered `success: false` (failure_reason...)
        │   └── EditRejectedError       edit answered `success: false`
        └── OperatorError               CALL AN OPERATOR: retrying or changing the order cannot help
            ├── AuthenticationError     401: bad key, bad JWT, clock skew
            ├── PermissionDeniedError   403: the key lacks a scope ("Missing required scopes")
            ├── CertificateError        the server's TLS certificate does not verify (nothing was sent)
            └── UnexpectedResponseError the answer does not fit the documented shape

`error_from_response` is the one place an HTTP answer becomes an error and `should_retry` the one
retry policy (the client and Prefect tasks both use it). Foreign exceptions (httpx, pydantic) are
translated in cryptoj.coinbase.client at one boundary, always with ``from exc``.
No error text ever holds a key name, private key or JWT: only what Coinbase answered.
"""

from __future__ import annotations

import json
import re
import ssl
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from cryptoj.errors import CryptojError

__all__ = [
    "AccountUnavailableError",
    "AuthenticationError",
    "CertificateError",
    "CoinbaseError",
    "EditRejectedError",
    "InvalidArgumentError",
    "InvalidRequestError",
    "NotFoundError",
    "OperatorError",
    "OrderRejectedError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestError",
    "ServerError",
    "TransientError",
    "TransportError",
    "UnexpectedResponseError",
    "UnknownOutcomeError",
    "error_from_exception",
    "error_from_response",
    "may_have_taken_effect",
    "parse_retry_after",
    "retry_condition",
    "should_retry",
    "trace_id_of",
]

# Two production systems logged it right after a trade, and it went away on retry (real-traffic fact 28).
_ACCOUNT_NOT_AVAILABLE = "account is not available"
_SNIPPET = 200  # characters of a non-JSON body kept in a message: enough to recognise a gateway page
# A gateway or proxy page may echo the request, Authorization header included: never keep a JWT from it.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Nor a key name an error page quotes back ("key organizations/.../apiKeys/... not authorized").
_KEY_NAME = re.compile(r"organizations/[^/\s\"'<>]+/apiKeys/[^\s\"'<>]+")


class CoinbaseError(CryptojError):
    """Base of every failure talking to Coinbase.

    Parameters:
        message: what went wrong, in Coinbase's words where it gave any.
        status: the HTTP status, or None when no answer came.
        code: Coinbase's error code (`INVALID_ARGUMENT`, `NOT_FOUND`, ...), when the body had one.
        trace_id: the `trace-id` response header, which Coinbase support asks for.
    """

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, trace_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.trace_id = trace_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.trace_id:
            parts.append(f"trace_id={self.trace_id}")
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"


class TransientError(CoinbaseError):
    """A failure that may pass: the request is safe to retry after a backoff."""


class RateLimitedError(TransientError):
    """429: too many requests; wait `retry_after` seconds (None: the answer gave no hint)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after


class ServerError(TransientError):
    """5xx: Coinbase or its gateway failed; the body is often an HTML page."""


class TransportError(TransientError):
    """No HTTP answer: connection refused or reset, TLS failure, or a timeout.

    `may_have_arrived` is False only when the request surely never left (connect failures): an order
    request that failed with it True has an unknown outcome.
    """

    def __init__(self, message: str, *, may_have_arrived: bool = True, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.may_have_arrived = may_have_arrived


class AccountUnavailableError(TransientError):
    """400 INVALID_ARGUMENT "account is not available": seen right after a trade, gone on retry (fact 28).

    A definite answer (nothing happened), so repeating the request is safe; a read retries it with backoff.
    """


class UnknownOutcomeError(CoinbaseError):
    """An order write was sent and no definite answer came back: it may or may not have taken effect.

    For a create or close, `client_order_id` names the order, which may or may not exist: look it up
    (list orders, or the user channel) before doing anything else; never resend it under a new id.
    For an edit or a cancel, `client_order_id` is None and `order_ids` names the orders it touched:
    read them back before deciding again.

    Once an attempt may have reached Coinbase unanswered, whatever a later attempt answers (a `success:
    false`, a 4xx) cannot say the write did not happen: the first may have placed the order, and the
    retry's "insufficient funds" may be that order's hold. `last_error` keeps the last attempt's failure
    (with `status`, `code` and `trace_id` copied from it) for its details; it does not decide the outcome.
    """

    def __init__(
        self,
        message: str,
        *,
        client_order_id: str | None = None,
        order_ids: tuple[str, ...] = (),
        last_error: CoinbaseError | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message, **fields)
        self.client_order_id = client_order_id
        self.order_ids = order_ids
        self.last_error = last_error


class RequestError(CoinbaseError):
    """Coinbase understood the request and refused it: fix the input, don't retry as is."""


class InvalidArgumentError(RequestError, ValueError):
    """The call's arguments cannot make a valid request; nothing was sent (also a ValueError)."""


class InvalidRequestError(RequestError):
    """400: a malformed or unacceptable request (Coinbase's `error_details` says which part)."""


class NotFoundError(RequestError):
    """404: no such order, product or account, or a path Coinbase does not serve."""


class OrderRejectedError(RequestError):
    """Create order (or close position) answered HTTP 200 with `success: false`.

    `failure_reason` is the top-level or new-order reason; Coinbase often leaves it at
    `UNKNOWN_FAILURE_REASON` and puts the real cause in `error_code`/`error_details`/`preview_failure_reason`.
    """

    def __init__(
        self,
        message: str,
        *,
        client_order_id: str,
        failure_reason: str | None = None,
        preview_failure_reason: str | None = None,
        new_order_failure_reason: str | None = None,
        error_details: str | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message, **fields)
        self.client_order_id = client_order_id
        self.failure_reason = failure_reason
        self.preview_failure_reason = preview_failure_reason
        self.new_order_failure_reason = new_order_failure_reason
        self.error_details = error_details


class EditRejectedError(RequestError):
    """Edit order answered `success: false`; `edit_failure_reason`/`preview_failure_reason` say why."""

    def __init__(
        self,
        message: str,
        *,
        order_id: str,
        edit_failure_reason: str | None = None,
        preview_failure_reason: str | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message, **fields)
        self.order_id = order_id
        self.edit_failure_reason = edit_failure_reason
        self.preview_failure_reason = preview_failure_reason


class OperatorError(CoinbaseError):
    """Retrying or changing the order cannot help: someone must fix keys, scopes or the code."""


class AuthenticationError(OperatorError):
    """401: Coinbase refused the JWT (wrong key, mangled private key, clock skew, wrong `uri`).

    `clock_offset` is Coinbase's clock minus ours in seconds, as `GET /time` read it after the 401 (None when
    not read); the message says whether the clock can be the cause.
    """

    def __init__(self, message: str, *, clock_offset: float | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.clock_offset = clock_offset


class PermissionDeniedError(OperatorError):
    """403: the key is valid but lacks a permission (view, trade) or the portfolio is restricted."""


class CertificateError(OperatorError):
    """The server's TLS certificate does not verify: a wrong CA file, an intercepting proxy, a wrong host.

    Not transient (it fails the same way a second later), so never retried; the request never left.
    """


class UnexpectedResponseError(OperatorError):
    """The answer does not fit the documented shape (a missing field, a non-JSON success body)."""


def should_retry(exc: BaseException) -> bool:
    """The one retry policy: transient failures are retried, everything else is not.

    `UnknownOutcomeError` is deliberately not retried: it is resolved by looking the order up.
    """
    return isinstance(exc, TransientError)


def retry_condition(task: object, task_run: object, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry a failed task only when `should_retry` says its error is transient.

    Prefect hands a `Failed` state whose `data` is the exception. Retry each failure kind in one layer
    only: give tasks that use it a client built with ``max_retries=0``, or leave Prefect retries off.
    """
    failure = getattr(state, "data", None)
    return isinstance(failure, BaseException) and should_retry(failure)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or an HTTP date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def trace_id_of(response: httpx.Response) -> str | None:
    """The answer's `trace-id`, once: Coinbase sends the header twice (real-traffic fact 18), joined "X, X"."""
    values: list[str] = []
    for header in response.headers.get_list("trace-id"):
        for part in header.split(","):  # a proxy may already have joined them into one header
            value = part.strip()
            if value and value not in values:
                values.append(value)
    return ", ".join(values) or None  # distinct values (never seen) are all kept, for support to match


def _body_fields(response: httpx.Response) -> tuple[str | None, str | None]:
    """(code, message) from an error body, which may be JSON, HTML or plain text (real traffic has all three)."""
    text = _KEY_NAME.sub("[key name]", _JWT.sub("[jwt]", response.text.strip()))
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            code = data.get("error")
            message = data.get("message") or data.get("error_details")
            return (str(code) if code else None, str(message) if message else None)
    if text.lower().startswith(("<!doctype", "<html")) or "<body" in text.lower():
        title = re.search(r"<title>(.*?)</title>", text, flags=re.IGNORECASE | re.DOTALL)
        page = f"HTML page: {title.group(1).strip()}" if title else "HTML page"
        return None, page[:_SNIPPET]
    return None, (text[:_SNIPPET] or None)


def error_from_response(response: httpx.Response, *, now: float) -> CoinbaseError:
    """Map a non-2xx answer to the most specific error; `now` (epoch seconds) resolves date-form Retry-After."""
    status = response.status_code
    code, detail = _body_fields(response)
    fields: dict[str, Any] = {"status": status, "code": code, "trace_id": trace_id_of(response)}
    reason = response.reason_phrase or "HTTP error"
    message = f"{reason}: {detail}" if detail and detail != reason else reason
    if status == 429:
        return RateLimitedError(
            message, retry_after=parse_retry_after(response.headers.get("retry-after"), now=now), **fields
        )
    if status >= 500:
        return ServerError(message, **fields)
    if status == 401:
        return AuthenticationError(message, **fields)
    if status == 403:
        return PermissionDeniedError(message, **fields)
    if status == 404:
        return NotFoundError(message, **fields)
    if status == 408:
        return TransportError(message, **fields)
    if status == 400 and _ACCOUNT_NOT_AVAILABLE in (detail or "").lower():
        return AccountUnavailableError(message, **fields)
    if 400 <= status < 500:
        return InvalidRequestError(message, **fields)
    return UnexpectedResponseError(message, **fields)


# Each foreign transport failure, most specific first: (type, error class, may the request have arrived).
# A test walks every httpx.HTTPError subclass and fails if one lands on the fallback.
_HTTPX_ERRORS: tuple[tuple[type[httpx.HTTPError], type[CoinbaseError], bool], ...] = (
    (httpx.ConnectTimeout, TransportError, False),
    (httpx.PoolTimeout, TransportError, False),
    (httpx.ConnectError, TransportError, False),
    (httpx.ProxyError, TransportError, False),
    (httpx.UnsupportedProtocol, UnexpectedResponseError, False),
    (httpx.LocalProtocolError, UnexpectedResponseError, False),
    (httpx.ReadTimeout, TransportError, True),
    (httpx.WriteTimeout, TransportError, True),
    (httpx.TimeoutException, TransportError, True),
    (httpx.RemoteProtocolError, TransportError, True),
    (httpx.ProtocolError, TransportError, True),
    (httpx.NetworkError, TransportError, True),  # ReadError, WriteError, CloseError
    (httpx.DecodingError, UnexpectedResponseError, True),
    (httpx.TooManyRedirects, UnexpectedResponseError, True),
    (httpx.HTTPStatusError, UnexpectedResponseError, True),
)


def may_have_taken_effect(error: CoinbaseError) -> bool:
    """Whether the request that failed with `error` may have reached Coinbase and acted, unanswered.

    True for a 5xx, a transport failure after sending, and an answer that came but could not be read
    (undecodable body, redirect loop); False for a definite HTTP answer and for requests that never left.
    The client turns it into `UnknownOutcomeError` for order writes.
    """
    if isinstance(error, ServerError):
        return True
    if isinstance(error, TransportError):
        return error.may_have_arrived
    cause = error.__cause__
    if isinstance(cause, httpx.HTTPError):
        return next((arrived for kind, _, arrived in _HTTPX_ERRORS if isinstance(cause, kind)), True)
    return False


def _certificate_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate failure behind an httpx error (httpx and httpcore each wrap it once), if that is its cause."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def error_from_exception(exc: httpx.HTTPError) -> CoinbaseError:
    """Translate an httpx failure into our hierarchy (the caller raises it `from exc`)."""
    certificate = _certificate_failure(exc)
    if certificate is not None:
        reason = certificate.verify_message or certificate.strerror or "certificate verify failed"
        return CertificateError(
            f"the server's TLS certificate does not verify: {reason}; check `verify` (the CA file) and the URL"
        )
    for kind, error_class, may_have_arrived in _HTTPX_ERRORS:
        if isinstance(exc, kind):
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if error_class is TransportError:
                return TransportError(message, may_have_arrived=may_have_arrived)
            return error_class(message)
    # A failure type httpx may add later: treat it as "maybe sent", the safe reading for orders.
    return TransportError(f"{type(exc).__name__}: {exc}")
