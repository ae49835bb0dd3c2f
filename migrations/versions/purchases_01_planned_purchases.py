"""purchases: planned purchases of the buyers, buyers' SIRET on producers, purchase alerts

``planned_purchases`` holds the programmation prévisionnelle des achats (loaded by ``ova load
purchases`` or entered in the portal); ``producers.buyer_siret`` ties a service (and its agents)
to the buyer whose planned purchases they edit; subscriptions gain two kinds, a CPV division and
a commune, for firms' alerts. New table and nullable columns only.

Revision ID: purchases_01
Revises: territory_01
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from ova.settings import storage_srid

revision = 'purchases_01'
down_revision = 'territory_01'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('quartier', 'zone', 'category', 'area', 'incident', 'queue', 'publication')"
NEW_KINDS = ("kind IN ('quartier', 'zone', 'category', 'area', 'incident', 'queue', 'publication', "
             "'cpv_division', 'commune')")
OLD_TARGET = ("(kind <> 'quartier' OR quartier_id IS NOT NULL) AND (kind <> 'zone' OR zone_code IS NOT NULL) "
              "AND (kind <> 'category' OR category IS NOT NULL) AND (kind <> 'area' OR geom IS NOT NULL) "
              "AND (kind <> 'incident' OR incident_id IS NOT NULL) AND (kind <> 'queue' OR producer_id IS NOT NULL)")
NEW_TARGET = (OLD_TARGET + " AND (kind <> 'cpv_division' OR cpv_division IS NOT NULL)"
              " AND (kind <> 'commune' OR commune_insee IS NOT NULL)")


def upgrade() -> None:
    op.create_geospatial_table('planned_purchases',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('buyer_siret', sa.String(length=14), nullable=False),
    sa.Column('buyer_name', sa.String(length=300), nullable=True),
    sa.Column('object', sa.Text(), nullable=False),
    sa.Column('cpv_code', sa.String(length=10), nullable=True),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('amount_min', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('amount_max', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('expected_on', sa.Date(), nullable=True),
    sa.Column('expected_quarter', sa.String(length=7), nullable=True),
    sa.Column('procedure', sa.String(length=200), nullable=True),
    sa.Column('lots', sa.Integer(), nullable=True),
    sa.Column('place_commune', sa.String(length=12), nullable=True),
    sa.Column('place_quartier', sa.String(length=64), nullable=True),
    sa.Column('place_name', sa.String(length=200), nullable=True),
    sa.Column('place_basis', sa.String(length=16), nullable=True),
    sa.Column('contact', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='planned', nullable=False),
    sa.Column('notice_url', sa.String(length=500), nullable=True),
    sa.Column('decp_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('geom', Geometry(geometry_type='GEOMETRY', srid=storage_srid(), dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("status IN ('planned', 'published', 'awarded', 'cancelled')", name=op.f('ck_planned_purchases_status')),
    sa.CheckConstraint("place_basis IN ('drawn', 'point', 'quartier', 'commune')", name=op.f('ck_planned_purchases_place_basis')),
    sa.CheckConstraint('amount_min IS NULL OR amount_max IS NULL OR amount_min <= amount_max', name=op.f('ck_planned_purchases_amount_band')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planned_purchases')),
    sa.UniqueConstraint('source', 'external_id', name='uq_planned_purchases_source_external_id')
    )
    op.create_geospatial_index('idx_planned_purchases_geom', 'planned_purchases', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_planned_purchases_buyer_siret', 'planned_purchases', ['buyer_siret'], unique=False)
    op.create_index('ix_planned_purchases_cpv_code', 'planned_purchases', ['cpv_code'], unique=False)
    op.add_column('producers', sa.Column('buyer_siret', sa.String(length=14), nullable=True))
    op.add_column('subscriptions', sa.Column('cpv_division', sa.String(length=2), nullable=True))
    op.add_column('subscriptions', sa.Column('commune_insee', sa.String(length=12), nullable=True))
    op.drop_constraint(op.f('ck_subscriptions_kind'), 'subscriptions', type_='check')
    op.create_check_constraint(op.f('ck_subscriptions_kind'), 'subscriptions', NEW_KINDS)
    op.drop_constraint(op.f('ck_subscriptions_target'), 'subscriptions', type_='check')
    op.create_check_constraint(op.f('ck_subscriptions_target'), 'subscriptions', NEW_TARGET)


def downgrade() -> None:
    op.execute("DELETE FROM subscriptions WHERE kind IN ('cpv_division', 'commune')")
    op.drop_constraint(op.f('ck_subscriptions_target'), 'subscriptions', type_='check')
    op.create_check_constraint(op.f('ck_subscriptions_target'), 'subscriptions', OLD_TARGET)
    op.drop_constraint(op.f('ck_subscriptions_kind'), 'subscriptions', type_='check')
    op.create_check_constraint(op.f('ck_subscriptions_kind'), 'subscriptions', OLD_KINDS)
    op.drop_column('subscriptions', 'commune_insee')
    op.drop_column('subscriptions', 'cpv_division')
    op.drop_column('producers', 'buyer_siret')
    op.drop_geospatial_index('idx_planned_purchases_geom', table_name='planned_purchases', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_planned_purchases_cpv_code', table_name='planned_purchases')
    op.drop_index('ix_planned_purchases_buyer_siret', table_name='planned_purchases')
    op.drop_geospatial_table('planned_purchases')
