"""The request chain under every client method: rate limit, retry, one signed send, decode.

`RestSession.call` runs ``_with_retries -> _send_single`` (httpx's own `send -> _send_single_request`
shape). Errors come from `error_from_response`/`error_from_exception` only; `should_retry` decides.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from http.cookiejar import CookieJar
from typing import Any, Generic, TypeVar

import httpx
import msgspec
from pydantic import BaseModel, ValidationError

from cryptoj.coinbase._ratelimit import TokenBucket
from cryptoj.coinbase.auth import CdpKey, build_rest_jwt
from cryptoj.coinbase.errors import (
    AuthenticationError,
    CoinbaseError,
    RateLimitedError,
    UnexpectedResponseError,
    UnknownOutcomeError,
    error_from_exception,
    error_from_response,
    may_have_taken_effect,
    should_retry,
    trace_id_of,
)
from cryptoj.coinbase.models.common import describe_validation, loads_exact

__all__ = ["API_PREFIX", "Answer", "Backoff", "CdpAuth", "NoCookies", "RestSession", "RetryMode"]

API_PREFIX = "/api/v3/brokerage"
_log = logging.getLogger("cryptoj.coinbase")

M = TypeVar("M", bound=BaseModel)
Params = Mapping[str, str | int | Sequence[str] | None]


class RetryMode(Enum):
    """Whether a request may be sent again after a transient failure."""

    SAFE = "safe"  # reads and previews: repeating them changes nothing
    ORDER = "order"  # order creation: repeated under the same client_order_id, which Coinbase deduplicates
    # Cancels: repeated only while no attempt may have reached Coinbase (connect failure, 429). A cancel
    # repeated after one that took effect answers "failed" for orders that are in fact cancelled.
    UNSENT = "unsent"
    NEVER = "never"  # edits: a repeat could apply twice; fail and let the caller look


class NoCookies(CookieJar):
    """A cookie jar that keeps nothing: the client never sends cookies (requests are built without them).

    Coinbase's CDN sets one (`__cf_bm`) on answers; httpx's default jar parses and stores every one of
    them, a tenth of the client's CPU per request (measured), for cookies nothing reads.
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Keep nothing."""


class CdpAuth(httpx.Auth):
    """Signs each request with a fresh ES256/EdDSA JWT whose `uri` is ``"METHOD host[:port]/path"``."""

    def __init__(self, key: CdpKey, *, host: str) -> None:
        self._key = key
        self._host = host

    def __repr__(self) -> str:
        return f"CdpAuth(host={self._host!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = build_rest_jwt(self._key, method=request.method, host=self._host, path=request.url.path)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, honouring the venue's hint.

    Parameters:
        base: first ceiling in seconds; doubles per attempt.
        cap: largest ceiling.
        max_hint: a Retry-After (or rate-limit reset) longer than this is not waited out: the error is raised.
    """

    base: float = 0.5
    cap: float = 20.0
    max_hint: float = 60.0

    def delay(self, attempt: int, *, jitter: float, hint: float | None) -> float:
        """Seconds before retry number `attempt` (0-based); `jitter` is a uniform draw in [0, 1)."""
        spread: float = min(self.cap, self.base * float(2**attempt)) * jitter
        return spread if hint is None else max(hint, spread)


