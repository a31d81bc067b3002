"""The run's parts inside a flow: built once when a flow run starts, closed when it ends.

Tasks reach them through `runtime()`: they run on the flow's event loop (awaited, not submitted to other
threads), so the flow's REST client and store are theirs too, and nothing about them passes through
Prefect's parameters. Failures are retried in two layers, the near one first: the client retries a request
that failed in passing (a 5xx, a 429, a reset; `max_retries` times within its deadline, a fraction of a
second apart), and Prefect retries the task (`retry_transient`) when the client gave up or the store was
busy. A task retry costs seconds of backoff and redoes the task's other requests: with it as the only
layer, a 1 % error rate cost the fault-tolerance run's cycles most of their time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from prefect.concurrency.asyncio import rate_limit
from prefect.context import AsyncClientContext, SyncClientContext
from prefect.runtime import deployment, flow_run

from cryptoj.coinbase.errors import should_retry
from cryptoj.config import load_settings
from cryptoj.errors import CryptojError
from cryptoj.services.runtime import Runtime, open_runtime
from cryptoj.store import StoreUnavailable

__all__ = [
    "MarketDataIncomplete",
    "cycle_key",
    "draw_budget",
    "flow_runtime",
    "prefect_clients",
    "retry_transient",
    "runtime",
]


class MarketDataIncomplete(CryptojError):
    """Some products' market data could not be pulled (their tasks say why); the others went ahead."""


_current: ContextVar[Runtime | None] = ContextVar("cryptoj_runtime", default=None)


@asynccontextmanager
async def flow_runtime() -> AsyncIterator[Runtime]:
    """Build the run's parts from the settings (environment, .env, cryptoj.toml) for this flow run."""
    async with open_runtime(load_settings()) as rt:
        token = _current.set(rt)
        try:
            yield rt
        finally:
            _current.reset(token)


@asynccontextmanager
async def prefect_clients() -> AsyncIterator[None]:
    """One pair of Prefect API clients for a process that runs flows one after another (`cryptoj run`, a worker).

    Without it Prefect opens two clients for every flow run (the run's own, and one asking the server where
    results go), each loading the CA bundle into a new TLS context even for a plain-HTTP server (about 40 ms
    each, a tenth of a ten-product cycle, measured) and opening new connections. Prefect uses the clients of
    an open client context instead; they must be entered on the loop the flows run on.
    """
    with SyncClientContext.get_or_create():
        async with AsyncClientContext.get_or_create():
            yield


def runtime() -> Runtime:
    """The current flow run's parts; only tasks awaited inside a flow using `flow_runtime` may ask."""
    rt = _current.get()
    if rt is None:
        raise RuntimeError("no CryptoJ runtime: call this task from a CryptoJ flow, which builds one")
    return rt


async def draw_budget(requests: int) -> None:
    """Take `requests` slots of the shared request budget before a task's calls (once per task, not per call).

    Coinbase's private budget is per user, not per process: with several workers, a Prefect global
    concurrency limit (settings.rate_limit_name) paces them all. Strict, so a missing limit is an error,
    not a silent no-op.
    """
    name = runtime().settings.rate_limit_name
    if name and requests > 0:
        await rate_limit(name, occupy=requests, strict=True)


def retry_transient(task: object, task_run: object, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry what may pass (the exchange's transient errors, a busy store)."""
    failure = getattr(state, "data", None)
    return isinstance(failure, BaseException) and (should_retry(failure) or isinstance(failure, StoreUnavailable))


def cycle_key() -> str:
    """The cycle's key: its deployment and scheduled start, the same for a retry or a re-run of the run."""
    scheduled = flow_run.scheduled_start_time
    name = deployment.name or "adhoc"
    return f"{flow_run.flow_name}/{name}@{scheduled.strftime('%Y-%m-%dT%H:%M:%SZ')}"
