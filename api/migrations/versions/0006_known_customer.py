"""a returning customer is known: when the conversation's customer last proved who they are

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:05:00
"""
from alembic import op
import sqlalchemy as sa
import api.ops.common.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

UTC = api.ops.common.types.UTCDateTimeType(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('customer_verified_at', UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('customer_verified_at')
