"""The request chain under every client method: clock check, rate limit, retry, one signed send, decode.

`RestSession.call` runs ``_check_clock -> _with_retries -> _send_single`` (httpx's own `send ->
_send_single_request` shape). Errors come from `error_from_response`/`error_from_exception` only;
`should_retry` decides, within `retry_deadline`. What a write's answers settle is `_outcome`'s rule;
the time JWTs are signed with is `_clock`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar
from typing import Any, TypeVar

import httpx
import msgspec
from pydantic import BaseModel, ValidationError

from cryptoj.coinbase._clock import SigningClock, offset_from
from cryptoj.coinbase._outcome import Answer, RetryMode, Write
from cryptoj.coinbase._ratelimit import TokenBucket
from cryptoj.coinbase.auth import CdpKey, build_rest_jwt
from cryptoj.coinbase.errors import (
    AuthenticationError,
    CoinbaseError,
    InvalidArgumentError,
    RateLimitedError,
    UnexpectedResponseError,
    error_from_exception,
    error_from_response,
    may_have_taken_effect,
    should_retry,
    trace_id_of,
)
from cryptoj.coinbase.models import ServerTime
from cryptoj.coinbase.models.common import describe_validation, loads_exact

__all__ = ["API_PREFIX", "Backoff", "CdpAuth", "NoCookies", "RestSession"]

API_PREFIX = "/api/v3/brokerage"
_log = logging.getLogger("cryptoj.coinbase")
_RESIGN_THEIRS = "a 401: signing again with Coinbase's time"
# Where /time is not the clock that checks JWTs (a simulator answering its simulated time).
_RESIGN_OWN = "a JWT signed with that time was refused: signing with our own clock again"

M = TypeVar("M", bound=BaseModel)
Params = Mapping[str, str | int | Sequence[str] | None]


class NoCookies(CookieJar):
    """A cookie jar that keeps nothing: the client never sends cookies (requests are built without them).

    Coinbase's CDN sets one (`__cf_bm`) on answers; httpx's default jar parses and stores every one of
    them, a tenth of the client's CPU per request (measured), for cookies nothing reads.
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Keep nothing."""


class CdpAuth(httpx.Auth):
    """Signs each request with a fresh ES256/EdDSA JWT whose `uri` is ``"METHOD host[:port]/path"``.

    Parameters:
        key: the CDP key.
        host: host[:port] the JWT `uri` names.
        clock: the time JWTs are signed with (our clock, corrected by Coinbase's: `cryptoj.coinbase._clock`).
    """

    def __init__(self, key: CdpKey, *, host: str, clock: SigningClock) -> None:
        self._key = key
        self._host = host
        self.clock = clock

    def __repr__(self) -> str:
        return f"CdpAuth(host={self._host!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = build_rest_jwt(
            self._key, method=request.method, host=self._host, path=request.url.path, now=self.clock.now()
        )
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
        auth: signs private requests; None means only public endpoints work. Its clock is set from
            `GET /time` before the first signed request and checked again after a 401.
        public_bucket / private_bucket: client-side budgets.
        timeout: seconds per attempt (the client's own timeout).
        max_retries: retries after the first attempt.
        retry_deadline: seconds from a call's start within which its retries must run: a retry that would
            start later is not made, and a retry's timeout is cut to the time left.
        backoff: the delay policy.
        clock, sleep, jitter, wall_clock: injected so tests never wait (time.monotonic, asyncio.sleep,
            `_jitter.jitter` (the operating system's generator), time.time).
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
        self._clock_read = asyncio.Lock()

    @property
    def authenticated(self) -> bool:
        """Whether private endpoints can be called."""
        return self._auth is not None

    @property
    def clock_offset(self) -> float | None:
        """Coinbase's clock minus ours (seconds) at the last `GET /time` reading; None before any."""
        return None if self._auth is None else self._auth.clock.measured

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
        if not public:
            if self._auth is None:
                raise AuthenticationError(f"{method} {path} needs an API key; only public endpoints work without one")
            await self._check_clock(self._auth.clock)
        url, query = API_PREFIX + path, _clean(params)

        def build(timeout: float | None) -> httpx.Request:
            # A new request per attempt: each is signed afresh and none shares mutable state with the last.
            # Built directly rather than by client.build_request, which re-merges URL, headers and cookies
            # on every call (a third of the client's own CPU per request, measured); we use neither cookies
            # nor per-request headers, so the client's default headers are all there is to merge.
            # No timeout given: the client's own applies (httpx sets it on send).
            extensions = {} if timeout is None else {"timeout": httpx.Timeout(timeout).as_dict()}
            try:
                return httpx.Request(
                    method, self._base_url + url, params=query, json=body, headers=self.client.headers,
                    extensions=extensions,
                )  # fmt: skip
            except (httpx.InvalidURL, UnicodeEncodeError) as exc:
                # A control character, a URL past httpx's 64 kB, a lone surrogate (no UTF-8): nothing can be sent.
                reason = "not UTF-8" if isinstance(exc, UnicodeEncodeError) else str(exc)
                raise InvalidArgumentError(f"{method} {path}: no valid request can be built ({reason})") from exc

        write = None if retry is RetryMode.SAFE else Write(client_order_id, order_ids)
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
        write: Write | None,
    ) -> tuple[httpx.Response, bool]:
        """The 2xx answer, and whether an earlier attempt may have reached Coinbase without a definite answer."""
        bucket = self._public if public else self._private
        may_have_arrived = False  # has any attempt possibly reached Coinbase without a definite answer?
        attempt = 0
        started = self._clock()
        clocks: list[float] | None = None  # after a 401: signing offsets still to try
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
            if isinstance(error, AuthenticationError) and not public and self._auth is not None:
                # A 401 is definite (nothing happened): sign again with each clock that may cure it, once.
                signing = self._auth.clock
                if clocks is None:
                    clocks = signing.alternatives(await self._read_server_clock())
                if clocks and (retry in (RetryMode.SAFE, RetryMode.ORDER) or not may_have_arrived):
                    offset = clocks.pop(0)
                    signing.use(offset, why=_RESIGN_OWN if offset == 0 else _RESIGN_THEIRS)
                    continue
                error = signing.refused(error)
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

    async def _check_clock(self, signing: SigningClock) -> None:
        """Read Coinbase's clock once, before the first signed request."""
        if signing.checked:
            return
        async with self._clock_read:
            if not signing.checked:
                signing.start(await self._read_server_clock())

    async def _read_server_clock(self) -> float | None:
        """Coinbase's clock minus ours from one `GET /time` (not retried); None when it cannot be read."""
        await self._public.acquire()
        request = httpx.Request("GET", self._base_url + API_PREFIX + "/time", headers=self.client.headers)
        sent = self._wall_clock()
        outcome = await self._send_single(request, public=True, bucket=self._public)
        received = self._wall_clock()
        if isinstance(outcome, httpx.Response):
            try:
                server = decode(outcome, ServerTime)
            except UnexpectedResponseError as exc:
                outcome = exc
            else:
                return offset_from(server, sent=sent, received=received, age=outcome.headers.get("age"))
        _log.info("could not read Coinbase's clock (GET /time): %s", outcome)
        return None

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


def _clean(params: Params | None) -> dict[str, Any] | None:
    """Drop unset options; lists become repeated keys (`product_ids=A&product_ids=B`), as Coinbase expects."""
    if params is None:
        return None
    return {name: value for name, value in params.items() if value is not None and value != []}


def decode(response: httpx.Response, model: type[M]) -> M:
    """Validate a 2xx body, its JSON numbers read exactly; a misfit names the fields, never echoes values."""
    try:
        data = loads_exact(response.content)
    except msgspec.DecodeError as exc:
        raise UnexpectedResponseError(
            f"{response.request.url.path}: answer is not JSON ({model.__name__} expected)",
            status=response.status_code,
            trace_id=trace_id_of(response),
        ) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UnexpectedResponseError(
            f"{response.request.url.path}: answer does not fit {model.__name__}: {describe_validation(exc)}",
            status=response.status_code,
            trace_id=trace_id_of(response),
        ) from exc
