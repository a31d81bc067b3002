"""Retry policy of the client, driven by faults injected through the transport (time is fake: nothing waits)."""

from __future__ import annotations

import ast
import os
import random
import ssl
from decimal import Decimal

import httpcore
import httpx
import pytest

from cryptoj.coinbase._http import Backoff
from cryptoj.coinbase._jitter import jitter as own_jitter
from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.errors import (
    AuthenticationError,
    CertificateError,
    EditRejectedError,
    InvalidRequestError,
    NotFoundError,
    OrderRejectedError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    UnknownOutcomeError,
    should_retry,
)
from cryptoj.coinbase.models import (
    ClosePositionRequest,
    CreateOrderRequest,
    EditOrderRequest,
    MarketConfig,
    OrderConfiguration,
)
from cryptoj.errors import ConfigurationError
from tests.unit.coinbase.conftest import MakeClient, Script, json_response
from tests.utils.fixtures.coinbase import FakeTime

ACCOUNTS = {"accounts": [], "has_next": False, "cursor": "", "size": 0}
CANCELLED = {"results": [{"success": True, "order_id": "o-1"}, {"success": True, "order_id": "o-2"}]}
PLACED = {
    "success": True,
    "failure_reason": "UNKNOWN_FAILURE_REASON",
    "success_response": {"order_id": "o-1", "product_id": "BTC-USD", "side": "BUY", "client_order_id": "c-1"},
}


def _order(client_order_id: str = "c-1") -> CreateOrderRequest:
    return CreateOrderRequest(
        client_order_id=client_order_id,
        product_id="BTC-USD",
        side="BUY",
        order_configuration=OrderConfiguration(market_market_ioc=MarketConfig(quote_size=Decimal("10"))),
    )


async def test_reads_retry_5xx_with_growing_jittered_backoff(make_client: MakeClient, fake_time: FakeTime) -> None:
    script = Script(httpx.Response(503), httpx.Response(502), json_response(ACCOUNTS))
    async with make_client(script) as client:
        await client.list_accounts()
    assert len(script.requests) == 3
    # jitter is pinned to 0.5: 0.5 * base * 2**attempt
    assert fake_time.sleeps == [0.25, 0.5]


async def test_each_retry_is_signed_with_a_fresh_jwt(make_client: MakeClient) -> None:
    script = Script(httpx.Response(500), json_response(ACCOUNTS))
    async with make_client(script) as client:
        await client.list_accounts()
    first, second = (request.headers["Authorization"] for request in script.requests)
    assert first != second


async def test_backoff_is_capped() -> None:
    backoff = Backoff(base=1.0, cap=4.0)
    assert backoff.delay(10, jitter=1.0, hint=None) == 4.0
    assert backoff.delay(0, jitter=0.0, hint=3.0) == 3.0


async def test_429_waits_what_retry_after_says(make_client: MakeClient, fake_time: FakeTime) -> None:
    script = Script(
        httpx.Response(429, text="<html>slow</html>", headers={"Retry-After": "7"}), json_response(ACCOUNTS)
    )
    async with make_client(script) as client:
        await client.list_accounts()
    assert fake_time.sleeps == [7.0]


async def test_429_without_retry_after_uses_the_rate_limit_reset(make_client: MakeClient, fake_time: FakeTime) -> None:
    reset = str(int(fake_time.now) + 4)
    script = Script(
        httpx.Response(429, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}),
        json_response(ACCOUNTS),
    )
    async with make_client(script) as client:
        await client.list_accounts()
    # the reset holds the bucket and also sets the retry delay
    assert sum(fake_time.sleeps) >= 4.0


async def test_a_retry_after_longer_than_the_limit_is_raised_not_waited(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}))
    async with make_client(script) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.list_accounts()
    assert caught.value.retry_after == 3600.0
    assert fake_time.sleeps == []


async def test_retries_stop_after_max_retries(make_client: MakeClient) -> None:
    script = Script(*[httpx.Response(500) for _ in range(3)])
    async with make_client(script, max_retries=2) as client:
        with pytest.raises(ServerError):
            await client.list_accounts()
    assert len(script.requests) == 3


