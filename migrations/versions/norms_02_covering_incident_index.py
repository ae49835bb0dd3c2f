"""incidents (quartier_id, reported_at) index covers the columns the compliance engine judges

The incremental recompute reads the incidents of a few quartier-months; with these columns in the
index it reads them with an index-only scan instead of visiting one heap page per incident.

Revision ID: norms_02
Revises: security_01
Create Date: 2026-11-23
"""
from alembic import op

revision = 'norms_02'
down_revision = 'security_01'
branch_labels = None
depends_on = None

_INCLUDE = ['category', 'status', 'zone_id', 'resolved_at', 'times_simulated']


def upgrade() -> None:
    op.drop_index('ix_incidents_quartier_id_reported_at', table_name='incidents')
    op.create_index('ix_incidents_quartier_id_reported_at', 'incidents', ['quartier_id', 'reported_at'],
                    unique=False, postgresql_include=_INCLUDE)


def downgrade() -> None:
    op.drop_index('ix_incidents_quartier_id_reported_at', table_name='incidents')
    op.create_index('ix_incidents_quartier_id_reported_at', 'incidents', ['quartier_id', 'reported_at'],
                    unique=False)
