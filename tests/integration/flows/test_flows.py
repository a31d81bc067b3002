"""The flows under a Prefect test harness: success, retry and failure paths, re-runs, breaches, artifacts."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId

from cryptoj.config import load_settings
from cryptoj.sandbox.faults import FaultConfig
from cryptoj.store import UnitOfWork, open_store
from flows._runtime import MarketDataIncomplete
from flows.backtest import backtest
from flows.market_data import market_data
from flows.reconcile import reconcile
from flows.risk import RiskBreach, risk_check
from flows.trading import trading_cycle
from tests.utils.fixtures.sandbox import SandboxHandle

# One Prefect harness per session: the flow tests share the worker that started it.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("prefect")]


def _store() -> UnitOfWork:
    return UnitOfWork(open_store(load_settings()), read_only=True)


async def _artifact_keys(flow_run_id: UUID) -> set[str]:
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {artifact.key for artifact in artifacts if artifact.key}


async def _breach_events() -> list[dict[str, object]]:
    """The breach events the server has (events are sent in the background: wait a little for them)."""
    for _ in range(40):
        async with get_client() as client:
            response = await client.request(
                "POST", "/events/filter", json={"filter": {"event": {"name": ["cryptoj.risk.breach"]}}}
            )
        events: list[dict[str, object]] = response.json()["events"]
        if events:
            return events
        await asyncio.sleep(0.25)
    return []


def _seed_failing_first(kind: str, *, rate: float, fail: int, then_pass: int) -> int:
    """A fault seed whose first `fail` draws of `kind` fire and the next `then_pass` do not (deterministic)."""
    for seed in range(100_000):
        stream = random.Random(f"{seed}:{kind}")
        draws = [stream.random() < rate for _ in range(fail + then_pass)]
        if draws == [True] * fail + [False] * then_pass:
            return seed
    raise AssertionError("no such seed")  # pragma: no cover


async def test_market_data_stores_every_product_and_leaves_its_artifact(flow_env: SandboxHandle) -> None:
    state = await market_data(lookback_minutes=30, return_state=True)
    assert state.is_completed()
    with _store() as uow:
        latest = uow.candles.latest_per_product("ONE_MINUTE")
    assert set(latest) == {"BTC-USD", "ETH-USD"}
    assert "market-data" in await _artifact_keys(state.state_details.flow_run_id)  # type: ignore[arg-type]


async def test_one_products_failure_fails_its_task_not_the_others(flow_env: SandboxHandle) -> None:
    state = await market_data(["BTC-USD", "NOPE-USD"], lookback_minutes=10, return_state=True)
    assert state.is_failed()  # the run shows the failure
    with _store() as uow:
        latest = uow.candles.latest_per_product("ONE_MINUTE")
    assert "BTC-USD" in latest  # while the healthy product was stored


async def _pull_with_failing_requests(sandbox: SandboxHandle, fail: int) -> tuple[int, dict[str, int]]:
    """A market-data run whose first `fail` requests get a 5xx: the faults fired, and each task's run count."""
    seed = _seed_failing_first("error_5xx", rate=0.05, fail=fail, then_pass=40)
    sandbox.exchange.faults.configure(FaultConfig(seed=seed, error_5xx_rate=0.05))
    state = await market_data(["BTC-USD"], lookback_minutes=10, return_state=True)
    fired = sandbox.exchange.faults.fired.get("error_5xx", 0)
    sandbox.exchange.faults.configure(FaultConfig())
    assert state.is_completed()
    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    return fired, {run.name: run.run_count for run in runs}


async def test_a_passing_failure_is_retried_by_the_client_within_the_task(flow_env: SandboxHandle) -> None:
    fired, runs = await _pull_with_failing_requests(flow_env, fail=1)
    assert fired == 1
    assert runs
    assert all(count == 1 for count in runs.values()), runs  # no task ran twice for it


