"""Flow tests: one Prefect test harness (a temporary server) for the session, heartbeats off.

Each test points the flows at its own sandbox and store through the environment, as a deployment's worker
would see them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import prefect  # noqa: F401 - see below
import pytest

from tests.utils.fixtures.sandbox import SandboxHandle

# Prefect's console log handler keeps the stream that was sys.stderr when Prefect was first imported. Imported
# here, at collection, that is pytest's session-long capture, not one test's (closed when the test ends, after
# which every Prefect log line would fail).


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server for the flow tests of this session."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=180),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


@pytest.fixture
def flow_env(
    prefect_harness: None, sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SandboxHandle:
    """Flows of this test run against `sandbox` with a store in the test's folder."""
    monkeypatch.setenv("CRYPTOJ_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CRYPTOJ_REST_URL", sandbox.base_url)
    monkeypatch.setenv("CRYPTOJ_API_KEY_FILE", str(sandbox.key_file))
    return sandbox
