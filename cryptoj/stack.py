"""The local stack `cryptoj run` and `cryptoj up` stand on: the sandbox, Prefect's settings and its server.

- `prefect_environment` is what Prefect must see before it is imported: its home under CryptoJ's (unless
  one is set), analytics and telemetry off (nothing tries the internet), and a patient start-up.
- `local_sandbox` serves the sandbox in this process when exchange=sandbox and no URL is set, and returns
  the settings every flow run needs to reach it (its URL and the key it trusts, kept in CRYPTOJ_HOME).
- `prefect_server` runs `prefect server start` on loopback until the block ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from cryptoj.config import ExchangeName, Settings
from cryptoj.errors import ConfigurationError, CryptojError

__all__ = ["PrefectUnavailable", "local_sandbox", "prefect_environment", "prefect_server", "sandbox_key_file"]


class PrefectUnavailable(CryptojError):
    """The local Prefect server did not start (its log says why)."""


def prefect_environment(settings: Settings, *, verbose: bool = False) -> dict[str, str]:
    """Prefect settings for a local run, without overriding any the user set."""
    env = {
        # Offline by design: the server's telemetry heartbeat is the one thing that would try the internet.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    defaults = {
        "PREFECT_HOME": str(settings.home / "prefect"),
        # The first start migrates a new database: 20 s (Prefect's default) is not enough on a small machine.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_LOGGING_LEVEL": "INFO" if verbose else "WARNING",
    }
    env.update({name: value for name, value in defaults.items() if name not in os.environ})
    return env


def sandbox_key_file(settings: Settings) -> Path:
    """Where the local sandbox's key lives (made on first use)."""
    return settings.home / "sandbox-key.json"


@contextmanager
def local_sandbox(settings: Settings) -> Iterator[dict[str, str]]:
    """Serve the sandbox in this process if the settings want a local one; yields the settings runs need.

    Nothing starts (and nothing is yielded) for exchange=coinbase or a sandbox URL the user gave.
    """
    if settings.exchange is not ExchangeName.SANDBOX or settings.rest_url is not None:
        yield {}
        return
    from cryptoj.coinbase.auth import CdpKey
    from cryptoj.sandbox.keys import generate_key, write_key_file
    from cryptoj.services.runtime import load_key, start_sandbox

    env: dict[str, str] = {}
    key = load_key(settings)
    if key is None:
        # No key of the user's: the sandbox's own, kept in CRYPTOJ_HOME so every run (and `up`'s flows) use it.
        path = sandbox_key_file(settings)
        if path.exists():
            key = CdpKey.from_file(path)
        else:
            key = generate_key()
            write_key_file(key, path)
        env["CRYPTOJ_API_KEY_FILE"] = str(path)
    server = start_sandbox(settings, key)
    env["CRYPTOJ_REST_URL"] = server.base_url
    try:
        yield env
    finally:
        server.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def prefect_server(*, host: str, port: int, env: dict[str, str], timeout: float = 180.0) -> Iterator[str]:
    """Run `prefect server start` until the block ends; yields its API URL once it answers."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot start Prefect on {host}:{port} (--prefect-port): {exc.strerror}"
            ) from None
    log_path = Path(env.get("PREFECT_HOME", ".")) / "server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter running Prefect's CLI
            command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    api = f"http://{host}:{port}/api"
    try:
        _wait_healthy(api, process, timeout=timeout, log_path=log_path)
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(api: str, process: subprocess.Popen[bytes], *, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PrefectUnavailable(f"the Prefect server exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise PrefectUnavailable(f"the Prefect server did not answer within {timeout:.0f} s; see {log_path}")
