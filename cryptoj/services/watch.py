"""OrderWatcher: reconcile when the user channel says an order changed, or that something may be missing.

The WebSocket user channel is a trigger, never the source of truth: each order event, and each `LookAgain`
marker (a consumer that lagged, a malformed order, a sequence gap, a reconnect after which an order may have
finished unseen), makes the executor read working orders and their fills back over REST. Events that arrive
while a reconciliation runs are answered by one more, not one each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from cryptoj.coinbase.errors import CoinbaseError
from cryptoj.coinbase.ws_user import LookAgain
from cryptoj.services.executor import OrderExecutor

__all__ = ["OrderWatcher", "WatchReport"]

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class WatchReport:
    """What a watcher saw and did."""

    events: int = 0
    markers: list[str] = field(default_factory=list)
    reconciliations: int = 0
    failures: int = 0


class OrderWatcher:
    """Answers a user-channel stream with reconciliations.

    Parameters:
        executor: whose `refresh` reads orders and fills back.
    """

    def __init__(self, executor: OrderExecutor) -> None:
        self._executor = executor
        self.report = WatchReport()
        self._wanted = asyncio.Event()

    async def run(self, stream: AsyncIterator[object]) -> WatchReport:
        """Read `stream` until it ends (or the task is cancelled), reconciling as it asks."""
        reconciler = asyncio.create_task(self._reconcile_when_wanted())
        try:
            async for item in stream:
                if isinstance(item, LookAgain):
                    self.report.markers.append(item.reason.value)
                    _log.info("user channel says look again: %s", item)
                else:
                    self.report.events += 1
                self._wanted.set()
        finally:
            reconciler.cancel()
            await asyncio.gather(reconciler, return_exceptions=True)
        return self.report

    async def _reconcile_when_wanted(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()  # what arrives from here on asks for one more round
            try:
                await self._executor.refresh()
                self.report.reconciliations += 1
            except CoinbaseError as exc:  # the next event (or the scheduled reconcile) tries again
                self.report.failures += 1
                _log.warning("reconciliation after a user-channel event failed: %s", exc)
