"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cryptoj.store.columns


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('balance_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('available', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('hold', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('currency', 'at', name='uq_balance_snapshots_currency_at')
    )
    op.create_table('equity_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('equity', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('currency', 'at', name='uq_equity_snapshots_currency_at')
    )
    op.create_table('flow_cycles',
    sa.Column('cycle_key', sa.String(length=200), nullable=False),
    sa.Column('strategy', sa.String(length=100), nullable=False),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('started_at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('cycle_key')
    )
    op.create_table('kill_switch',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('engaged_at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('kill_switch_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('products',
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('base_currency', sa.String(length=16), nullable=False),
    sa.Column('quote_currency', sa.String(length=16), nullable=False),
    sa.Column('base_increment', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('quote_increment', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('base_min_size', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('base_max_size', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('quote_min_size', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('quote_max_size', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('price_increment', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=True),
    sa.Column('trading_disabled', sa.Boolean(), nullable=False),
    sa.Column('is_disabled', sa.Boolean(), nullable=False),
    sa.Column('cancel_only', sa.Boolean(), nullable=False),
    sa.Column('limit_only', sa.Boolean(), nullable=False),
    sa.Column('post_only', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('updated_at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('product_id')
    )
    op.create_table('risk_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('cycle_key', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('risk_events', schema=None) as batch_op:
        batch_op.create_index('ix_risk_events_at', ['at'], unique=False)

    op.create_table('candles',
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('granularity', sa.String(length=32), nullable=False),
    sa.Column('start', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('open', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('high', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('low', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('close', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('volume', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.product_id'], ),
    sa.PrimaryKeyConstraint('product_id', 'granularity', 'start')
    )
    op.create_table('orders',
    sa.Column('client_order_id', sa.String(length=128), nullable=False),
    sa.Column('cycle_key', sa.String(length=200), nullable=True),
    sa.Column('intent_index', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('order_type', sa.String(length=16), nullable=False),
    sa.Column('requested_base_size', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=True),
    sa.Column('requested_quote_size', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=True),
    sa.Column('limit_price', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=True),
    sa.Column('stop_price', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=True),
    sa.Column('stop_direction', sa.String(length=32), nullable=True),
    sa.Column('time_in_force', sa.String(length=32), nullable=False),
    sa.Column('end_time', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('post_only', sa.Boolean(), nullable=False),
    sa.Column('created_at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('exchange_order_id', sa.String(length=64), nullable=True),
    sa.Column('filled_size', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('filled_value', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('fees', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('updated_at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cycle_key'], ['flow_cycles.cycle_key'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.product_id'], ),
    sa.PrimaryKeyConstraint('client_order_id'),
    sa.UniqueConstraint('exchange_order_id', name='uq_orders_exchange_order_id')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_cycle_key', ['cycle_key'], unique=False)
        batch_op.create_index('ix_orders_status', ['status'], unique=False)

    op.create_table('positions',
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('size', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('cost_basis', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('realized_pnl', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('fees', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('updated_at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.product_id'], ),
    sa.PrimaryKeyConstraint('product_id')
    )
    op.create_table('fills',
    sa.Column('trade_id', sa.String(length=64), nullable=False),
    sa.Column('client_order_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('price', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('size', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('fee', cryptoj.store.columns.ExactDecimal(precision=38, scale=18), nullable=False),
    sa.Column('liquidity', sa.String(length=8), nullable=False),
    sa.Column('time', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_order_id'], ['orders.client_order_id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.product_id'], ),
    sa.PrimaryKeyConstraint('trade_id')
    )
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.create_index('ix_fills_client_order_id', ['client_order_id'], unique=False)

    op.create_table('order_status_changes',
    sa.Column('client_order_id', sa.String(length=128), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_order_id'], ['orders.client_order_id'], ),
    sa.PrimaryKeyConstraint('client_order_id', 'seq')
    )



def downgrade() -> None:

    op.drop_table('order_status_changes')
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.drop_index('ix_fills_client_order_id')

    op.drop_table('fills')
    op.drop_table('positions')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status')
        batch_op.drop_index('ix_orders_cycle_key')

    op.drop_table('orders')
    op.drop_table('candles')
    with op.batch_alter_table('risk_events', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_events_at')

    op.drop_table('risk_events')
    op.drop_table('products')
    op.drop_table('kill_switch_events')
    op.drop_table('kill_switch')
    op.drop_table('flow_cycles')
    op.drop_table('equity_snapshots')
    op.drop_table('balance_snapshots')

