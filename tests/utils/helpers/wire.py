"""What went over the wire in a benchmark: each request's send time, status and bytes, at a transport.

`RecordingTransport` sits where tests put transports (under the client, or under `open_runtime`'s guard):
it notes the monotonic time just before the request is handed to the real transport (on loopback, the
moment it is written) and when its answer's body is in, with the status and both sizes. Sizes are the
HTTP/1.1 bytes: request line, headers and body; status line, headers and body as received (compressed
bodies counted compressed, as they travel).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

__all__ = ["Exchange", "RecordingTransport", "median_p95"]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer as the transport saw them."""

    method: str
    path: str
    sent: float  # monotonic seconds, just before the request was written
    answered: float  # monotonic seconds, after the answer's body was read
    status: int
    bytes_out: int
    bytes_in: int


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends through `inner` (a fresh loopback transport by default) and records every exchange."""

    inner: httpx.AsyncBaseTransport = field(default_factory=lambda: httpx.AsyncHTTPTransport(retries=0))
    clock: Callable[[], float] = time.perf_counter
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sent = self.clock()
        response = await self.inner.handle_async_request(request)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])  # as travelled (still encoded)
        await response.aclose()
        answered = self.clock()
        self.exchanges.append(
            Exchange(
                method=request.method,
                path=request.url.path,
                sent=sent,
                answered=answered,
                status=response.status_code,
                bytes_out=_request_head(request) + len(body),
                bytes_in=_response_head(response) + len(raw),
            )
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=raw, extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    def matching(self, method: str, suffix: str) -> list[Exchange]:
        """The exchanges of `method` whose path ends with `suffix`, in order."""
        return [e for e in self.exchanges if e.method == method and e.path.endswith(suffix)]

    @property
    def bytes_total(self) -> int:
        """Bytes both ways, over every exchange."""
        return sum(e.bytes_out + e.bytes_in for e in self.exchanges)


def _request_head(request: httpx.Request) -> int:
    line = len(request.method) + len(request.url.raw_path) + len(" HTTP/1.1\r\n") + 1
    return line + sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2


def _response_head(response: httpx.Response) -> int:
    line = len(b"HTTP/1.1 200 ") + len(response.reason_phrase) + 2
    return line + sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 2


def median_p95(values: Iterable[float]) -> tuple[float, float]:
    """The median and the 95th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(0, -(-len(ordered) * 95 // 100) - 1)
    return statistics.median(ordered), ordered[rank]
