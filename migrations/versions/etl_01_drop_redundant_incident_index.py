"""drop ix_incidents_quartier_id: ix_incidents_quartier_id_reported_at starts with the same column

Every query (and the ON DELETE SET NULL of quartiers) that could use the single-column index uses
the composite one as well; the single-column index only cost writes (every incident inserted or
re-placed maintained it) and a rebuild in bulk loads.

Revision ID: etl_01
Revises: security_02
Create Date: 2026-11-23
"""
from alembic import op

revision = 'etl_01'
down_revision = 'security_02'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_incidents_quartier_id', table_name='incidents')


def downgrade() -> None:
    op.create_index('ix_incidents_quartier_id', 'incidents', ['quartier_id'], unique=False)
