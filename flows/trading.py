"""The trading cycle: market data -> strategy -> intents -> pre-trade risk -> executor -> reconcile.

The cycle's key is its deployment and scheduled start (`cycle_key()`), so a retried or re-run cycle derives
the same client_order_ids and places nothing twice. The cycle's orders are placed by one async task, so a
timeout really cancels, and it retries only through the executor's protocol (a repeat finds each stored
intent and resumes it).
`python -m flows.trading` runs one cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from decimal import Decimal
from typing import cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.tasks import exponential_backoff

from cryptoj.services.executor import Placement, RefreshReport
from cryptoj.services.market_data import MarketDataService
from cryptoj.services.reports import placement_rows, position_rows
from cryptoj.services.trading import CyclePlan, TradingService
from cryptoj.store import UnitOfWork
from flows._runtime import MarketDataIncomplete, cycle_key, draw_budget, flow_runtime, retry_transient, runtime

__all__ = [
    "CycleSummary",
    "place_orders",
    "plan_cycle",
    "pull_candles",
    "reconcile_orders",
    "report_positions",
    "trading_cycle",
]

CycleSummary = dict[str, object]

# How long one order may take (its send, the read back, a lookup after an unknown outcome) before it is cancelled.
ORDER_TIMEOUT_SECONDS = 60


@task(
    task_run_name="pull-candles",
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
async def pull_candles(products: list[str], lookback_minutes: int) -> dict[str, str]:
    """Store each product's new candles, all products at once; the ones whose pull failed, each with why.

    One task for the cycle's products, not one each as the market-data flow has: a task run costs the
    cycle more than a product's pull (about 8 ms of the cycle's CPU and a round of events to the server,
    measured). A product's failure stays its own (the others are stored and trade); the task fails, and
    Prefect retries it, only when every product failed.
    """
    rt = runtime()
    await draw_budget(len(products) * max(1, lookback_minutes // 300))  # the candle windows
    service = MarketDataService(rt.exchange, rt.engine)
    lookback = timedelta(minutes=lookback_minutes)
    pulls = await asyncio.gather(
        *(service.sync_product(pid, lookback=lookback, quotes=False) for pid in products), return_exceptions=True
    )
    logger = get_run_logger()
    failed: dict[str, str] = {}
    errors: list[Exception] = []
    for product_id, pulled in zip(products, pulls, strict=True):
        if isinstance(pulled, Exception):
            errors.append(pulled)
            failed[product_id] = f"{type(pulled).__name__}: {pulled}"
            logger.warning("%s: candles not pulled: %s", product_id, failed[product_id])
        elif isinstance(pulled, BaseException):
            raise pulled  # cancelled or interrupted: not a product's failure
        else:
            logger.info(
                "%s: %d candle(s) stored from %s", product_id, pulled.candles_stored, f"{pulled.first_pulled:%H:%M}"
            )
    if products and len(errors) == len(products):
        raise errors[0]
    return failed


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=retry_transient, cache_policy=NO_CACHE)
async def plan_cycle(key: str, products: list[str]) -> CyclePlan:
    """What the strategy wants this cycle: keyed intents and the marks they were decided on."""
    await draw_budget(2)  # best bid/ask, and the balances a live portfolio reads
    plan = await TradingService(runtime()).plan(key, products)
    wanted = (
        f"{i.intent.side.value} {i.intent.base_size or i.intent.quote_size} {i.intent.product_id}" for i in plan.intents
    )
    get_run_logger().info("cycle %s: %d intent(s): %s", key, len(plan.intents), "; ".join(wanted) or "none")
    return plan


@task(
    task_run_name="place-orders",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=1),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
async def place_orders(plan: CyclePlan) -> list[Placement]:
    """Place the cycle's intents one at a time, in the plan's order (sells first: their proceeds pay for the buys).

    One task for the cycle, not one per order: a task run costs more than a paper placement. A retry
    places the plan again, and the executor's protocol makes that safe: an intent already stored is
    resumed or left as it stands, never sent twice. Each order has its own timeout, which cancels it.
    """
    service = TradingService(runtime())
    service.load_rules(item.intent.product_id for item in plan.intents)
    logger = get_run_logger()
    placements: list[Placement] = []
    for item in plan.intents:
        await draw_budget(3)  # the create (or the paper book), the order read back, its fills
        async with asyncio.timeout(ORDER_TIMEOUT_SECONDS):
            placed = await service.place(item, plan.marks)
        order = placed.order
        logger.info(
            "%s %s %s: %s %s, filled %s at %s, fees %s%s",
            order.intent.side.value, order.intent.base_size or order.intent.quote_size, order.intent.product_id,
            placed.outcome.value, order.status.value, order.filled_size, order.average_fill_price, order.fees,
            f" ({order.reason})" if order.reason else "",
        )  # fmt: skip
        placements.append(placed)
    return placements


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=retry_transient, cache_policy=NO_CACHE)
async def reconcile_orders() -> RefreshReport:
    """Bring working orders and their fills up to date with the exchange."""
    rt = runtime()
    with UnitOfWork(rt.engine, read_only=True) as uow:
        working = len(uow.orders.open_orders())
    await draw_budget(2 + 2 * working)  # each working order read back with its fills, and the open-order lists
    report = await rt.executor.refresh()
    logger = get_run_logger()
    logger.info(
        "reconciled %d order(s): %d updated, %d fill(s), %d placed elsewhere, %d still unknown, %d settling",
        report.checked, report.updated, report.fills, report.external, report.unresolved, report.settling,
    )  # fmt: skip
    for mismatch in report.mismatches:
        logger.warning("store and exchange differ: %s", mismatch)
    return report


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=retry_transient, cache_policy=NO_CACHE)
async def report_positions(marks: dict[str, Decimal]) -> list[dict[str, str]]:
    """The positions after the cycle, valued at the cycle's marks."""
    return position_rows(await runtime().executor.portfolio(), marks)


@flow(name="trading-cycle")
async def trading_cycle(products: list[str] | None = None, key: str | None = None) -> CycleSummary:
    """One cycle over the configured products (or `products`); `key` overrides the scheduled-time key."""
    key = key or cycle_key()
    async with flow_runtime() as rt:
        chosen = products or rt.settings.products
        lookback = rt.settings.candle_lookback_minutes
        # Candles only: the plan reads every product's top of book in one request.
        # Prefect types an async task called with return_state=True as returning the state; it returns a coroutine.
        pulled = await cast("Awaitable[State[dict[str, str]]]", pull_candles(chosen, lookback, return_state=True))
        failed = await pulled.aresult() if pulled.is_completed() else dict.fromkeys(chosen, pulled.message or "")
        tradable = [pid for pid in chosen if pid not in failed]
        plan = await plan_cycle(key, tradable)
        placements = await place_orders(plan) if plan.intents else []
        refresh = await reconcile_orders()
        orders, positions = placement_rows(placements), await report_positions(dict(plan.marks))
        await asyncio.gather(
            acreate_table_artifact(key="orders-placed", table=orders, description=f"Orders of cycle {key}"),
            acreate_table_artifact(key="positions", table=positions, description=f"Positions after cycle {key}"),
        )
    if failed:
        raise MarketDataIncomplete(f"market data failed for {', '.join(failed)}; the other products traded")
    return {
        "cycle_key": key,
        "orders": orders,
        "positions": positions,
        "reconciled": refresh.checked,
        "mismatches": refresh.mismatches,
    }


if __name__ == "__main__":
    asyncio.run(trading_cycle())
