"""Recordings of raw WebSocket frames (JSONL) and a local server that replays them.

A recording line is ``{"t": <seconds since the first frame>, "at": <epoch seconds>, "frame": "<raw text>"}``
(`at` ties a frame to logs; replay needs only `t` and `frame`). Only received
frames are recorded: what we send carries JWTs, and none of it is needed to replay a session.
`ReplayServer` serves a recording on loopback: it waits for the client's first subscribe (within 5 s, as
Coinbase does), then sends the frames in order, so a real capture becomes a deterministic test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from cryptoj.coinbase.ws_errors import WebSocketError

__all__ = ["FrameRecorder", "RecordedFrame", "RecordingError", "ReplayServer", "read_recording"]

RecordedFrame = tuple[float, str]  # seconds since the first frame, raw frame text


class RecordingError(WebSocketError):
    """A recording file cannot be read: a line is not a frame record."""


class FrameRecorder:
    """Append raw frames with their receive times to a JSONL file.

    Parameters:
        path: the file (created or truncated).
        clock: monotonic seconds, for the offsets `t` (injectable for tests).
        wall: epoch seconds, for `at`.
    """

    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self._clock = clock
        self._wall = wall
        self._file: IO[bytes] | None = None
        self._start: float | None = None
        self.count = 0

    def record(self, frame: str | bytes) -> None:
        """Append one frame (bytes frames are kept as their UTF-8 text)."""
        if self._file is None:
            self._file = self.path.open("wb")
        now = self._clock()
        if self._start is None:
            self._start = now
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        record = {"t": round(now - self._start, 6), "at": round(self._wall(), 6), "frame": text}
        self._file.write(orjson.dumps(record) + b"\n")
        self.count += 1

    def close(self) -> None:
        """Flush and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> FrameRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_recording(path: Path) -> list[RecordedFrame]:
    """Load a JSONL recording; a malformed line raises `RecordingError` naming the line."""
    frames: list[RecordedFrame] = []
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                record: Any = orjson.loads(line)
                frames.append((float(record["t"]), str(record["frame"])))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                raise RecordingError(f"{path.name} line {number} is not a frame record") from None
    return frames


class ReplayServer:
    """A loopback websockets server that plays recorded frames to each client after its first subscribe.

    Parameters:
        frames: the recording (see `read_recording`).
        speed: 0 sends as fast as possible; 1 keeps the recorded pacing; 10 plays ten times faster.
        close_after: close the connection (code 1000) once every frame is sent, instead of idling.
        subscribe_timeout: seconds a client has to send its first message.
    """

    def __init__(
        self,
        frames: Iterable[RecordedFrame],
        *,
        speed: float = 0.0,
        close_after: bool = False,
        subscribe_timeout: float = 5.0,
    ) -> None:
        self.frames = list(frames)
        self._speed = speed
        self._close_after = close_after
        self._subscribe_timeout = subscribe_timeout
        self._server: Server | None = None
        self.received: list[dict[str, Any]] = []  # the client's messages, with any JWT removed
        self.connections = 0

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("the replay server is not running")
        host, port = next(iter(self._server.sockets)).getsockname()[:2]
        return f"ws://{host}:{port}"

    async def __aenter__(self) -> ReplayServer:
        self._server = await serve(self._serve, "127.0.0.1", 0, max_size=None)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, connection: ServerConnection) -> None:
        self.connections += 1
        try:
            first = await asyncio.wait_for(connection.recv(), self._subscribe_timeout)
        except TimeoutError:
            await connection.close(1008, "no subscribe")
            return
        except ConnectionClosed:
            return
        self._keep(first)
        listener = asyncio.create_task(self._listen(connection))
        try:
            previous = self.frames[0][0] if self.frames else 0.0
            for at, frame in self.frames:
                if self._speed > 0 and at > previous:
                    await asyncio.sleep((at - previous) / self._speed)
                previous = at
                await connection.send(frame)
            if self._close_after:
                await connection.close(1000, "end of recording")
            else:
                await connection.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            listener.cancel()

    async def _listen(self, connection: ServerConnection) -> None:
        try:
            async for message in connection:
                self._keep(message)
        except ConnectionClosed:
            pass

    def _keep(self, message: str | bytes) -> None:
        try:
            body = orjson.loads(message)
        except orjson.JSONDecodeError:
            body = {"unparsed": True}
        if isinstance(body, dict):
            if "jwt" in body:
                body["jwt"] = "<redacted>"  # tests see that one was sent, never what it was
            self.received.append(body)
