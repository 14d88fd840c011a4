"""agent console: sessions, sign-in failures, private notes, snoozed tickets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 06:20:00
"""
from alembic import op
import sqlalchemy as sa
import api.ops.common.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

UTC = api.ops.common.types.UTCDateTimeType(timezone=True)


def upgrade() -> None:
    op.create_table(
        'agent_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('client_address', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('expires_at', UTC, nullable=False),
        sa.Column('revoked_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_sessions_agent_id_agents')),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_agent_sessions')),
    )
    op.create_index(op.f('ix_agent_sessions_agent_id'), 'agent_sessions', ['agent_id'], unique=False)
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('client_address', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures')),
    )
    op.create_index('ix_login_failures_email', 'login_failures', ['email', 'created_at'], unique=False)
    op.create_index('ix_login_failures_address', 'login_failures', ['client_address', 'created_at'], unique=False)
    op.create_table(
        'ticket_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('author_name', sa.String(length=120), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_ticket_notes_agent_id_agents')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_notes_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_notes')),
    )
    op.create_index(op.f('ix_ticket_notes_ticket_id'), 'ticket_notes', ['ticket_id'], unique=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snoozed_until', UTC, nullable=True))
        # The console's queue reads open tickets by priority and SLA, and watches updated_at.
        batch_op.create_index('ix_tickets_updated_at', ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_updated_at')
        batch_op.drop_column('snoozed_until')
    op.drop_index(op.f('ix_ticket_notes_ticket_id'), table_name='ticket_notes')
    op.drop_table('ticket_notes')
    op.drop_index('ix_login_failures_address', table_name='login_failures')
    op.drop_index('ix_login_failures_email', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_index(op.f('ix_agent_sessions_agent_id'), table_name='agent_sessions')
    op.drop_table('agent_sessions')
