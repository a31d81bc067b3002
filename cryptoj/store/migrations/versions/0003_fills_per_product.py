"""fills per product: a fill's key is its product and trade id (Coinbase numbers trades per product)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cryptoj.store.columns


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _fills(key: list[str]) -> sa.Table:
    """The fills table as it is to be, keyed on `key`."""
    money = cryptoj.store.columns.ExactDecimal(precision=38, scale=18)
    return sa.Table('fills', sa.MetaData(),
    sa.Column('trade_id', sa.String(length=64), nullable=False),
    sa.Column('client_order_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('product_id', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('price', money, nullable=False),
    sa.Column('size', money, nullable=False),
    sa.Column('fee', money, nullable=False),
    sa.Column('liquidity', sa.String(length=8), nullable=False),
    sa.Column('time', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_order_id'], ['orders.client_order_id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.product_id'], ),
    sa.PrimaryKeyConstraint(*key, name='fills_pkey'),
    sa.Index('ix_fills_client_order_id', 'client_order_id'),
    )


def _rekey(key: list[str]) -> None:
    if op.get_context().dialect.name == 'sqlite':
        # SQLite cannot change a primary key in place: the table is copied into its new shape.
        with op.batch_alter_table('fills', recreate='always', copy_from=_fills(key)):
            pass
    else:
        op.drop_constraint('fills_pkey', 'fills', type_='primary')
        op.create_primary_key('fills_pkey', 'fills', key)


def upgrade() -> None:
    _rekey(['trade_id', 'product_id'])


def downgrade() -> None:
    _rekey(['trade_id'])
