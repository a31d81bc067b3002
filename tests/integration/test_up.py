"""`cryptoj up` as an operator runs it: the UI and the API answer, every deployment is served, Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cryptoj.stack import free_port

pytestmark = [pytest.mark.integration, pytest.mark.system, pytest.mark.heavy]


def _read_until(process: subprocess.Popen[str], marker: str, *, within: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + within
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line.rstrip())
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} within {within} s; output:\n" + "\n".join(lines))


def test_up_serves_the_ui_and_every_deployment_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CRYPTOJ_HOME": str(tmp_path / "home"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "COLUMNS": "200",
    }
    env.pop("PREFECT_API_URL", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "cryptoj"), "up", "--prefect-port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Ctrl-C must reach it as it would from a terminal, whatever this test runner ignores.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - no threads yet in the child
    )
    try:
        lines = _read_until(process, "deployments are being served", within=240)
        ui_line = next(line for line in lines if line.startswith("Prefect UI:"))
        assert f"http://127.0.0.1:{port}" in ui_line
        sandbox = next(line.split()[-1] for line in lines if line.startswith("Sandbox exchange:"))
        api = f"http://127.0.0.1:{port}/api"
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200  # the UI
        ui_settings = httpx.get(f"http://127.0.0.1:{port}/ui-settings", timeout=10).json()
        assert ui_settings["api_url"] == api  # the UI asks this server, not a default port
        names = {d["name"] for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()}
        assert names == {"local", "paper"}
        flows = {f["name"] for f in httpx.post(f"{api}/flows/filter", json={}, timeout=10).json()}
        assert flows == {"market-data", "risk", "trading-cycle", "reconcile", "backtest"}
        assert httpx.get(f"{sandbox}/api/v3/brokerage/time", timeout=10).status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) in (0, 1, 130)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    for url in (f"http://127.0.0.1:{port}/api/health", f"{sandbox}/api/v3/brokerage/time"):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=5)
