"""fills per product: a fill's key is its product and trade id (Coinbase numbers trades per product)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Recreated (SQLite cannot change a primary key in place); PostgreSQL names the old key fills_pkey.
    with op.batch_alter_table('fills', recreate='always') as batch_op:
        if op.get_context().dialect.name != 'sqlite':
            batch_op.drop_constraint('fills_pkey', type_='primary')
        batch_op.create_primary_key('fills_pkey', ['trade_id', 'product_id'])


def downgrade() -> None:
    with op.batch_alter_table('fills', recreate='always') as batch_op:
        if op.get_context().dialect.name != 'sqlite':
            batch_op.drop_constraint('fills_pkey', type_='primary')
        batch_op.create_primary_key('fills_pkey', ['trade_id'])