async def test_transport_faults_are_retried_then_translated(make_client: MakeClient) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    async with make_client(script, max_retries=1) as client:
        with pytest.raises(TransportError) as caught:
            await client.list_accounts()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, InvalidRequestError), (401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError)],
)
async def test_client_errors_are_never_retried(make_client: MakeClient, status: int, error: type[Exception]) -> None:
    script = Script(json_response({"error": "E", "message": "no"}, status=status))
    async with make_client(script) as client:
        with pytest.raises(error):
            await client.list_accounts()
    assert len(script.requests) == 1


async def test_order_creation_retries_under_the_same_client_order_id(make_client: MakeClient) -> None:
    script = Script(httpx.ReadTimeout("no answer"), json_response(PLACED))
    async with make_client(script) as client:
        response = await client.create_order(_order())
    assert response.success_response is not None
    bodies = [request.content for request in script.requests]
    assert bodies[0] == bodies[1]
    assert b'"client_order_id":"c-1"' in bodies[0]


async def test_unanswered_order_surfaces_as_unknown_outcome_with_its_id(make_client: MakeClient) -> None:
    script = Script(httpx.ReadTimeout("no answer"), httpx.Response(502), httpx.ReadTimeout("no answer"))
    async with make_client(script, max_retries=2) as client:
        with pytest.raises(UnknownOutcomeError) as caught:
            await client.create_order(_order("c-42"))
    assert caught.value.client_order_id == "c-42"
    assert isinstance(caught.value.__cause__, TransportError)


async def test_order_5xx_after_send_is_an_unknown_outcome(make_client: MakeClient) -> None:
    script = Script(httpx.Response(500))
    async with make_client(script, max_retries=0) as client:
        with pytest.raises(UnknownOutcomeError):
            await client.create_order(_order())


@pytest.mark.parametrize("fault", [httpx.DecodingError("bad gzip"), httpx.TooManyRedirects("loop")])
async def test_an_order_answered_but_undecodable_is_an_unknown_outcome(
    make_client: MakeClient, fault: httpx.HTTPError
) -> None:
    script = Script(fault)
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError) as caught:
            await client.create_order(_order("c-8"))
    assert caught.value.client_order_id == "c-8"
    assert len(script.requests) == 1


async def test_an_order_the_client_could_not_even_send_is_not_unknown(make_client: MakeClient) -> None:
    script = Script(httpx.UnsupportedProtocol("no such scheme"))
    async with make_client(script) as client:
        with pytest.raises(UnexpectedResponseError) as caught:
            await client.create_order(_order())
    assert not isinstance(caught.value, UnknownOutcomeError)


async def test_order_that_surely_never_left_is_a_plain_transport_error(make_client: MakeClient) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    async with make_client(script, max_retries=1) as client:
        with pytest.raises(TransportError) as caught:
            await client.create_order(_order())
    assert not isinstance(caught.value, UnknownOutcomeError)


async def test_order_refused_after_an_ambiguous_attempt_is_still_unknown(make_client: MakeClient) -> None:
    script = Script(httpx.ReadTimeout("no answer"), httpx.Response(401, text="Unauthorized"))
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError):
            await client.create_order(_order())


async def test_order_rate_limited_only_is_not_unknown(make_client: MakeClient) -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "1"}))
    async with make_client(script, max_retries=0) as client:
        with pytest.raises(RateLimitedError):
            await client.create_order(_order())


async def test_edits_are_never_retried_and_an_unanswered_edit_is_an_unknown_outcome(make_client: MakeClient) -> None:
    script = Script(httpx.ReadTimeout("no answer"))
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError) as caught:
            await client.edit_order(EditOrderRequest(order_id="o-1", price=Decimal("1")))
    assert len(script.requests) == 1
    assert caught.value.order_ids == ("o-1",)
    assert caught.value.client_order_id is None
    assert not should_retry(caught.value)  # a Prefect retry_condition will not resend it either


async def test_an_edit_that_surely_never_left_is_a_plain_transport_error(make_client: MakeClient) -> None:
    script = Script(httpx.ConnectError("refused"))
    async with make_client(script) as client:
        with pytest.raises(TransportError) as caught:
            await client.edit_order(EditOrderRequest(order_id="o-1", price=Decimal("1")))
    assert not isinstance(caught.value, UnknownOutcomeError)
    assert len(script.requests) == 1


