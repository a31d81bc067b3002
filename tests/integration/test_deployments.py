"""The deployments against a real `prefect server start`, driven by Prefect's own CLI and workers.

`prefect deploy --all` reads prefect.yaml; `prefect deployment ls` lists what it made (3.8.8 got a 422
here); two runs of `trading-cycle/paper` with one cycle key, picked up by two worker processes at once,
complete, leave their artifacts, and place each order once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import pytest

from cryptoj.config import load_settings
from cryptoj.stack import free_port, prefect_server
from cryptoj.store import UnitOfWork, open_store
from tests.utils.fixtures.sandbox import SandboxHandle

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

pytestmark = [pytest.mark.integration, pytest.mark.system, pytest.mark.heavy]

ROOT = Path(__file__).resolve().parents[2]
CYCLE_KEY = "two-workers-one-cycle"


@pytest.fixture
def server_env(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A real Prefect server on loopback, and the environment its CLI, workers and flow runs share."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # Only the runs this test asks for: the schedules' own runs would compete for the workers.
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "CRYPTOJ_HOME": str(tmp_path / "cryptoj"),
        "CRYPTOJ_REST_URL": sandbox.base_url,
        "CRYPTOJ_API_KEY_FILE": str(sandbox.key_file),
        # Rebalancing from cash buys on the first cycle whatever the market did: the cycle has orders to place.
        "CRYPTOJ_STRATEGY": "rebalance",
    }
    env.pop("PREFECT_API_URL", None)
    with prefect_server(host="127.0.0.1", port=free_port(), env=env) as api:
        yield {**env, "PREFECT_API_URL": api}


def _prefect(env: dict[str, str], *args: str, timeout: float = 240) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"prefect {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_deploy_all_then_two_workers_run_one_cycle_and_place_each_order_once(server_env: dict[str, str]) -> None:
    api = server_env["PREFECT_API_URL"]
    # The pool and the runs through the API the CLI calls: each `python -m prefect` costs seconds of imports,
    # and what this test holds Prefect's CLI to is `deploy --all` and `deployment ls`.
    asyncio.run(_create_pool(api))
    _prefect(server_env, "deploy", "--all")
    listed = _prefect(server_env, "deployment", "ls")
    for name in ("market-data/local", "risk/local", "trading-cycle/paper", "reconcile/local", "backtest/local"):
        assert name in listed
    ids = asyncio.run(_run_twice(api, "trading-cycle/paper", {"key": CYCLE_KEY}))
    workers = [
        subprocess.Popen(
            # One run each at most, polling every second: both runs are in flight at once, one per worker.
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", "cryptoj", "--limit", "1"],
            cwd=ROOT,
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        states = asyncio.run(_wait_for_runs(api, ids, within=300))
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:  # still starting a flow run's process on a loaded machine (seen)
                worker.kill()
                worker.wait()
    assert states == ["COMPLETED", "COMPLETED"]
    keys = asyncio.run(_artifact_keys(api, ids))
    for artifacts in keys:
        assert {"orders-placed", "positions"} <= artifacts

    settings = load_settings(home=Path(server_env["CRYPTOJ_HOME"]))
    engine = open_store(settings)
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            orders = uow.orders.by_cycle(CYCLE_KEY)
            positions = uow.positions.all()
    finally:
        engine.dispose()
    assert orders, "the cycle placed nothing: the strategy wanted no trade on this data"
    for product_id, position in positions.items():
        filled = sum((o.filled_size for o in orders if o.intent.product_id == product_id), Decimal(0))
        assert position.size == filled  # each order's fills counted once, not once per worker


@asynccontextmanager
async def _client(api: str) -> AsyncIterator[PrefectClient]:
    """A Prefect client on this test's server (the test process's own settings name none)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api}):
        async with get_client() as client:
            yield client


async def _create_pool(api: str) -> None:
    from prefect.client.schemas.actions import WorkPoolCreate

    async with _client(api) as client:
        await client.create_work_pool(WorkPoolCreate(name="cryptoj", type="process"))


async def _run_twice(api: str, deployment: str, parameters: dict[str, str]) -> list[str]:
    async with _client(api) as client:
        found = await client.read_deployment_by_name(deployment)
        runs = [await client.create_flow_run_from_deployment(found.id, parameters=parameters) for _ in range(2)]
    return [str(run.id) for run in runs]


async def _wait_for_runs(api: str, ids: list[str], *, within: float) -> list[str]:
    async with _client(api) as client:
        for _ in range(int(within)):
            runs = [await client.read_flow_run(UUID(run_id)) for run_id in ids]
            if all(run.state is not None and run.state.is_final() for run in runs):
                return [run.state.type.value for run in runs if run.state is not None]
            await asyncio.sleep(1)
    raise AssertionError(f"flow runs {ids} did not finish within {within} s")


async def _artifact_keys(api: str, ids: list[str]) -> list[set[str]]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with _client(api) as client:
        return [
            {
                artifact.key or ""
                for artifact in await client.read_artifacts(
                    artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(run_id)]))
                )
            }
            for run_id in ids
        ]
