"""audit log of changes and failed logins (rate limiting)

Revision ID: security_01
Revises: layers_01
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'security_01'
down_revision = "norms_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('table_name', sa.String(length=63), nullable=False),
    sa.Column('row_id', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.CheckConstraint("action IN ('create', 'update', 'delete')", name=op.f('ck_audit_log_action')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_table_name_at', 'audit_log', ['table_name', 'at'], unique=False)
    op.create_index('ix_audit_log_table_name_row_id', 'audit_log', ['table_name', 'row_id'], unique=False)
    op.create_table('login_failures',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('account_hash', sa.String(length=64), nullable=False),
    sa.Column('client_hash', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    op.create_index('ix_login_failures_client_hash_at', 'login_failures', ['client_hash', 'at'], unique=False)
    op.create_index('ix_login_failures_account_hash_at', 'login_failures', ['account_hash', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_failures_account_hash_at', table_name='login_failures')
    op.drop_index('ix_login_failures_client_hash_at', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_index('ix_audit_log_table_name_row_id', table_name='audit_log')
    op.drop_index('ix_audit_log_table_name_at', table_name='audit_log')
    op.drop_table('audit_log')
