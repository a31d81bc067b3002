"""The market-data flow: each configured product's candles, rules and top of book into the store.

One task per product: one product's failure fails its own task, not the others', and the run ends failed
so the operator sees it. `python -m flows.market_data [PRODUCT ...]` runs it once.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from datetime import timedelta
from typing import cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_progress_artifact, acreate_table_artifact, aupdate_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.tasks import exponential_backoff

from cryptoj.services.market_data import MarketDataService, ProductSnapshot
from cryptoj.services.reports import market_rows
from flows._runtime import draw_budget, flow_runtime, retry_transient, runtime

__all__ = ["market_data", "pull_all", "pull_product"]


@task(
    task_run_name="pull-{product_id}",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
async def pull_product(product_id: str, lookback_minutes: int, backfill: bool = False) -> ProductSnapshot:
    """Store one product's rules and new candles; read its top of book."""
    rt = runtime()
    # Rules, best bid/ask, ticker, and the candle windows (one per 300 buckets of the lookback at most).
    await draw_budget(3 + max(1, lookback_minutes // 300))
    service = MarketDataService(rt.exchange, rt.engine)
    artifact_id = None
    lookback = timedelta(minutes=lookback_minutes)

    async def progress(done: float) -> None:
        nonlocal artifact_id
        if artifact_id is None and done < 1:
            artifact_id = await acreate_progress_artifact(
                progress=done * 100, key=f"backfill-{product_id.lower()}", description=f"{product_id} backfill"
            )
        elif artifact_id is not None:
            await aupdate_progress_artifact(artifact_id=artifact_id, progress=done * 100)

    snapshot = await service.sync_product(product_id, lookback=lookback, progress=progress, backfill=backfill)
    get_run_logger().info(
        "%s: %d candle(s) stored from %s; last trade %s, bid %s, ask %s",
        product_id, snapshot.candles_stored, f"{snapshot.first_pulled:%Y-%m-%d %H:%M}", snapshot.last_price,
        snapshot.bid, snapshot.ask,
    )  # fmt: skip
    return snapshot


async def pull_all(
    products: list[str], lookback_minutes: int, *, backfill: bool = False
) -> list[State[ProductSnapshot]]:
    """Pull every product at once; a product's failure stays in its own state."""
    # Prefect types an async task called with return_state=True as returning the state; it returns a coroutine.
    calls = [
        cast(
            "Awaitable[State[ProductSnapshot]]",
            pull_product(pid, lookback_minutes, backfill, return_state=True),
        )
        for pid in products
    ]
    return list(await asyncio.gather(*calls))


@flow(name="market-data")
async def market_data(
    products: list[str] | None = None, lookback_minutes: int | None = None, backfill: bool = False
) -> list[State[ProductSnapshot]]:
    """Pull every product (the configured ones by default); the run fails if any product's pull failed.

    `backfill` pulls the whole lookback again (filling gaps), not only what came after the last stored candle.
    """
    async with flow_runtime() as rt:
        chosen = products or rt.settings.products
        lookback = lookback_minutes or rt.settings.candle_lookback_minutes
        states = await pull_all(chosen, lookback, backfill=backfill)
        pulled = [await state.aresult() for state in states if state.is_completed()]
        await acreate_table_artifact(
            key="market-data", table=market_rows(pulled), description="Candles stored and top of book, per product"
        )
    return states


if __name__ == "__main__":
    asyncio.run(market_data(sys.argv[1:] or None))
