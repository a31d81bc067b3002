"""What went over the wire in a benchmark: each request's send time, status and bytes, at a transport; or
every byte of every connection, at a TCP relay.

`RecordingTransport` sits where tests put transports (under the client, or under `open_runtime`'s guard):
it notes the monotonic time just before the request is handed to the real transport (on loopback, the
moment it is written) and when its answer's body is in, with the status and both sizes. Sizes are the
HTTP/1.1 bytes: request line, headers and body; status line, headers and body as received (compressed
bodies counted compressed, as they travel).
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

__all__ = ["ByteRelay", "Exchange", "RecordingTransport", "median_p95"]


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


class ByteRelay:
    """A TCP relay on 127.0.0.1 in its own thread, forwarding to `target_port` and counting bytes each way.

    For what a test cannot put a transport under (a flow that builds its own client, a WebSocket): point it
    at `port` instead of the server's. `up` counts client-to-server bytes, `down` the answers, both as the
    sockets carry them (TLS, WebSocket framing and compression included when used).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = 0
        self.down = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="byte-relay", daemon=True)

    def __enter__(self) -> ByteRelay:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the relay did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        pipes = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        asyncio.get_running_loop().call_soon(self._loop.stop)

    def reset(self) -> None:
        """Count from zero again."""
        self.up = self.down = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._pipe(client_reader, server_writer, up=True), self._pipe(server_reader, client_writer, up=False)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool) -> None:
        try:
            while chunk := await reader.read(1 << 16):
                if up:
                    self.up += len(chunk)
                else:
                    self.down += len(chunk)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
