"""The reconcile flow: working orders and fills from the exchange into the store.

Run on a schedule, after a restart, or whenever the store may be behind (an unknown outcome, a WebSocket
reconnect). Orders the exchange has and the store lacks are recorded as placed outside CryptoJ.
`python -m flows.reconcile` runs it once.
"""

from __future__ import annotations

import asyncio

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact

from cryptoj.services.reports import refresh_markdown
from flows._runtime import flow_runtime
from flows.trading import reconcile_orders

__all__ = ["reconcile"]


@flow(name="reconcile")
async def reconcile() -> dict[str, int]:
    """Reconcile the store with the exchange and report what changed and what still differs."""
    async with flow_runtime():
        report = await reconcile_orders()
        await acreate_markdown_artifact(key="reconciliation", markdown=refresh_markdown(report))
    return {
        "checked": report.checked,
        "updated": report.updated,
        "fills": report.fills,
        "external": report.external,
        "unresolved": report.unresolved,
        "settling": report.settling,
        "mismatches": len(report.mismatches),
    }


if __name__ == "__main__":
    asyncio.run(reconcile())
