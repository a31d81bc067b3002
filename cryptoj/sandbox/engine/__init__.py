"""The sandbox's matching engine: orders, holds, fees and fills per API key."""

from cryptoj.sandbox.engine.accounts import DEFAULT_FUNDING, Account, Ledger
from cryptoj.sandbox.engine.engine import CancelResult, Engine, FeeTier, MarketView
from cryptoj.sandbox.engine.records import FillRecord, OrderRecord
from cryptoj.sandbox.engine.requests import BadRequest, OrderRequest, Rejection

__all__ = [
    "DEFAULT_FUNDING",
    "Account",
    "BadRequest",
    "CancelResult",
    "Engine",
    "FeeTier",
    "FillRecord",
    "Ledger",
    "MarketView",
    "OrderRecord",
    "OrderRequest",
    "Rejection",
]
