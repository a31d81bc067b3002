"""fills by product and time: a position rebuilt from its product's fills in the order they happened

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_fills_product_time', 'fills', ['product_id', 'time'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_fills_product_time', table_name='fills')
