"""SQLModel tables: the stored shape of products, candles, orders, fills, positions, snapshots and risk state.

Rows are plain storage records; the repositories convert them to and from the domain dataclasses. Table
models skip validation on construction, so every value is checked (domain rules, `check_money`) before
it gets here. Money columns are `ExactDecimal`, times `UTCDateTime`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cryptoj.store.columns import ExactDecimal, UTCDateTime

__all__ = [
    "CLIENT_ORDER_ID_MAX",
    "BalanceSnapshotRow",
    "CandleRow",
    "EquitySnapshotRow",
    "FillRow",
    "FlowCycleRow",
    "KillSwitchEventRow",
    "KillSwitchRow",
    "OrderRow",
    "OrderStatusChangeRow",
    "PaperOrderRow",
    "PositionRow",
    "ProductRow",
    "RiskEventRow",
    "metadata",
]

# Coinbase documents no length; the client accepts ids up to 128 characters, so the store keeps as many.
CLIENT_ORDER_ID_MAX = 128

metadata = SQLModel.metadata

_PRODUCT_FK = "products.product_id"


def _money(*, nullable: bool = False) -> Column[Decimal]:
    return Column(ExactDecimal(), nullable=nullable)


def _time(*, nullable: bool = False, primary_key: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, primary_key=primary_key)


class ProductRow(SQLModel, table=True):
    """The last snapshot of a product's trading rules (increments, size limits, flags)."""

    __tablename__ = "products"

    product_id: str = Field(sa_column=Column(String(64), primary_key=True))
    base_currency: str = Field(sa_column=Column(String(16), nullable=False))
    quote_currency: str = Field(sa_column=Column(String(16), nullable=False))
    base_increment: Decimal = Field(sa_column=_money())
    quote_increment: Decimal = Field(sa_column=_money())
    base_min_size: Decimal = Field(sa_column=_money())
    base_max_size: Decimal = Field(sa_column=_money())
    quote_min_size: Decimal = Field(sa_column=_money())
    quote_max_size: Decimal = Field(sa_column=_money())
    price_increment: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    trading_disabled: bool = Field(sa_column=Column(Boolean, nullable=False))
    is_disabled: bool = Field(sa_column=Column(Boolean, nullable=False))
    cancel_only: bool = Field(sa_column=Column(Boolean, nullable=False))
    limit_only: bool = Field(sa_column=Column(Boolean, nullable=False))
    post_only: bool = Field(sa_column=Column(Boolean, nullable=False))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    updated_at: datetime = Field(sa_column=_time())


class CandleRow(SQLModel, table=True):
    """One OHLCV bar; the key (product, granularity, start) makes a re-pulled window an upsert."""

    __tablename__ = "candles"

    product_id: str = Field(sa_column=Column(String(64), ForeignKey(_PRODUCT_FK), primary_key=True))
    granularity: str = Field(sa_column=Column(String(32), primary_key=True))
    start: datetime = Field(sa_column=_time(primary_key=True))
    open: Decimal = Field(sa_column=_money())
    high: Decimal = Field(sa_column=_money())
    low: Decimal = Field(sa_column=_money())
    close: Decimal = Field(sa_column=_money())
    volume: Decimal = Field(sa_column=_money())


class FlowCycleRow(SQLModel, table=True):
    """One run of a trading cycle: its key names every order it placed."""

    __tablename__ = "flow_cycles"

    cycle_key: str = Field(sa_column=Column(String(200), primary_key=True))
    strategy: str = Field(sa_column=Column(String(100), nullable=False))
    flow_run_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    started_at: datetime = Field(sa_column=_time())
    finished_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    outcome: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))


