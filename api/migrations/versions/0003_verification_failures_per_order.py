"""failed order verifications are counted per order number too

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 05:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('verification_failures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_number', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_verification_failures_order', ['order_number', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('verification_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_verification_failures_order')
        batch_op.drop_column('order_number')
