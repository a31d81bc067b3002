"""Persistence: SQLModel tables, the engine, repositories and Alembic migrations.

Start with `open_store(settings)` (engine + migrations), then write in a `UnitOfWork`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptoj._lazy import lazy_exports

if TYPE_CHECKING:
    from cryptoj.store.engine import create_store_engine, database_url, describe_url
    from cryptoj.store.errors import (
        ConcurrentUpdate,
        DuplicateRecord,
        InvalidRecord,
        MigrationError,
        StoreError,
        StoreUnavailable,
        UnknownReference,
    )
    from cryptoj.store.fills import FillRepository
    from cryptoj.store.market import CandleRepository, ProductRepository
    from cryptoj.store.migrate import current_revision, head_revision, open_store, upgrade
    from cryptoj.store.orders import CycleRepository, FlowCycle, OrderRepository
    from cryptoj.store.paper import PaperOrderRepository, PaperOrderState
    from cryptoj.store.portfolio import (
        Balance,
        EquityPoint,
        PositionRepository,
        RiskEvent,
        RiskRepository,
        SnapshotRepository,
    )
    from cryptoj.store.uow import UnitOfWork

__all__ = [
    "Balance",
    "CandleRepository",
    "ConcurrentUpdate",
    "CycleRepository",
    "DuplicateRecord",
    "EquityPoint",
    "FillRepository",
    "FlowCycle",
    "InvalidRecord",
    "MigrationError",
    "OrderRepository",
    "PaperOrderRepository",
    "PaperOrderState",
    "PositionRepository",
    "ProductRepository",
    "RiskEvent",
    "RiskRepository",
    "SnapshotRepository",
    "StoreError",
    "StoreUnavailable",
    "UnitOfWork",
    "UnknownReference",
    "create_store_engine",
    "current_revision",
    "database_url",
    "describe_url",
    "head_revision",
    "open_store",
    "upgrade",
]

# Public name -> defining module, imported on first use (see cryptoj._lazy).
_EXPORTS = {
    "create_store_engine": "cryptoj.store.engine",
    "database_url": "cryptoj.store.engine",
    "describe_url": "cryptoj.store.engine",
    "ConcurrentUpdate": "cryptoj.store.errors",
    "DuplicateRecord": "cryptoj.store.errors",
    "InvalidRecord": "cryptoj.store.errors",
    "MigrationError": "cryptoj.store.errors",
    "StoreError": "cryptoj.store.errors",
    "StoreUnavailable": "cryptoj.store.errors",
    "UnknownReference": "cryptoj.store.errors",
    "FillRepository": "cryptoj.store.fills",
    "CandleRepository": "cryptoj.store.market",
    "ProductRepository": "cryptoj.store.market",
    "current_revision": "cryptoj.store.migrate",
    "head_revision": "cryptoj.store.migrate",
    "open_store": "cryptoj.store.migrate",
    "upgrade": "cryptoj.store.migrate",
    "CycleRepository": "cryptoj.store.orders",
    "FlowCycle": "cryptoj.store.orders",
    "OrderRepository": "cryptoj.store.orders",
    "PaperOrderRepository": "cryptoj.store.paper",
    "PaperOrderState": "cryptoj.store.paper",
    "Balance": "cryptoj.store.portfolio",
    "EquityPoint": "cryptoj.store.portfolio",
    "PositionRepository": "cryptoj.store.portfolio",
    "RiskEvent": "cryptoj.store.portfolio",
    "RiskRepository": "cryptoj.store.portfolio",
    "SnapshotRepository": "cryptoj.store.portfolio",
    "UnitOfWork": "cryptoj.store.uow",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
