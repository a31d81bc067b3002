"""Small wire helpers of the client: path ids, query values, and the create-order rejection."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TypeVar

from cryptoj.coinbase.errors import InvalidArgumentError, OrderRejectedError
from cryptoj.coinbase.models import CreateOrderResponse, WireTime

__all__ = [
    "aware",
    "enum_arg",
    "flag",
    "path_id",
    "query_list",
    "rejection",
    "rfc3339",
    "trades_query",
    "unix_seconds",
]

_UNKNOWN = "UNKNOWN_FAILURE_REASON"
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+", re.ASCII)  # RFC 3986 "unreserved": sent as it is, never encoded
E = TypeVar("E", bound=Enum)


def rejection(response: CreateOrderResponse, client_order_id: str, *, trace_id: str | None) -> OrderRejectedError:
    """The typed rejection; the real cause is often in `error_response` while `failure_reason` is UNKNOWN."""
    detail = response.error_response
    candidates = [
        response.failure_reason,
        detail.new_order_failure_reason if detail else None,
        detail.error if detail else None,
        detail.preview_failure_reason if detail else None,
    ]
    cause = next((reason for reason in candidates if reason and not reason.startswith("UNKNOWN_")), _UNKNOWN)
    message = detail.message if detail and detail.message else "no message"
    details = detail.error_details if detail else None
    return OrderRejectedError(
        f"order {client_order_id} rejected: {cause}: {message}" + (f" ({details})" if details else ""),
        client_order_id=client_order_id,
        failure_reason=cause,
        preview_failure_reason=detail.preview_failure_reason if detail else None,
        new_order_failure_reason=detail.new_order_failure_reason if detail else None,
        error_details=details,
        code=detail.error if detail else response.failure_reason,
        status=200,
        trace_id=trace_id,
    )


def path_id(value: str) -> str:
    """A path segment: an id of URL-safe characters only (Coinbase's ids are UUIDs and product ids).

    Refused: what would change the route (``/?#%``, ``..``), and anything httpx would percent-encode or cannot
    send (a space, a backslash, a control character, a lone surrogate): the JWT `uri` would then name
    another path than the one the server reads, and a NUL is an `httpx.InvalidURL`.
    """
    if not _URL_SAFE.fullmatch(value) or value in (".", ".."):
        raise InvalidArgumentError(f"not a valid id for a URL path: {value[:40]!r}")
    return value


def enum_arg(kind: type[E], value: E | str, *, name: str) -> E:
    """A parameter typed by an enum, given as a member or as its string value (any case), as the official SDK and
    Coinbase's docs pass it (`granularity="ONE_MINUTE"`); anything else is `InvalidArgumentError` listing the values.
    """
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        wanted = value.strip().upper()
        for member in kind:
            if str(member.value).upper() == wanted:
                return member
    allowed = ", ".join(str(member.value) for member in kind)
    raise InvalidArgumentError(f"{name} must be one of {allowed}, not {value!r}")


def query_list(values: Sequence[str] | None) -> list[str] | None:
    if isinstance(values, str):
        return [values]  # a lone id, not its characters
    return list(values) if values else None


def aware(value: datetime) -> datetime:
    """`value` itself, if it names an instant (has a UTC offset); else InvalidArgumentError."""
    # A naive time would be read as the machine's local time: a silently shifted window, so refuse it.
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgumentError("times sent to Coinbase must be timezone-aware")
    return value


def rfc3339(value: datetime | None) -> str | None:
    """A time for a query; a time read from Coinbase goes back as its exact text (a cursor lands on it, not before)."""
    if value is None:
        return None
    return WireTime.from_datetime(aware(value)).text


def unix_seconds(value: datetime | None) -> str | None:
    """Whole UNIX seconds as text (candles and trades take them so); naive times refused."""
    return None if value is None else str(int(aware(value).timestamp()))


def trades_query(limit: int, start: datetime | None, end: datetime | None) -> dict[str, str | int | None]:
    return {"limit": limit, "start": unix_seconds(start), "end": unix_seconds(end)}


def flag(value: bool | None) -> str | None:
    # Coinbase's gateway reads Go-style booleans; the official SDK sends Python's "True"/"False".
    return None if value is None else str(value)