@pytest.mark.parametrize("fault", [httpx.ReadTimeout("no answer"), httpx.Response(502, text="<html>502</html>")])
async def test_a_cancel_that_may_have_arrived_is_not_repeated_but_unknown(
    make_client: MakeClient, fault: httpx.Response | Exception
) -> None:
    script = Script(fault, json_response(CANCELLED))
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError) as caught:
            await client.cancel_orders(["o-1", "o-2"])
    assert len(script.requests) == 1
    assert caught.value.order_ids == ("o-1", "o-2")


async def test_a_cancel_refused_before_it_arrived_is_retried(make_client: MakeClient, fake_time: FakeTime) -> None:
    script = Script(
        httpx.ConnectError("refused"), httpx.Response(429, headers={"Retry-After": "2"}), json_response(CANCELLED)
    )
    async with make_client(script) as client:
        response = await client.cancel_orders(["o-1", "o-2"])
    assert [result.success for result in response.results] == [True, True]
    assert len(script.requests) == 3
    assert fake_time.sleeps[-1] == 2.0


async def test_an_unreadable_cancel_answer_is_an_unknown_outcome(make_client: MakeClient) -> None:
    script = Script(httpx.Response(200, text="<html>gateway page</html>"))
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError, match="unreadable"):
            await client.cancel_orders(["o-1"])


async def test_a_success_body_that_does_not_fit_names_the_field(make_client: MakeClient) -> None:
    script = Script(json_response({"accounts": [{"name": "x"}]}))
    async with make_client(script) as client:
        with pytest.raises(UnexpectedResponseError, match=r"accounts\.0\.uuid") as caught:
            await client.list_accounts()
    assert caught.value.trace_id == "trace-123"


async def test_a_non_json_success_body_is_an_unexpected_response(make_client: MakeClient) -> None:
    script = Script(httpx.Response(200, text="<html>maintenance</html>"))
    async with make_client(script) as client:
        with pytest.raises(UnexpectedResponseError, match="ListAccountsResponse"):
            await client.list_accounts()


async def test_an_unreadable_order_answer_is_an_unknown_outcome(make_client: MakeClient) -> None:
    script = Script(httpx.Response(200, text="<html>gateway page</html>", headers={"trace-id": "t-9"}))
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError, match="unreadable") as caught:
            await client.create_order(_order("c-7"))
    assert caught.value.client_order_id == "c-7"
    assert caught.value.trace_id == "t-9"
    assert isinstance(caught.value.__cause__, UnexpectedResponseError)


TWICE = [("trace-id", "6459377472123480980"), ("trace-id", "6459377472123480980")]


async def test_fact_18_an_order_rejection_keeps_one_trace_id(make_client: MakeClient) -> None:
    body = {"success": False, "error_response": {"error": "INSUFFICIENT_FUND"}}
    script = Script(httpx.Response(200, json=body, headers=TWICE))
    async with make_client(script) as client:
        with pytest.raises(OrderRejectedError) as caught:
            await client.create_order(_order())
    assert caught.value.trace_id == "6459377472123480980"


async def test_fact_18_an_unreadable_answer_keeps_one_trace_id(make_client: MakeClient) -> None:
    script = Script(httpx.Response(200, text="<html>gateway page</html>", headers=TWICE))
    async with make_client(script) as client:
        with pytest.raises(UnexpectedResponseError) as caught:
            await client.list_accounts()
    assert caught.value.trace_id == "6459377472123480980"


def _untrusted_certificate(request: httpx.Request) -> httpx.Response:
    """What httpx raises when the server's certificate does not verify (the ssl error two causes down)."""
    failure = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    failure.verify_message = "unable to get local issuer certificate"
    try:
        try:
            raise failure
        except ssl.SSLError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
    except httpcore.ConnectError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc


