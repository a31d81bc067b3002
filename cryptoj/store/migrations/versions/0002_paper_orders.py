"""paper orders: the working state of resting paper orders between cycles

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cryptoj.store.columns


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('paper_orders',
    sa.Column('client_order_id', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('taken', sa.Text(), nullable=False),
    sa.Column('checked_at', cryptoj.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_order_id'], ['orders.client_order_id'], ),
    sa.PrimaryKeyConstraint('client_order_id')
    )


def downgrade() -> None:
    op.drop_table('paper_orders')
