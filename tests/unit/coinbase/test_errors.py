"""Error mapping: every HTTP answer shape and every httpx failure lands on a typed error."""

from __future__ import annotations

import inspect

import httpx
import pytest

from cryptoj.coinbase import errors
from cryptoj.coinbase.errors import (
    AccountUnavailableError,
    AuthenticationError,
    CoinbaseError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    UnknownOutcomeError,
    error_from_exception,
    error_from_response,
    may_have_taken_effect,
    parse_retry_after,
    should_retry,
    trace_id_of,
)
from cryptoj.errors import CryptojError

NOW = 1_700_000_000.0


def _answer(status: int, text: str, *, content_type: str = "application/json", **headers: str) -> httpx.Response:
    request = httpx.Request("GET", "https://api.coinbase.com/api/v3/brokerage/accounts")
    return httpx.Response(status, text=text, headers={"Content-Type": content_type, **headers}, request=request)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (408, TransportError),
        (409, InvalidRequestError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (302, UnexpectedResponseError),
    ],
)
def test_each_status_maps_to_its_error(status: int, expected: type[CoinbaseError]) -> None:
    error = error_from_response(_answer(status, '{"error":"X","message":"m"}'), now=NOW)
    assert type(error) is expected
    assert error.status == status


def test_fact_14_json_error_body_gives_code_and_message() -> None:
    body = (
        '{"error":"NOT_FOUND","error_details":"valid product_id is required","message":"valid product_id is required"}'
    )
    error = error_from_response(_answer(404, body, **{"trace-id": "abc"}), now=NOW)
    assert error.code == "NOT_FOUND"
    assert "valid product_id is required" in str(error)
    assert error.trace_id == "abc"
    assert "trace_id=abc" in str(error)


def test_fact_14_error_details_used_when_message_missing() -> None:
    error = error_from_response(_answer(400, '{"error":"INVALID_ARGUMENT","error_details":"bad granularity"}'), now=NOW)
    assert "bad granularity" in error.message


def test_fact_14_html_429_does_not_crash_and_keeps_the_title() -> None:
    page = "<html><head><title>429 Too Many Requests</title></head><body>slow down</body></html>"
    error = error_from_response(_answer(429, page, content_type="text/html", **{"Retry-After": "3"}), now=NOW)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 3.0
    assert "HTML page: 429 Too Many Requests" in str(error)
    assert "<body>" not in str(error)


def test_fact_14_html_without_title_is_named_an_html_page() -> None:
    error = error_from_response(
        _answer(502, "<html><body>bad gateway</body></html>", content_type="text/html"), now=NOW
    )
    assert isinstance(error, ServerError)
    assert error.message.endswith("HTML page")


def test_fact_14_plain_text_401_and_404_bodies() -> None:
    unauthorized = error_from_response(_answer(401, "Unauthorized", content_type="text/plain"), now=NOW)
    assert isinstance(unauthorized, AuthenticationError)
    assert str(unauthorized).startswith("Unauthorized")
    missing = error_from_response(_answer(404, "404 page not found\n", content_type="text/plain"), now=NOW)
    assert isinstance(missing, NotFoundError)
    assert "404 page not found" in str(missing)


def test_broken_json_error_body_is_kept_as_text() -> None:
    error = error_from_response(_answer(500, "{not json"), now=NOW)
    assert "{not json" in error.message


def test_empty_error_body_uses_the_reason_phrase() -> None:
    error = error_from_response(_answer(503, ""), now=NOW)
    assert error.message == "Service Unavailable"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("2.5", now=NOW) == 2.5
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now=NOW) == pytest.approx(10.0)
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now=NOW) == 0.0
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after(" ", now=NOW) is None
    assert parse_retry_after(None, now=NOW) is None


def test_should_retry_only_transient_errors() -> None:
    assert should_retry(RateLimitedError("x"))
    assert should_retry(ServerError("x"))
    assert should_retry(TransportError("x"))
    assert not should_retry(UnknownOutcomeError("x", client_order_id="c"))
    assert not should_retry(InvalidRequestError("x"))
    assert not should_retry(AuthenticationError("x"))
    assert not should_retry(ValueError("x"))


def _httpx_error_classes() -> list[type[httpx.HTTPError]]:
    found = []
    for _, value in inspect.getmembers(httpx, inspect.isclass):
        if issubclass(value, httpx.HTTPError) and value not in (
            httpx.HTTPError,
            httpx.RequestError,
            httpx.TransportError,
        ):
            found.append(value)
    return found


