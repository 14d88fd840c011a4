"""email channel: threads, every mail by Message-ID, the outbox, mailbox poll state

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 11:50:00
"""
from alembic import op
import sqlalchemy as sa
import api.ops.common.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

UTC = api.ops.common.types.UTCDateTimeType(timezone=True)


def upgrade() -> None:
    op.create_table(
        'email_threads',
        sa.Column('conversation_id', sa.String(length=120), nullable=False),
        sa.Column('reference', sa.String(length=20), nullable=False),
        sa.Column('customer_address', sa.String(length=254), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('last_message_id', sa.String(length=250), nullable=True),
        sa.Column('references', sa.Text(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_email_threads_conversation_id_conversations')),
        sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_email_threads')),
        sa.UniqueConstraint('reference', name=op.f('uq_email_threads_reference')),
    )
    op.create_table(
        'email_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_key', sa.String(length=64), nullable=False),
        sa.Column('rfc_message_id', sa.String(length=250), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('conversation_id', sa.String(length=120), nullable=True),
        sa.Column('hub_message_id', sa.Integer(), nullable=True),
        sa.Column('address', sa.String(length=254), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('attachments', sa.JSON(), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_records')),
        sa.UniqueConstraint('message_key', name=op.f('uq_email_records_message_key')),
    )
    op.create_index('ix_email_records_conversation_id', 'email_records', ['conversation_id'], unique=False)
    op.create_table(
        'email_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=120), nullable=False),
        sa.Column('rfc_message_id', sa.String(length=250), nullable=False),
        sa.Column('to_address', sa.String(length=254), nullable=False),
        sa.Column('raw', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTC, nullable=False),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('sent_at', UTC, nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_outbox')),
    )
    op.create_index('ix_email_outbox_status_next', 'email_outbox', ['status', 'next_attempt_at'], unique=False)
    op.create_table(
        'email_queue',
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=120), nullable=False),
        sa.Column('mail_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['mail_id'], ['email_outbox.id'], name=op.f('fk_email_queue_mail_id_email_outbox')),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_email_queue_message_id_messages')),
        sa.PrimaryKeyConstraint('message_id', name=op.f('pk_email_queue')),
    )
    op.create_index(op.f('ix_email_queue_conversation_id'), 'email_queue', ['conversation_id'], unique=False)
    op.create_index(op.f('ix_email_queue_mail_id'), 'email_queue', ['mail_id'], unique=False)
    op.create_table(
        'email_mailboxes',
        sa.Column('mailbox', sa.String(length=300), nullable=False),
        sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
        sa.Column('last_uid', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('mailbox', name=op.f('pk_email_mailboxes')),
    )


def downgrade() -> None:
    op.drop_table('email_mailboxes')
    op.drop_index(op.f('ix_email_queue_mail_id'), table_name='email_queue')
    op.drop_index(op.f('ix_email_queue_conversation_id'), table_name='email_queue')
    op.drop_table('email_queue')
    op.drop_index('ix_email_outbox_status_next', table_name='email_outbox')
    op.drop_table('email_outbox')
    op.drop_index('ix_email_records_conversation_id', table_name='email_records')
    op.drop_table('email_records')
    op.drop_table('email_threads')