class RestSession:
    """One pooled httpx.AsyncClient plus the retry, rate-limit and decode steps every endpoint shares.

    Parameters:
        client: the pooled httpx client (base URL set, no auth).
        auth: signs private requests; None means only public endpoints work.
        public_bucket / private_bucket: client-side budgets.
        timeout: seconds per attempt (the client's own timeout).
        max_retries: retries after the first attempt.
        retry_deadline: seconds from a call's start within which its retries must run: a retry that would
            start later is not made, and a retry's timeout is cut to the time left.
        backoff: the delay policy.
        clock, sleep, jitter, wall_clock: injected so tests never wait (time.monotonic, asyncio.sleep,
            random.random, time.time).
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        auth: CdpAuth | None,
        public_bucket: TokenBucket,
        private_bucket: TokenBucket,
        timeout: float,
        max_retries: int,
        retry_deadline: float,
        backoff: Backoff,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        jitter: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self.client = client
        self._base_url = str(client.base_url).rstrip("/")
        self._auth = auth
        self._public = public_bucket
        self._private = private_bucket
        self._timeout = timeout
        self._max_retries = max_retries
        self._deadline = retry_deadline
        self._backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._wall_clock = wall_clock

    @property
    def authenticated(self) -> bool:
        """Whether private endpoints can be called."""
        return self._auth is not None

    async def call(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        params: Params | None = None,
        body: dict[str, Any] | None = None,
        public: bool = False,
        retry: RetryMode = RetryMode.SAFE,
        client_order_id: str | None = None,
        order_ids: tuple[str, ...] = (),
    ) -> M:
        """Send one logical request (with its retries) and decode the answer into `model`.

        For a write (`retry` other than SAFE), `client_order_id` or `order_ids` name what it touches: an
        attempt that may have reached Coinbase without a definite answer ends in `UnknownOutcomeError`.
        """
        answer = await self.exchange(
            method, path, model, params=params, body=body, public=public, retry=retry,
            client_order_id=client_order_id, order_ids=order_ids,
        )  # fmt: skip
        return answer.value

    async def exchange(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        params: Params | None = None,
        body: dict[str, Any] | None = None,
        public: bool = False,
        retry: RetryMode = RetryMode.SAFE,
        client_order_id: str | None = None,
        order_ids: tuple[str, ...] = (),
    ) -> Answer[M]:
        """Like `call`, returning the `Answer`: the value, the raw response, and whether it settles a write."""
        if not public and self._auth is None:
            raise AuthenticationError(f"{method} {path} needs an API key; only public endpoints work without one")
        url, query = API_PREFIX + path, _clean(params)

        def build(timeout: float | None) -> httpx.Request:
            # A new request per attempt: each is signed afresh and none shares mutable state with the last.
            # Built directly rather than by client.build_request, which re-merges URL, headers and cookies
            # on every call (a third of the client's own CPU per request, measured); we use neither cookies
            # nor per-request headers, so the client's default headers are all there is to merge.
            # No timeout given: the client's own applies (httpx sets it on send).
            extensions = {} if timeout is None else {"timeout": httpx.Timeout(timeout).as_dict()}
            return httpx.Request(
                method, self._base_url + url, params=query, json=body, headers=self.client.headers,
                extensions=extensions,
            )  # fmt: skip

        write = None if retry is RetryMode.SAFE else _Write(client_order_id, order_ids)
        response, ambiguous = await self._with_retries(build, public=public, retry=retry, write=write)
        try:
            return Answer(decode(response, model), response, write=write, ambiguous=ambiguous)
        except UnexpectedResponseError as exc:
            if write is not None:
                # Coinbase answered 2xx but we cannot read it: the write may well have taken effect.
                raise write.unknown("answered but unreadable", exc) from exc
            raise

    async def _with_retries(
        self,
        build: Callable[[float | None], httpx.Request],
        *,
        public: bool,
        retry: RetryMode,
        write: _Write | None,
    ) -> tuple[httpx.Response, bool]:
        """The 2xx answer, and whether an earlier attempt may have reached Coinbase without a definite answer."""
        bucket = self._public if public else self._private
        may_have_arrived = False  # has any attempt possibly reached Coinbase without a definite answer?
        attempt = 0
        started = self._clock()
        while True:
            await bucket.acquire()
            # The first attempt has the client's timeout; a retry, at most the time left before the deadline.
            left = self._deadline - (self._clock() - started)
            request = build(None if attempt == 0 else max(0.0, min(self._timeout, left)))
            error = await self._send_single(request, public=public, bucket=bucket)
            if isinstance(error, httpx.Response):
                return error, may_have_arrived
            if may_have_taken_effect(error):
                may_have_arrived = True
            hint = error.retry_after if isinstance(error, RateLimitedError) else None
            repeatable = retry in (RetryMode.SAFE, RetryMode.ORDER) or (
                retry is RetryMode.UNSENT and not may_have_arrived
            )
            give_up = (
                not repeatable
                or not should_retry(error)
                or attempt >= self._max_retries
                or (hint is not None and hint > self._backoff.max_hint)
            )
            delay = 0.0 if give_up else self._backoff.delay(attempt, jitter=self._jitter(), hint=hint)
            if not give_up and self._clock() - started + delay >= self._deadline:
                _log.warning(
                    "giving up %s %s after %s: a retry in %.2fs would start past the %.0fs deadline",
                    request.method, request.url.path, type(error).__name__, delay, self._deadline,
                )  # fmt: skip
                give_up = True
            if give_up:
                if write is not None and may_have_arrived:
                    # Decided here: after an ambiguous send the write may have taken effect, whatever the last
                    # attempt said (short of a definite answer, which returns above). The caller looks it up.
                    raise write.unknown(f"sent, no definite answer after {attempt + 1} attempt(s)", error) from error
                raise error
            _log.warning(
                "retrying %s %s in %.2fs after %s", request.method, request.url.path, delay, type(error).__name__
            )
            attempt += 1
            await self._sleep(delay)

    async def _send_single(
        self, request: httpx.Request, *, public: bool, bucket: TokenBucket
    ) -> httpx.Response | CoinbaseError:
        """One attempt: the answer on success, else the mapped error (returned, so the loop decides)."""
        try:
            response = await self.client.send(request, auth=None if public else self._auth)
        except httpx.HTTPError as exc:
            error = error_from_exception(exc)
            error.__cause__ = exc
            return error
        self._observe_budget(response, bucket)
        if response.is_success:
            return response
        error = error_from_response(response, now=self._wall_clock())
        if isinstance(error, RateLimitedError):
            if error.retry_after is None:
                error.retry_after = self._reset_in(response)
            if error.retry_after is not None:
                # Every caller sharing the budget waits, not just this one: no storm of concurrent 429s.
                bucket.hold(min(error.retry_after, self._backoff.max_hint))
        return error

    def _observe_budget(self, response: httpx.Response, bucket: TokenBucket) -> None:
        # x-ratelimit-remaining 0 means the next request would draw a 429: hold the bucket until the reset.
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.strip() == "0":
            wait = self._reset_in(response)
            if wait is not None:
                bucket.hold(min(wait, self._backoff.max_hint))

    def _reset_in(self, response: httpx.Response) -> float | None:
        # x-ratelimit-reset is undocumented: an epoch-seconds value is read as such, a small one as a delta.
        raw = response.headers.get("x-ratelimit-reset")
        try:
            value = float(raw) if raw is not None else None
        except ValueError:
            return None
        if value is None:
            return None
        return max(0.0, value - self._wall_clock()) if value > 1e9 else max(0.0, value)


@dataclass(frozen=True, slots=True)
class Answer(Generic[M]):
    """A decoded 2xx answer, its raw response, and what it can say about the write it answers.

    Parameters:
        value: the decoded body.
        response: the raw answer (headers such as `trace-id`).
        write: what the write touches; None for reads.
        ambiguous: whether an earlier attempt may have reached Coinbase without a definite answer.
    """

    value: M
    response: httpx.Response
    write: _Write | None = None
    ambiguous: bool = False

    @property
    def trace_id(self) -> str | None:
        """The answer's `trace-id`, once."""
        return trace_id_of(self.response)

    def settle(self, failure: CoinbaseError) -> CoinbaseError:
        """The error to raise for a failure this answer reports (`success: false`).

        The failure itself when the answer decides the write; `UnknownOutcomeError` keeping it when an earlier
        attempt may have acted unanswered (a retry's rejection cannot say that attempt did nothing).
        """
        if self.write is None or not self.ambiguous:
            return failure
        unknown = self.write.unknown("an earlier attempt may have reached Coinbase unanswered; a retry got", failure)
        unknown.__cause__ = failure
        return unknown


