"""a chat customer who left stays left across an api restart: when the socket.io channel
declared them gone (cleared when they come back)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:50:00
"""
from alembic import op
import sqlalchemy as sa
import api.ops.common.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

UTC = api.ops.common.types.UTCDateTimeType(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('customer_left_at', UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('customer_left_at')