@pytest.mark.parametrize("kind", _httpx_error_classes(), ids=lambda kind: kind.__name__)
def test_every_httpx_failure_is_mapped_explicitly(kind: type[httpx.HTTPError]) -> None:
    mapped = [entry for entry in errors._HTTPX_ERRORS if issubclass(kind, entry[0])]
    assert mapped, f"{kind.__name__} has no entry in the httpx error table"
    request = httpx.Request("GET", "https://api.coinbase.com/x")
    if kind is httpx.HTTPStatusError:
        exc: httpx.HTTPError = kind("boom", request=request, response=httpx.Response(500, request=request))
    else:
        exc = kind("boom", request=request)
    error = error_from_exception(exc)
    assert isinstance(error, CoinbaseError)
    assert "boom" in str(error)


def test_connect_failures_surely_never_arrived_but_read_timeouts_may_have() -> None:
    connect = error_from_exception(httpx.ConnectError("refused"))
    read = error_from_exception(httpx.ReadTimeout("slow"))
    assert isinstance(connect, TransportError)
    assert isinstance(read, TransportError)
    assert not connect.may_have_arrived
    assert read.may_have_arrived


def test_every_error_is_a_cryptoj_error_and_documented_in_the_tree() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        value = getattr(errors, name)
        if inspect.isclass(value):
            assert issubclass(value, CryptojError)
            assert name in doc, f"{name} is missing from the hierarchy drawing"


def test_a_future_httpx_failure_is_read_as_maybe_sent() -> None:
    class NewFailure(httpx.HTTPError):
        pass

    error = error_from_exception(NewFailure("new"))
    assert isinstance(error, TransportError)
    assert error.may_have_arrived


def test_prefect_retry_condition_follows_should_retry() -> None:
    from prefect.states import Completed, Failed

    from cryptoj.coinbase.errors import retry_condition

    assert retry_condition(None, None, Failed(data=ServerError("502")))
    assert not retry_condition(None, None, Failed(data=UnknownOutcomeError("?", client_order_id="c")))
    assert not retry_condition(None, None, Failed(data=InvalidRequestError("bad")))
    assert not retry_condition(None, None, Completed(data=1))


def test_may_have_taken_effect_reads_the_cause_of_each_kind_of_failure() -> None:
    def translated(exc: httpx.HTTPError) -> CoinbaseError:
        error = error_from_exception(exc)
        error.__cause__ = exc
        return error

    assert may_have_taken_effect(error_from_response(_answer(503, "{}"), now=NOW))
    assert not may_have_taken_effect(error_from_response(_answer(400, "{}"), now=NOW))
    assert may_have_taken_effect(translated(httpx.ReadTimeout("slow")))
    assert not may_have_taken_effect(translated(httpx.ConnectError("refused")))
    assert may_have_taken_effect(translated(httpx.DecodingError("bad gzip")))
    assert not may_have_taken_effect(translated(httpx.UnsupportedProtocol("ftp")))
    odd = UnexpectedResponseError("odd")
    odd.__cause__ = type("NewFailure", (httpx.HTTPError,), {})("new")
    assert may_have_taken_effect(odd)  # an httpx failure we do not know yet: maybe sent


REAL_TRACE_ID = "6459377472123480980"


def _twice(status: int, text: str) -> httpx.Response:
    request = httpx.Request("GET", "https://api.coinbase.com/api/v3/brokerage/accounts")
    headers = [("Content-Type", "application/json"), ("trace-id", REAL_TRACE_ID), ("trace-id", REAL_TRACE_ID)]
    return httpx.Response(status, text=text, headers=headers, request=request)


def test_fact_18_a_trace_id_sent_twice_is_kept_once() -> None:
    answer = _twice(404, '{"error":"NOT_FOUND","message":"order with this orderID was not found"}')
    assert answer.headers["trace-id"] == f"{REAL_TRACE_ID}, {REAL_TRACE_ID}"  # what httpx joins them into
    error = error_from_response(answer, now=NOW)
    assert error.trace_id == REAL_TRACE_ID
    assert str(error).endswith(f"trace_id={REAL_TRACE_ID})")


def test_trace_ids_that_differ_are_all_kept_once_each() -> None:
    request = httpx.Request("GET", "https://api.coinbase.com/api/v3/brokerage/accounts")
    headers = [("trace-id", "1"), ("trace-id", "2, 1")]
    assert trace_id_of(httpx.Response(500, headers=headers, request=request)) == "1, 2"
    assert trace_id_of(httpx.Response(500, request=request)) is None


def test_fact_28_account_not_available_is_a_passing_state_to_retry() -> None:
    body = (
        '{"error":"INVALID_ARGUMENT","error_details":"account is not available","message":"account is not available"}'
    )
    error = error_from_response(_answer(400, body), now=NOW)
    assert isinstance(error, AccountUnavailableError)
    assert should_retry(error)
    assert (error.status, error.code) == (400, "INVALID_ARGUMENT")
    assert not may_have_taken_effect(error)  # a definite answer: nothing happened
    other = error_from_response(
        _answer(400, '{"error":"INVALID_ARGUMENT","message":"valid product_id is required"}'), now=NOW
    )
    assert type(other) is InvalidRequestError
