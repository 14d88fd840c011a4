"""conversation hub: channel keys, delivery state, replay ids

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 05:30:00
"""
from alembic import op
import sqlalchemy as sa
import api.ops.common.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('customer_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('bot_reset_pending', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_conversations_channel'), ['channel', 'channel_key'])

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=12), server_default='sent', nullable=False))
        batch_op.add_column(sa.Column('external_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('in_reply_to', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', api.ops.common.types.UTCDateTimeType(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivery_error', sa.String(length=300), nullable=True))
        batch_op.create_index('ix_messages_state', ['state'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_messages_conversation_id'), ['conversation_id', 'external_id'])


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_messages_conversation_id'), type_='unique')
        batch_op.drop_index('ix_messages_state')
        batch_op.drop_column('delivery_error')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('in_reply_to')
        batch_op.drop_column('external_id')
        batch_op.drop_column('state')

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_conversations_channel'), type_='unique')
        batch_op.drop_column('bot_reset_pending')
        batch_op.drop_column('customer_name')
        batch_op.drop_column('channel_key')
