"""A sandbox of chosen products served from a child process, for benchmarks of the code that talks to it.

In-process, the sandbox's work would share the interpreter lock and the CPU time of what is measured; a
real venue's work is not the caller's. `cryptoj sandbox serve` serves the default products only, so the
child is spawned with the product specs it is to trade.
"""

from __future__ import annotations

import multiprocessing
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cryptoj.coinbase.auth import CdpKey
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.market.products import ProductSpec
from cryptoj.sandbox.ratelimit import RateLimiter
from cryptoj.sandbox.server import SandboxServer
from cryptoj.stack import free_port

__all__ = ["sandbox_in_child", "wait_until_listening"]


def _serve(specs: Sequence[ProductSpec], key_file: Path, port: int, seed: int, rate: int) -> None:
    exchange = SandboxExchange(
        seed=seed,
        products=list(specs),
        clock=SimClock(),
        limiter=RateLimiter(private_per_second=rate, public_per_second=rate),
    )
    exchange.trust(CdpKey.from_file(key_file))
    SandboxServer(exchange, port=port).run_forever()


def wait_until_listening(port: int, exit_code: Callable[[], int | None], *, within: float = 60.0) -> None:
    """Return once 127.0.0.1:`port` accepts connections; raise if the process serving it ends or `within` passes."""
    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            code = exit_code()
            if code is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start (exit code {code})") from None
            time.sleep(0.1)


@contextmanager
def sandbox_in_child(
    specs: Sequence[ProductSpec], key_file: Path, *, seed: int = 5, rate: int = 1_000
) -> Iterator[str]:
    """Serve `specs` from a spawned process trusting the key in `key_file`, `rate` requests a second; yields the URL."""
    port = free_port()
    child = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(list(specs), key_file, port, seed, rate), daemon=True
    )
    child.start()
    try:
        wait_until_listening(port, lambda: child.exitcode)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.join(timeout=10)
