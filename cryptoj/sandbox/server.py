"""Serving the sandbox: the app factory and an in-process runner on 127.0.0.1:<free port>, with or without TLS.

Start-up checks what an operator can get wrong (the port, the address, the TLS files) before anything is
served or announced, and says which one in a `SandboxStartError`.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import uvicorn

from cryptoj.errors import ConfigurationError
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.rest import SandboxApp

__all__ = ["SandboxServer", "SandboxStartError", "TlsFiles", "check_tls", "create_app"]


class SandboxStartError(ConfigurationError):
    """The sandbox cannot serve where or how it was asked: the port, the address or the TLS files."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A server certificate chain and its key (PEM files): with them the sandbox speaks HTTPS and WSS."""

    certfile: Path
    keyfile: Path


def check_tls(tls: TlsFiles) -> ssl.SSLContext:
    """A server TLS context from the files, or a `SandboxStartError` naming the file that cannot serve."""
    for label, path in (("certificate", tls.certfile), ("key", tls.keyfile)):
        try:
            path.open("rb").close()
        except OSError as exc:  # load_cert_chain's own error does not say which file
            raise SandboxStartError(f"cannot read the TLS {label} file {path}: {exc.strerror}") from None

    def encrypted() -> str:  # OpenSSL would otherwise ask for the pass phrase on the terminal
        raise SandboxStartError(f"the TLS key {tls.keyfile} is encrypted; the sandbox needs an unencrypted key")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(tls.certfile, tls.keyfile, password=encrypted)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise SandboxStartError(
                f"the TLS key {tls.keyfile} is not the key of the certificate {tls.certfile}"
            ) from None
        raise SandboxStartError(
            f"cannot load TLS from {tls.certfile} and {tls.keyfile} ({exc.reason or 'unreadable'}): give PEM files"
        ) from None
    return context


def create_app(exchange: SandboxExchange, *, step_interval: float | None = 0.25) -> SandboxApp:
    """The ASGI app serving `exchange` (REST, admin and the WebSocket feed)."""
    return SandboxApp(exchange, step_interval=step_interval)


class SandboxServer:
    """Runs the sandbox in a background thread with its own event loop; a context manager.

    Parameters:
        exchange: what to serve.
        host, port: where to listen (port 0 picks a free port; read `port` after `start`).
        tls: certificate and key for HTTPS/WSS.
        step_interval: real seconds between market steps.
    """

    def __init__(
        self,
        exchange: SandboxExchange,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: TlsFiles | None = None,
        step_interval: float | None = 0.25,
    ) -> None:
        self.exchange = exchange
        self.host = host
        self._requested_port = port
        self.port = port
        self.tls = tls
        self._step_interval = step_interval
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        """`http(s)://host:port`."""
        return f"{'https' if self.tls else 'http'}://{self.authority}"

    @property
    def ws_url(self) -> str:
        """`ws(s)://host:port` (the feed is at the root path)."""
        return f"{'wss' if self.tls else 'ws'}://{self.authority}"

    @property
    def authority(self) -> str:
        """`host:port`, what REST JWTs name in their `uri` claim (`[::1]:port` for an IPv6 address)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def config(self) -> uvicorn.Config:
        """The uvicorn configuration (TLS when certificate files are given)."""
        return uvicorn.Config(
            create_app(self.exchange, step_interval=self._step_interval),
            host=self.host,
            port=self.port,
            ssl_certfile=str(self.tls.certfile) if self.tls else None,
            ssl_keyfile=str(self.tls.keyfile) if self.tls else None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws_max_size=16 * 1024 * 1024,
        )

    def bind(self) -> socket.socket:
        """Bind the listening socket now, so the port is known before serving (`SandboxStartError` if it cannot)."""
        if self.tls is not None:
            check_tls(self.tls)
        if not 0 <= self._requested_port <= 65535:
            raise SandboxStartError(f"port {self._requested_port} is not between 0 and 65535 (0: any free port)")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP named explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP, and
        # without it every response waits ~40 ms for a delayed ACK (measured: 44 ms vs 0.6 ms a request).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            sock.listen(2048)  # connections queue from now on, even before the server loop accepts them
        except OSError as exc:
            sock.close()
            raise SandboxStartError(_cannot_listen(self.host, self._requested_port, exc)) from None
        self.port = sock.getsockname()[1]
        self.exchange.hosts = [self.authority, f"localhost:{self.port}"]
        self._socket = sock
        return sock

    def start(self, *, timeout: float = 10.0) -> SandboxServer:
        """Start serving in a background thread; returns when the server accepts connections."""
        sock = self.bind()
        self._server = uvicorn.Server(self.config())
        server = self._server

        def serve() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=serve, name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        ready = threading.Event()
        deadline = time.monotonic() + timeout
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            ready.wait(0.01)
        if not server.started:
            raise RuntimeError("the sandbox server failed to start")
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop serving; with `wait`, return once the server thread has ended (uvicorn takes about 0.2 s)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and wait:
            self._thread.join(timeout=10)
            if self._socket is not None:
                self._socket.close()
        # run_forever closes its own socket when its loop ends.

    def run_forever(self, *, announce: Callable[[SandboxServer], None] | None = None) -> None:
        """Serve in the calling thread until interrupted (the CLI); `announce` runs once the port is bound."""
        sock = self.bind()
        self._server = uvicorn.Server(self.config())
        if announce is not None:
            announce(self)
        try:
            asyncio.run(self._server.serve(sockets=[sock]))
        finally:
            sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    """What an operator reads when the socket cannot be bound: where, why, and what to give instead."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {host!r}: no such address ({exc.strerror}); give an IP address such as 127.0.0.1"
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: the address is in use; give another port, or 0 for any free port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine; give one, such as 127.0.0.1"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {where}: {exc.strerror or exc}"
