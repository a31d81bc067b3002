"""Client CPU time per authenticated REST request, beside the official SDK, on the same local TLS server.

The server runs in its own process (tests/compat/sdk_api_bench.py serve) so only client work is counted;
the SDK runs in its own throwaway environment (it cannot share our venv: notes/official-sdk.md). Both
sign a fresh JWT, send GET /accounts over a kept-alive TLS connection and parse the answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.limits import VenueLimits

pytestmark = pytest.mark.performance

SCRIPT = Path(__file__).resolve().parents[1] / "compat" / "sdk_api_bench.py"
SDK = "coinbase-advanced-py==1.8.4"
REQUESTS = 100  # per batch
BATCHES = 9  # per side, alternating
# The benchmark measures CPU, not our politeness: lift the client-side budget out of the way.
UNTHROTTLED = VenueLimits(private_requests_per_second=1_000_000.0, burst=1_000)


@dataclass
class BenchServer:
    """The running server and what a client needs to reach it."""

    authority: str
    ca_file: Path
    key: CdpKey
    key_file: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"benchmark server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("benchmark server did not start listening")


@pytest.fixture(scope="module")
def bench_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchServer]:
    """A TLS server in a child process, a trustme CA file for both clients, and an EC key (SEC1 PEM file)."""
    import trustme

    folder = tmp_path_factory.mktemp("api-bench")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file, cert_file, cert_key = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(cert_key))
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode("ascii")
    name = "organizations/bench-org/apiKeys/bench-key"
    key_file = folder / "key.json"
    key_file.write_text(json.dumps({"name": name, "privateKey": pem}))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "serve", "--port", str(port), "--cert", str(cert_file), "--key", str(cert_key)]
    )
    try:
        _wait_until_listening(port, process)
        yield BenchServer(f"127.0.0.1:{port}", ca_file, CdpKey.from_strings(name, pem), key_file)
    finally:
        process.terminate()
        process.wait(timeout=10)


class SdkSide:
    """The official SDK in its own process, running one batch each time it is asked (see the script)."""

    def __init__(self, server: BenchServer, count: int) -> None:
        command = ["uv", "run", "--no-project", "--isolated", "--with", SDK, "python", str(SCRIPT), "sdk"]
        command += ["--url", server.authority, "--ca", str(server.ca_file), "--key-file", str(server.key_file)]
        command += ["--count", str(count)]
        # The SDK builds its requests without our session settings; requests honours this variable everywhere.
        env = {**os.environ, "PYTHONPATH": "", "REQUESTS_CA_BUNDLE": str(server.ca_file)}
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )

    def ready(self) -> bool:
        """Whether the SDK's environment came up (the first run fills uv's cache from PyPI)."""
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() == "ready":
            return True
        self.close()
        assert self._process.stderr is not None
        print(f"SDK side failed ({self._process.returncode}): {self._process.stderr.read()[-800:]}")
        return False

    def batch(self) -> float:
        """Run one SDK batch and return its CPU seconds per request."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write("batch\n")
        self._process.stdin.flush()
        answer: dict[str, float] = json.loads(self._process.stdout.readline())
        return answer["cpu_per_request"]

    def close(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


async def _side_by_side(server: BenchServer, sdk: SdkSide, count: int) -> tuple[list[float], list[float]]:
    """CPU seconds per request in BATCHES batches a side, alternating SDK and ours, after our warm-up.

    Each of our batches runs right after an SDK batch, so load from other work on the machine weighs on
    both sides alike; process time counts only each process's own work (not the other's, nor the wait).
    """
    async with CoinbaseAdvancedClient(
        base_url=f"https://{server.authority}", key=server.key, verify=str(server.ca_file), limits=UNTHROTTLED
    ) as client:
        for _ in range(10):
            await client.list_accounts()
        ours, theirs = [], []
        for _ in range(BATCHES):
            theirs.append(sdk.batch())
            start = time.process_time()
            for _ in range(count):
                await client.list_accounts()
            ours.append((time.process_time() - start) / count)
        return ours, theirs


@pytest.mark.benchmark(timer=time.process_time)
def test_client_cpu_per_authenticated_request(benchmark: Any, bench_server: BenchServer) -> None:
    """Our client's CPU per request, timed by pytest-benchmark (process time, so the wait is not counted)."""

    async def batch() -> None:
        async with CoinbaseAdvancedClient(
            base_url=f"https://{bench_server.authority}",
            key=bench_server.key,
            verify=str(bench_server.ca_file),
            limits=UNTHROTTLED,
        ) as client:
            for _ in range(50):
                await client.list_accounts()

    benchmark.pedantic(lambda: asyncio.run(batch()), rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["requests_per_round"] = 50


def judge(ours: list[float], sdk: list[float]) -> tuple[float, float, float]:
    """(ratio of the best batches, median of the paired ratios, this run's noise).

    Measured ratios are about 1.0 on the shared machine, while batches of one side differ by 7% to 50%
    within a run: a bare `ratio <= 1.0` fails on noise alone. The noise is how far a median batch sits
    above the best one (the larger side's). The two estimators fail differently: the best batches
    ignore load spikes but not drift, the paired ratios (batch i of each side, adjacent in time)
    cancel drift but not spikes. A real regression moves both.
    """
    ratio = min(ours) / min(sdk)
    paired = statistics.median(mine / theirs for mine, theirs in zip(ours, sdk, strict=True))
    noise = max(statistics.median(batches) / min(batches) - 1.0 for batches in (ours, sdk))
    return ratio, paired, noise


def no_worse(ours: list[float], sdk: list[float]) -> bool:
    """Ours is no worse unless both estimators put it above the SDK by more than the run's noise."""
    ratio, paired, noise = judge(ours, sdk)
    return min(ratio, paired) <= 1.0 + noise


def test_the_judgement_allows_only_the_noise_the_run_shows() -> None:
    quiet = [1.0] * 5
    assert not no_worse([1.01] * 5, quiet)  # a quiet run: 1% worse is worse
    assert no_worse([1.03, 1.08, 1.10, 1.2, 1.3], quiet)  # 3% over, median batch 10% above the best
    assert no_worse([1.15, 0.99, 1.0, 1.01, 1.02], [1.0, 1.0, 1.01, 1.02, 1.12])  # one spike on each side
    assert not no_worse([1.2, 1.22, 1.25, 1.25, 1.3], [1.0, 1.02, 1.05, 1.1, 1.1])  # 20% over: a regression


def test_client_is_no_slower_than_the_official_sdk(benchmark: Any, bench_server: BenchServer) -> None:
    """Side by side in one run: our CPU per request over the SDK's, at most 1 beyond the run's noise."""
    try:
        sdk = SdkSide(bench_server, REQUESTS)
    except OSError as exc:
        pytest.skip(f"the official SDK could not start (uv unavailable): {exc}")
    try:
        if not sdk.ready():
            pytest.skip("the official SDK could not run in its own environment (uv or PyPI unavailable); see output")
        ours, theirs = asyncio.run(_side_by_side(bench_server, sdk, REQUESTS))
    finally:
        sdk.close()
    ratio, paired, noise = judge(ours, theirs)
    ours_ms, sdk_ms = min(ours) * 1000, min(theirs) * 1000
    benchmark.extra_info.update(
        {"ours_cpu_ms": ours_ms, "sdk_cpu_ms": sdk_ms, "ratio": ratio, "paired_median": paired, "noise": noise}
    )
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print(
        f"CPU per authenticated request: ours {ours_ms:.3f} ms, SDK {sdk_ms:.3f} ms, "
        f"ratio {ratio:.2f}, median of paired batches {paired:.2f} (run noise {noise:.1%})"
    )
    if not benchmark.disabled:
        # Judged on timed runs only: CI's --benchmark-disable pass checks that the comparison still runs.
        assert no_worse(ours, theirs), f"ours uses {ratio:.2f}x / {paired:.2f}x the SDK's CPU (noise {noise:.1%})"


def test_the_benchmark_server_refuses_unsigned_requests(bench_server: BenchServer) -> None:
    """The server checks for a bearer token, so both clients really sign."""
    answer = httpx.get(
        f"https://{bench_server.authority}/api/v3/brokerage/accounts",
        verify=ssl.create_default_context(cafile=str(bench_server.ca_file)),
    )
    assert answer.status_code == 401