@dataclass(frozen=True, slots=True)
class _Write:
    """What an order write touches, to name it when its outcome is unknown."""

    client_order_id: str | None
    order_ids: tuple[str, ...]

    def unknown(self, what: str, error: CoinbaseError) -> UnknownOutcomeError:
        if self.client_order_id is not None:
            subject = f"order {self.client_order_id}"
        else:
            shown = ", ".join(self.order_ids[:3]) + (", ..." if len(self.order_ids) > 3 else "")
            subject = f"write to order(s) {shown}"
        return UnknownOutcomeError(
            f"{subject}: {what}: {error}",
            client_order_id=self.client_order_id,
            order_ids=self.order_ids,
            last_error=error,
            status=error.status,
            code=error.code,
            trace_id=error.trace_id,
        )


def _clean(params: Params | None) -> dict[str, Any] | None:
    """Drop unset options; lists become repeated keys (`product_ids=A&product_ids=B`), as Coinbase expects."""
    if params is None:
        return None
    return {name: value for name, value in params.items() if value is not None and value != []}


def decode(response: httpx.Response, model: type[M]) -> M:
    """Validate a 2xx body, its JSON numbers read exactly; a misfit names the fields, never echoes values."""
    where = f"{response.request.url.path}: answer"
    try:
        data = loads_exact(response.content)
    except msgspec.DecodeError as exc:
        raise UnexpectedResponseError(
            f"{where} is not JSON ({model.__name__} expected)",
            status=response.status_code,
            trace_id=trace_id_of(response),
        ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UnexpectedResponseError(
            f"{where} does not fit {model.__name__}: {describe_validation(exc)}",
            status=response.status_code,
            trace_id=trace_id_of(response),
        ) from exc
