"""The official SDK's WSClient (coinbase-advanced-py 1.8.4, in its own environment) reads the sandbox feed over TLS."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).resolve().parents[2] / "compat" / "sdk_roundtrip.py"
SDK = "coinbase-advanced-py==1.8.4"


def run_sdk_ws(sandbox: SandboxHandle, *, seconds: int) -> dict[str, Any]:
    """Run the compat script's `ws` mode; skip with the reason when the SDK cannot be installed."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH: cannot build the official SDK's environment")
    command = [
        uv, "run", "--no-project", "--isolated", "--with", SDK, "python", str(SCRIPT), "ws",
        "--base-url", sandbox.ws_url, "--key-file", str(sandbox.key_file), "--seconds", str(seconds),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 and ("No solution found" in done.stderr or "Failed to fetch" in done.stderr):
        pytest.skip(f"the official SDK cannot be installed here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_official_sdk_receives_level2_and_heartbeats_over_wss(sandbox_tls: SandboxHandle) -> None:
    assert sandbox_tls.ws_url.startswith("wss://")
    result = run_sdk_ws(sandbox_tls, seconds=3)
    assert result["errors"] == []
    assert {"l2_data", "heartbeats", "subscriptions"} <= set(result["channels"])
    assert result["level2_first_event_type"] == "snapshot"
    assert result["level2_snapshot_levels"] > 100
    assert result["heartbeats"] >= 2
    # One counter per connection across channels, from 0 (the SDK's frames in arrival order).
    assert result["sequence_nums"] == list(range(len(result["sequence_nums"])))