async def test_a_failure_outlasting_the_clients_retries_is_retried_by_prefect(
    flow_env: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run's first three requests fail, more than the client's single retry covers: the task runs again.
    monkeypatch.setenv("CRYPTOJ_MAX_RETRIES", "1")
    fired, runs = await _pull_with_failing_requests(flow_env, fail=3)
    assert fired == 3
    assert sorted(runs.values())[-1] == 2, runs  # the product's pull, retried once by Prefect


async def test_a_cycle_re_run_with_the_same_key_places_nothing_new(flow_env: SandboxHandle) -> None:
    await market_data(lookback_minutes=60)
    first = await trading_cycle(key="test-cycle-1")
    with _store() as uow:
        before = {order.client_order_id: order.status for order in uow.orders.by_cycle("test-cycle-1")}
    again = await trading_cycle(key="test-cycle-1")
    with _store() as uow:
        after = {order.client_order_id: order.status for order in uow.orders.by_cycle("test-cycle-1")}
    assert {row["client_order_id"] for row in first["orders"]} == set(before)
    assert all(row["sent now"] == "no" for row in again["orders"])
    assert after == before


async def test_an_order_outlasting_its_timeout_is_cancelled_and_the_re_run_settles_it_once(
    flow_env: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRYPTOJ_EXECUTION", "live")
    monkeypatch.setenv("CRYPTOJ_STRATEGY", "rebalance")  # buys on the first cycle whatever the market did
    for limit in ("ORDER_NOTIONAL", "POSITION_NOTIONAL", "GROSS_EXPOSURE"):
        monkeypatch.setenv(f"CRYPTOJ_RISK_MAX_{limit}", "")  # the sandbox account's orders are bigger
    await market_data(lookback_minutes=60)
    monkeypatch.setattr("flows.trading.ORDER_TIMEOUT_SECONDS", 0.3)
    flow_env.exchange.faults.configure(FaultConfig(latency_ms=1_500, latency_rate=1.0))  # every request 1.5 s late
    state = await trading_cycle(key="slow-cycle", return_state=True)
    flow_env.exchange.faults.configure(FaultConfig())
    monkeypatch.setattr("flows.trading.ORDER_TIMEOUT_SECONDS", 60)
    assert state.is_failed()
    with pytest.raises(TimeoutError):
        await state.aresult()
    with _store() as uow:
        cut_short = uow.orders.by_cycle("slow-cycle")  # the first order's work was cancelled with the run
    assert all(not order.status.is_terminal for order in cut_short)
    again = await trading_cycle(key="slow-cycle")
    assert [row["outcome"] for row in again["orders"]] == ["accepted"] * len(again["orders"])
    owner = flow_env.key.name.get_secret_value()
    on_exchange = [order.client_order_id for order in flow_env.exchange.engine.orders(owner)]
    assert sorted(on_exchange) == sorted(row["client_order_id"] for row in again["orders"])  # each exactly once


async def test_a_breach_stops_trading_cancels_orders_alerts_and_fails_the_run(
    flow_env: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRYPTOJ_STRATEGY", "rebalance")  # buys on the first cycle whatever the market did
    await market_data(lookback_minutes=60)
    cycle = await trading_cycle(key="before-breach")
    bought = [row for row in cycle["orders"] if row["outcome"] == "accepted"]
    assert bought, "rebalancing from cash buys on the first cycle"
    monkeypatch.setenv("CRYPTOJ_RISK_MAX_GROSS_EXPOSURE", "1")  # whatever is held is now too much
    state = await risk_check(return_state=True)
    assert state.is_failed()
    with pytest.raises(RiskBreach, match="GROSS_EXPOSURE"):
        await state.aresult()
    with _store() as uow:
        switch = uow.risk.kill_switch()
    assert switch.engaged
    assert "risk-report" in await _artifact_keys(state.state_details.flow_run_id)  # type: ignore[arg-type]
    assert await _breach_events(), "no cryptoj.risk.breach event reached the server"
    after = await trading_cycle(key="after-breach")
    assert all(row["outcome"] == "denied" and "KILL_SWITCH" in row["reason"] for row in after["orders"])


async def test_reconcile_reports_and_backtest_leaves_its_picture(flow_env: SandboxHandle) -> None:
    result = await reconcile()
    assert result["mismatches"] == 0
    state = await backtest(["BTC-USD"], return_state=True)
    assert state.is_completed()
    figures = await state.aresult()
    picture = await asyncio.to_thread(Path(figures["picture"]).read_bytes)
    assert picture.startswith(b"\x89PNG")
    assert int(figures["trades"]) > 0
    keys = await _artifact_keys(state.state_details.flow_run_id)  # type: ignore[arg-type]
    assert {"backtest-report", "backtest-trades"} <= keys


async def test_a_long_backfill_shows_its_progress_as_an_artifact(flow_env: SandboxHandle) -> None:
    # 900 minutes is three candle windows: the pull reports each as it lands, ending at 100 %.
    state = await market_data(["BTC-USD"], lookback_minutes=900, backfill=True, return_state=True)
    assert state.is_completed()
    async with get_client() as client:
        progress = await client.read_artifacts(artifact_filter=ArtifactFilter(type={"any_": ["progress"]}))
    backfill = [artifact for artifact in progress if artifact.key == "backfill-btc-usd"]
    assert backfill, "no progress artifact for the backfill"
    assert backfill[-1].data == 100


async def test_a_cycle_trades_the_products_whose_data_came_and_fails_naming_the_others(
    flow_env: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRYPTOJ_STRATEGY", "rebalance")  # buys on the first cycle whatever the market did
    await market_data(["BTC-USD"], lookback_minutes=60)
    state = await trading_cycle(["BTC-USD", "NOPE-USD"], key="one-missing", return_state=True)
    assert state.is_failed()
    with pytest.raises(MarketDataIncomplete, match="NOPE-USD"):
        await state.aresult()
    with _store() as uow:
        traded = {order.intent.product_id for order in uow.orders.by_cycle("one-missing")}
    assert traded == {"BTC-USD"}  # the product whose data came traded all the same


async def test_a_cycle_whose_every_pull_failed_places_nothing_and_fails_naming_them(flow_env: SandboxHandle) -> None:
    state = await trading_cycle(["NOPE-USD", "NADA-USD"], key="none-came", return_state=True)
    assert state.is_failed()
    with pytest.raises(MarketDataIncomplete, match="NOPE-USD, NADA-USD"):
        await state.aresult()
    with _store() as uow:
        assert uow.orders.by_cycle("none-came") == []