async def test_a_tls_certificate_failure_is_not_retried(make_client: MakeClient, fake_time: FakeTime) -> None:
    script = Script(*[_untrusted_certificate for _ in range(5)])
    async with make_client(script, max_retries=4) as client:
        with pytest.raises(CertificateError, match="unable to get local issuer certificate") as caught:
            await client.list_accounts()
    assert len(script.requests) == 1
    assert fake_time.sleeps == []
    assert not should_retry(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_an_order_refused_by_tls_surely_never_left(make_client: MakeClient) -> None:
    script = Script(_untrusted_certificate)
    async with make_client(script) as client:
        with pytest.raises(CertificateError) as caught:
            await client.create_order(_order())
    assert not isinstance(caught.value, UnknownOutcomeError)


def _busy(seconds: int) -> httpx.Response:
    return httpx.Response(429, text="<html>slow down</html>", headers={"Retry-After": str(seconds)})


async def test_retries_stop_at_the_deadline_with_retries_left(make_client: MakeClient, fake_time: FakeTime) -> None:
    script = Script(*[_busy(10) for _ in range(10)])
    async with make_client(script, max_retries=9, retry_deadline=25.0) as client:
        with pytest.raises(RateLimitedError):
            await client.list_accounts()
    # attempts at 0, 10 and 20 s; a fourth would start at 30 s, past the deadline
    assert len(script.requests) == 3
    assert sum(fake_time.sleeps) <= 25.0


async def test_a_retry_gets_only_the_time_left_before_the_deadline(make_client: MakeClient) -> None:
    timeouts: list[float | None] = []

    def busy(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions.get("timeout", {}).get("read"))
        return _busy(10)

    script = Script(busy, busy, busy)
    async with make_client(script, max_retries=9, timeout=10.0, retry_deadline=25.0) as client:
        with pytest.raises(RateLimitedError):
            await client.list_accounts()
    assert timeouts == [10.0, 10.0, 5.0]


async def test_retries_have_a_deadline_by_default(make_client: MakeClient, fake_time: FakeTime) -> None:
    script = Script(*[httpx.ReadTimeout("no answer") for _ in range(100)])
    async with make_client(script, max_retries=99) as client:
        with pytest.raises(TransportError):
            await client.list_accounts()
    assert len(script.requests) < 20
    assert sum(fake_time.sleeps) <= 30.0


async def test_an_order_still_unanswered_at_the_deadline_is_an_unknown_outcome(make_client: MakeClient) -> None:
    script = Script(httpx.ReadTimeout("no answer"), _busy(10), _busy(10), _busy(10))
    async with make_client(script, max_retries=9, retry_deadline=15.0) as client:
        with pytest.raises(UnknownOutcomeError) as caught:
            await client.create_order(_order("c-deadline"))
    assert caught.value.client_order_id == "c-deadline"
    assert len(script.requests) == 3


def test_a_deadline_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="retry_deadline"):
        CoinbaseAdvancedClient(retry_deadline=0)


NOT_AVAILABLE = {"error": "INVALID_ARGUMENT", "error_details": "account is not available",
                 "message": "account is not available"}  # fmt: skip
ACCOUNT = {"account": {"uuid": "a-1", "name": "BTC Wallet", "currency": "BTC",
                       "available_balance": {"value": "1", "currency": "BTC"}}}  # fmt: skip


async def test_fact_28_a_read_meeting_account_not_available_retries_with_backoff(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    script = Script(json_response(NOT_AVAILABLE, status=400), json_response(NOT_AVAILABLE, status=400),
                    json_response(ACCOUNT))  # fmt: skip
    async with make_client(script) as client:
        account = await client.get_account("a-1")
    assert account.uuid == "a-1"
    assert len(script.requests) == 3
    assert fake_time.sleeps == [0.25, 0.5]


REJECTED = {
    "success": False,
    "failure_reason": "UNKNOWN_FAILURE_REASON",
    "error_response": {"error": "INSUFFICIENT_FUND", "message": "Insufficient balance in source account",
                       "preview_failure_reason": "PREVIEW_INSUFFICIENT_FUND"},
}  # fmt: skip


@pytest.mark.parametrize("first", [httpx.ReadTimeout("no answer"), httpx.Response(502, text="<html>502</html>")])
async def test_a_rejection_after_an_attempt_that_may_have_placed_the_order_is_unknown(
    make_client: MakeClient, first: httpx.Response | Exception
) -> None:
    # The first attempt may have placed the order (its funds now held): the retry's "insufficient funds" says
    # nothing about whether the order exists.
    script = Script(first, json_response(REJECTED, headers={"trace-id": "t-retry"}))
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError) as caught:
            await client.create_order(_order("c-9"))
    unknown = caught.value
    assert unknown.client_order_id == "c-9"
    assert (unknown.status, unknown.code, unknown.trace_id) == (200, "INSUFFICIENT_FUND", "t-retry")
    assert isinstance(unknown.last_error, OrderRejectedError)
    assert unknown.last_error.preview_failure_reason == "PREVIEW_INSUFFICIENT_FUND"
    assert unknown.__cause__ is unknown.last_error
    assert "Insufficient balance" in str(unknown)
    assert not should_retry(unknown)


