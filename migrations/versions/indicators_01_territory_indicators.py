"""indicators: materialised territory indicators and the commune → EPCI table

Revision ID: indicators_01
Revises: 0001
Create Date: 2026-11-23 16:41:26.604729
"""
from alembic import op
import sqlalchemy as sa


revision = 'indicators_01'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commune_epci',
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.Column('commune_name', sa.String(length=200), nullable=False),
    sa.Column('epci_siren', sa.String(length=9), nullable=False),
    sa.Column('epci_name', sa.String(length=200), nullable=False),
    sa.Column('departement', sa.String(length=3), nullable=False),
    sa.PrimaryKeyConstraint('commune_insee', name=op.f('pk_commune_epci'))
    )
    op.create_table('territory_indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_kind', sa.String(length=16), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('area_km2', sa.Numeric(precision=12, scale=4), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('establishments_active', sa.Integer(), nullable=True),
    sa.Column('establishments_created', sa.Integer(), nullable=True),
    sa.Column('establishments_closed', sa.Integer(), nullable=True),
    sa.Column('incidents', sa.Integer(), nullable=True),
    sa.Column('incidents_resolved', sa.Integer(), nullable=True),
    sa.Column('median_resolution_hours', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('resolution_simulated', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('establishments_per_km2', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('incidents_per_km2', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('incidents_per_1000_establishments', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('incidents_per_1000_inhabitants', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('establishments_per_1000_inhabitants', sa.Numeric(precision=14, scale=3), nullable=True),
    sa.Column('incidents_prev12m', sa.Integer(), nullable=True),
    sa.Column('establishments_active_prev12m', sa.Integer(), nullable=True),
    sa.Column('incidents_trend_pct', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('establishments_trend_pct', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('norms_met_share', sa.Numeric(precision=5, scale=4), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("period_kind IN ('month', '12m', 'prev12m')", name=op.f('ck_territory_indicators_period_kind')),
    sa.CheckConstraint("unit_kind IN ('quartier', 'zone')", name=op.f('ck_territory_indicators_unit_kind')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_territory_indicators_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_territory_indicators')),
    sa.UniqueConstraint('unit_kind', 'unit_id', 'period_kind', 'period_start', name='uq_territory_indicators_unit_period')
    )


def downgrade() -> None:
    op.drop_table('territory_indicators')
    op.drop_table('commune_epci')
