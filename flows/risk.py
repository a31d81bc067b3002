"""The risk flow: mark positions to market, judge the portfolio against the limits, act on a breach.

A breach is stored, engages the kill switch (which stays until an operator resets it), cancels every
working order, emits the Prefect event `cryptoj.risk.breach` (an automation can alert on it) and fails the
run, so the breach is red in the UI. `python -m flows.risk` runs it once.
"""

from __future__ import annotations

import asyncio

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.tasks import exponential_backoff

from cryptoj.errors import CryptojError
from cryptoj.services.reports import position_rows, risk_markdown
from cryptoj.services.risk import RiskReport
from cryptoj.services.trading import TradingService
from flows._runtime import flow_runtime, retry_transient, runtime

__all__ = ["RiskBreach", "assess_risk", "cancel_open_orders", "risk_check"]

BREACH_EVENT = "cryptoj.risk.breach"


class RiskBreach(CryptojError):
    """The portfolio broke a risk limit: the kill switch is engaged and working orders were cancelled."""


@task(
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
async def assess_risk() -> RiskReport:
    """Mark the portfolio to market and judge it; store the equity point, any breach, and the kill switch."""
    rt = runtime()
    portfolio = await rt.executor.portfolio()
    held = [pid for pid, position in portfolio.positions.items() if not position.is_flat]
    marks = await TradingService(rt).marks(sorted(set(held) | set(rt.settings.products)))
    report = rt.risk.assess(portfolio, marks)
    await acreate_markdown_artifact(key="risk-report", markdown=risk_markdown(report), description="Risk report")
    await acreate_table_artifact(
        key="positions", table=position_rows(portfolio, marks), description="Positions and PnL"
    )
    return report


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=retry_transient, cache_policy=NO_CACHE)
async def cancel_open_orders(reason: str) -> int:
    """Cancel every working order CryptoJ placed; returns how many."""
    return len(await runtime().executor.cancel_open(reason=reason))


@flow(name="risk")
async def risk_check() -> dict[str, str]:
    """Judge the portfolio; on a breach stop trading, cancel working orders, alert, and fail the run."""
    async with flow_runtime() as rt:
        report = await assess_risk()
        if not report.breaches:
            return {"equity": str(report.equity), "kill_switch": "engaged" if report.kill_switch.engaged else "clear"}
        reasons = "; ".join(f"{b.rule.value}: {b.message}" for b in report.breaches)
        cancelled = await cancel_open_orders(f"risk breach: {reasons}")
        emit_event(
            event=BREACH_EVENT,
            resource={
                "prefect.resource.id": f"cryptoj.account.{rt.settings.exchange.value}.{rt.settings.execution.value}",
                "prefect.resource.name": f"CryptoJ {rt.settings.execution.value} on {rt.settings.exchange.value}",
            },
            payload={
                "breaches": [{"rule": b.rule.value, "message": b.message} for b in report.breaches],
                "equity": str(report.equity),
                "cancelled_orders": cancelled,
                "kill_switch_reason": report.kill_switch.reason,
            },
        )
    raise RiskBreach(f"risk limits broken, kill switch engaged, {cancelled} working order(s) cancelled: {reasons}")


if __name__ == "__main__":
    asyncio.run(risk_check())