async def test_a_close_position_rejected_after_an_ambiguous_attempt_is_unknown(make_client: MakeClient) -> None:
    script = Script(httpx.RemoteProtocolError("connection dropped"), json_response(REJECTED))
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError) as caught:
            await client.close_position(ClosePositionRequest(client_order_id="close-1", product_id="BTC-USD"))
    assert caught.value.client_order_id == "close-1"


@pytest.mark.parametrize(
    "first", [httpx.ConnectError("refused"), httpx.Response(429, headers={"Retry-After": "1"})], ids=["connect", "429"]
)
async def test_a_rejection_after_attempts_that_surely_did_not_arrive_is_definite(
    make_client: MakeClient, first: httpx.Response | Exception
) -> None:
    script = Script(first, json_response(REJECTED))
    async with make_client(script) as client:
        with pytest.raises(OrderRejectedError) as caught:
            await client.create_order(_order())
    assert caught.value.failure_reason == "INSUFFICIENT_FUND"


async def test_a_4xx_after_an_ambiguous_order_attempt_is_unknown_and_keeps_its_details(
    make_client: MakeClient,
) -> None:
    refused = {"error": "INVALID_ARGUMENT", "message": "too many open orders"}
    script = Script(httpx.ReadTimeout("no answer"), json_response(refused, status=400, headers={"trace-id": "t-4"}))
    async with make_client(script) as client:
        with pytest.raises(UnknownOutcomeError) as caught:
            await client.create_order(_order())
    assert (caught.value.status, caught.value.code, caught.value.trace_id) == (400, "INVALID_ARGUMENT", "t-4")
    assert isinstance(caught.value.last_error, InvalidRequestError)


async def test_an_edit_rejected_on_its_only_attempt_is_definite(make_client: MakeClient) -> None:
    script = Script(json_response({"success": False, "errors": [{"edit_failure_reason": "ORDER_NOT_FOUND"}]}))
    async with make_client(script) as client:
        with pytest.raises(EditRejectedError):
            await client.edit_order(EditOrderRequest(order_id="o-1", price=Decimal("1")))


async def test_retries_leave_the_random_modules_seeded_sequence_alone(ec_key: CdpKey, fake_time: FakeTime) -> None:
    # A user who seeds `random` for a simulation gets the same numbers whether or not a request was retried.
    script = Script(httpx.Response(503), httpx.Response(502), json_response(ACCOUNTS))
    script.wall = fake_time.wall
    random.seed(19)
    expected = [random.random() for _ in range(3)]
    random.seed(19)
    client = CoinbaseAdvancedClient(  # the default jitter: what a user's client draws from
        key=ec_key,
        transport=httpx.MockTransport(script),
        clock=fake_time.monotonic,
        sleep=fake_time.sleep,
        wall_clock=fake_time.wall,
    )
    async with client:
        await client.list_accounts()
    assert len(fake_time.sleeps) == 2  # two retries, each jittered
    assert [random.random() for _ in range(3)] == expected


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_workers_draw_different_jitter() -> None:
    # Workers forked from one parent (a zygote, multiprocessing's fork) must not retry in step.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its draws, then leave without the parent's clean-up
        os.write(write, repr([own_jitter() for _ in range(4)]).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as child:
        assert ast.literal_eval(child.read()) != [own_jitter() for _ in range(4)]
