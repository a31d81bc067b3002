"""Persistence: SQLModel tables, the engine, repositories and Alembic migrations.

Start with `open_store(settings)` (engine + migrations), then write in a `UnitOfWork`.
"""

from __future__ import annotations

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
from cryptoj.store.migrate import (
    current_revision,
    database_exists,
    head_revision,
    is_known_revision,
    open_store,
    upgrade,
)
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
    "database_exists",
    "database_url",
    "describe_url",
    "head_revision",
    "is_known_revision",
    "open_store",
    "upgrade",
]
