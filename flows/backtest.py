"""The backtest flow: the trading cycle's strategy, risk and paper fills over historical bars.

Bars are the stored ones (`source="stored"`) or the real BTC-USD/ETH-USD days shipped with the sandbox
(`source="packaged"`, the default). The run leaves its figures, its trades and the equity curve as a
picture (also written to <CRYPTOJ_HOME>/reports). `python -m flows.backtest [PRODUCT ...]` runs it.
"""

from __future__ import annotations

import asyncio
import base64
import sys
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from cryptoj.services.backtest import BacktestResult, load_bars, run_backtest
from cryptoj.services.charts import equity_chart_png
from cryptoj.services.reports import backtest_rows, fill_rows
from cryptoj.services.risk import limits_from
from cryptoj.services.runtime import paper_fees
from cryptoj.services.trading import strategies_for
from flows._runtime import flow_runtime, runtime

__all__ = ["backtest", "replay_bars", "report_backtest"]

# The trades table shows this many; the rest are in the figures.
_TABLE_ROWS = 500


@task(cache_policy=NO_CACHE)
async def replay_bars(products: list[str], source: str) -> BacktestResult:
    """Load the bars and replay them through the configured strategy, limits and fee tier."""
    rt = runtime()
    bars = await asyncio.to_thread(load_bars, rt.engine, products, source=source)
    rules = await rt.exchange.product_rules(products)
    fees = await paper_fees(rt.settings, rt.exchange, signed=rt.key is not None)
    return await asyncio.to_thread(
        run_backtest,
        bars,
        strategies=strategies_for(rt.settings, products),
        rules=rules,
        fees=fees,
        cash=rt.settings.paper_cash,
        limits=limits_from(rt.settings),
        currency=rt.settings.risk_currency,
    )


@task(cache_policy=NO_CACHE)
async def report_backtest(result: BacktestResult, title: str) -> Path:
    """Leave the figures, trades and picture as artifacts; write the picture to the reports folder."""
    png = await asyncio.to_thread(equity_chart_png, result, title=title)
    folder = runtime().settings.home / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"backtest-{datetime.now(UTC):%Y%m%d-%H%M%S}.png"
    path.write_bytes(png)
    figures = backtest_rows(result)
    table = "\n".join(["| figure | value |", "|---|---|", *(f"| {r['figure']} | {r['value']} |" for r in figures)])
    picture = base64.b64encode(png).decode("ascii")
    await acreate_markdown_artifact(
        key="backtest-report",
        markdown=f"# {title}\n\n![equity curve](data:image/png;base64,{picture})\n\n{table}\n",
        description=title,
    )
    trades = fill_rows(result.fills)
    await acreate_table_artifact(
        key="backtest-trades",
        table=trades[:_TABLE_ROWS],
        description=f"{len(trades)} trades"
        + (f" (the first {_TABLE_ROWS} shown)" if len(trades) > _TABLE_ROWS else ""),
    )
    return path


@flow(name="backtest")
async def backtest(products: list[str] | None = None, source: str = "packaged") -> dict[str, str]:
    """Backtest the configured strategy; returns the figures and where the picture was written."""
    async with flow_runtime() as rt:
        chosen = products or rt.settings.products
        result = await replay_bars(chosen, source)
        title = f"{rt.settings.strategy} on {', '.join(chosen)} ({source} bars)"
        picture = await report_backtest(result, title)
    return {**{row["figure"]: row["value"] for row in backtest_rows(result)}, "picture": str(picture)}


if __name__ == "__main__":
    asyncio.run(backtest(sys.argv[1:] or None))
