"""rate counters of the API rate limits (unlogged)

Revision ID: security_02
Revises: norms_02
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = 'security_02'
down_revision = "norms_02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_counters',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_counters')),
    prefixes=['UNLOGGED'],
    )
    op.create_index('ix_rate_counters_window_start', 'rate_counters', ['window_start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rate_counters_window_start', table_name='rate_counters')
    op.drop_table('rate_counters')
