"""verification limits per conversation and per order; one open ticket per conversation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa
import api.ops.common.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OPEN = sa.text("status != 'resolved'")


def upgrade() -> None:
    op.create_table('verification_buckets',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('max_failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', api.ops.common.types.UTCDateTimeType(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_verification_buckets'))
    )
    with op.batch_alter_table('verification_buckets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_buckets_window_started_at'), ['window_started_at'], unique=False)

    with op.batch_alter_table('verification_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_verification_failures_conv')
    op.drop_table('verification_failures')

    # Concurrent escalations could open several tickets for one conversation: keep the oldest
    # open one, resolve the others, then let the database keep it so.
    op.execute(
        "UPDATE tickets SET status = 'resolved' WHERE status != 'resolved' "
        "AND conversation_id IS NOT NULL AND id NOT IN ("
        "SELECT min(id) FROM tickets WHERE status != 'resolved' "
        "AND conversation_id IS NOT NULL GROUP BY conversation_id)"
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('uq_tickets_open_conversation', ['conversation_id'], unique=True, sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('uq_tickets_open_conversation', sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table('verification_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=120), nullable=False),
    sa.Column('created_at', api.ops.common.types.UTCDateTimeType(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_failures'))
    )
    with op.batch_alter_table('verification_failures', schema=None) as batch_op:
        batch_op.create_index('ix_verification_failures_conv', ['conversation_id', 'created_at'], unique=False)
    with op.batch_alter_table('verification_buckets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_buckets_window_started_at'))
    op.drop_table('verification_buckets')
