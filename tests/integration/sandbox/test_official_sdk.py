"""The official SDK (coinbase-advanced-py 1.8.4), in its own environment, trades against the sandbox over TLS."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).resolve().parents[2] / "compat" / "sdk_roundtrip.py"
SDK = "coinbase-advanced-py==1.8.4"


def run_sdk(*args: str, timeout: float = 180) -> dict[str, object]:
    """Run the compat script under the SDK's own environment; skip when that environment cannot be built."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH: cannot build the official SDK's environment")
    env = [uv, "run", "--no-project", "--isolated", "--with", SDK, "python"]
    probe = subprocess.run(
        [*env, "-c", "import coinbase.rest"], capture_output=True, text=True, timeout=timeout, check=False
    )
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"the official SDK cannot be installed here ({SDK}): {reason}")
    done = subprocess.run([*env, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_official_sdk_lists_reads_places_gets_and_cancels_over_tls(sandbox_tls: SandboxHandle) -> None:
    assert sandbox_tls.ca_file is not None
    result = run_sdk(
        "rest",
        "--base-url",
        sandbox_tls.authority,
        "--ca",
        str(sandbox_tls.ca_file),
        "--key-file",
        str(sandbox_tls.key_file),
    )
    assert result["accounts"] == ["BTC", "ETH", "SOL", "USD"]
    assert result["products"] == ["BTC-USD", "ETH-USD", "SOL-USD"]
    assert 12 <= result["candles"] <= 13  # type: ignore[operator]
    assert result["book"] == {"bids": 10, "asks": 10}
    assert result["placed"]["success"] is True  # type: ignore[index]
    assert result["order_status"] == "OPEN"
    assert result["cancel"] == [{"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON"}]
    assert result["status_after_cancel"] == "CANCELLED"
    assert result["market_order"] == {"success": True, "status": "FILLED"}