class OrderRow(SQLModel, table=True):
    """An order: what we asked for (`requested_*`, the intent) kept apart from what the exchange reports."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("exchange_order_id", name="uq_orders_exchange_order_id"),
        Index("ix_orders_status", "status"),
        Index("ix_orders_cycle_key", "cycle_key"),
    )

    client_order_id: str = Field(sa_column=Column(String(CLIENT_ORDER_ID_MAX), primary_key=True))
    cycle_key: str | None = Field(
        default=None, sa_column=Column(String(200), ForeignKey("flow_cycles.cycle_key"), nullable=True)
    )
    intent_index: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    # What we asked for: written once, never changed.
    product_id: str = Field(sa_column=Column(String(64), ForeignKey(_PRODUCT_FK), nullable=False))
    side: str = Field(sa_column=Column(String(8), nullable=False))
    order_type: str = Field(sa_column=Column(String(16), nullable=False))
    requested_base_size: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    requested_quote_size: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    limit_price: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    stop_price: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    stop_direction: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    time_in_force: str = Field(sa_column=Column(String(32), nullable=False))
    end_time: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    post_only: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=_time())
    # What the exchange reports (or our local status before it answers).
    status: str = Field(sa_column=Column(String(32), nullable=False))
    exchange_order_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    filled_size: Decimal = Field(sa_column=_money())
    filled_value: Decimal = Field(sa_column=_money())
    fees: Decimal = Field(sa_column=_money())
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = Field(sa_column=_time())


class OrderStatusChangeRow(SQLModel, table=True):
    """One step of an order's status history; `seq` counts from 0 (the status it was stored with)."""

    __tablename__ = "order_status_changes"

    client_order_id: str = Field(
        sa_column=Column(String(CLIENT_ORDER_ID_MAX), ForeignKey("orders.client_order_id"), primary_key=True)
    )
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    at: datetime = Field(sa_column=_time())
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class FillRow(SQLModel, table=True):
    """One execution; its product and the exchange's trade id (numbered per product) make a repeat a no-op."""

    __tablename__ = "fills"
    __table_args__ = (
        Index("ix_fills_client_order_id", "client_order_id"),
        # A position is rebuilt from its product's fills in time order when they were recorded out of it.
        Index("ix_fills_product_time", "product_id", "time"),
    )

    trade_id: str = Field(sa_column=Column(String(64), primary_key=True))
    client_order_id: str = Field(
        sa_column=Column(String(CLIENT_ORDER_ID_MAX), ForeignKey("orders.client_order_id"), nullable=False)
    )
    order_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    product_id: str = Field(sa_column=Column(String(64), ForeignKey(_PRODUCT_FK), primary_key=True))
    side: str = Field(sa_column=Column(String(8), nullable=False))
    price: Decimal = Field(sa_column=_money())
    size: Decimal = Field(sa_column=_money())
    fee: Decimal = Field(sa_column=_money())
    liquidity: str = Field(sa_column=Column(String(8), nullable=False))
    time: datetime = Field(sa_column=_time())


class PositionRow(SQLModel, table=True):
    """The holding of one product at average cost (its applied trades are the fills of that product)."""

    __tablename__ = "positions"

    product_id: str = Field(sa_column=Column(String(64), ForeignKey(_PRODUCT_FK), primary_key=True))
    size: Decimal = Field(sa_column=_money())
    cost_basis: Decimal = Field(sa_column=_money())
    realized_pnl: Decimal = Field(sa_column=_money())
    fees: Decimal = Field(sa_column=_money())
    updated_at: datetime = Field(sa_column=_time())


class BalanceSnapshotRow(SQLModel, table=True):
    """A currency's balance at one time."""

    __tablename__ = "balance_snapshots"
    __table_args__ = (UniqueConstraint("currency", "at", name="uq_balance_snapshots_currency_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    currency: str = Field(sa_column=Column(String(16), nullable=False))
    at: datetime = Field(sa_column=_time())
    available: Decimal = Field(sa_column=_money())
    hold: Decimal = Field(sa_column=_money())


class EquitySnapshotRow(SQLModel, table=True):
    """Total equity in one currency at one time: the points of the equity curve."""

    __tablename__ = "equity_snapshots"
    __table_args__ = (UniqueConstraint("currency", "at", name="uq_equity_snapshots_currency_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    currency: str = Field(sa_column=Column(String(16), nullable=False))
    at: datetime = Field(sa_column=_time())
    equity: Decimal = Field(sa_column=_money())


class RiskEventRow(SQLModel, table=True):
    """A broken risk rule, with the sentence that gives its figures."""

    __tablename__ = "risk_events"
    __table_args__ = (Index("ix_risk_events_at", "at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    at: datetime = Field(sa_column=_time())
    rule: str = Field(sa_column=Column(String(32), nullable=False))
    message: str = Field(sa_column=Column(Text, nullable=False))
    cycle_key: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))


class KillSwitchRow(SQLModel, table=True):
    """The kill switch: one row (id 1); engaged while `reason` is set."""

    __tablename__ = "kill_switch"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    engaged_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))


class KillSwitchEventRow(SQLModel, table=True):
    """The kill switch's history: each engage (with its reason) and reset (with the operator's name)."""

    __tablename__ = "kill_switch_events"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    event: str = Field(sa_column=Column(String(16), nullable=False))
    at: datetime = Field(sa_column=_time())
    detail: str = Field(sa_column=Column(Text, nullable=False))


class PaperOrderRow(SQLModel, table=True):
    """A paper order still working: where it stands and what it took from the book, between cycles.

    The order row holds the intent and the fills; this holds only what the paper model needs beyond them.
    """

    __tablename__ = "paper_orders"

    client_order_id: str = Field(
        sa_column=Column(String(CLIENT_ORDER_ID_MAX), ForeignKey("orders.client_order_id"), primary_key=True)
    )
    state: str = Field(sa_column=Column(String(32), nullable=False))
    # JSON list of [price, size] decimal strings: what the order already took from each visible level.
    taken: str = Field(sa_column=Column(Text, nullable=False))
    # Trades printed after this time have not been matched against the order yet.
    checked_at: datetime = Field(sa_column=_time())
