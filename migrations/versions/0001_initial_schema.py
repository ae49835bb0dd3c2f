"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import geoalchemy2
import sqlalchemy as sa
from geoalchemy2 import Geometry

from ova.settings import storage_srid
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('champs_action',
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('label_fr', sa.String(length=200), nullable=False),
    sa.Column('label_en', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_champs_action'))
    )
    op.create_geospatial_table('producers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('competence_area', Geometry(geometry_type='MULTIPOLYGON', srid=storage_srid(), dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_producers')),
    sa.UniqueConstraint('slug', name=op.f('uq_producers_slug'))
    )
    op.create_geospatial_index('idx_producers_competence_area', 'producers', ['competence_area'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('public_contracts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('decp_id', sa.String(length=128), nullable=False),
    sa.Column('buyer_siret', sa.String(length=14), nullable=True),
    sa.Column('buyer_name', sa.String(length=300), nullable=True),
    sa.Column('object', sa.Text(), nullable=True),
    sa.Column('nature', sa.String(length=100), nullable=True),
    sa.Column('procedure', sa.String(length=200), nullable=True),
    sa.Column('cpv_code', sa.String(length=10), nullable=True),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('notified_on', sa.Date(), nullable=True),
    sa.Column('duration_months', sa.Integer(), nullable=True),
    sa.Column('place_code', sa.String(length=20), nullable=True),
    sa.Column('place_type', sa.String(length=40), nullable=True),
    sa.Column('supplier_id', sa.String(length=32), nullable=False),
    sa.Column('supplier_id_type', sa.String(length=40), nullable=True),
    sa.Column('supplier_siret', sa.String(length=14), nullable=True),
    sa.Column('supplier_name', sa.String(length=300), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_contracts')),
    sa.UniqueConstraint('decp_id', 'supplier_id', name='uq_public_contracts_decp_id_supplier_id')
    )
    op.create_index('ix_public_contracts_buyer_siret', 'public_contracts', ['buyer_siret'], unique=False)
    op.create_index('ix_public_contracts_supplier_id', 'public_contracts', ['supplier_id'], unique=False)
    op.create_table('layers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=True),
    sa.Column('keywords', postgresql.ARRAY(sa.String(length=100)), server_default='{}', nullable=False),
    sa.Column('theme', sa.String(length=100), nullable=True),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('contact', sa.String(length=300), nullable=True),
    sa.Column('licence', sa.String(length=100), nullable=False),
    sa.Column('attribution', sa.String(length=500), nullable=True),
    sa.Column('update_frequency', sa.String(length=50), nullable=True),
    sa.Column('source_table', sa.String(length=128), nullable=False),
    sa.Column('source_filter', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('geometry_type', sa.String(length=32), nullable=True),
    sa.Column('restricted_to', postgresql.ARRAY(sa.String(length=32)), server_default='{}', nullable=False),
    sa.Column('published', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('data_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('last_update', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_layers_producer_id_producers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_layers')),
    sa.UniqueConstraint('slug', name=op.f('uq_layers_slug'))
    )
    op.create_geospatial_table('quartiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=True),
    sa.Column('commune_name', sa.String(length=200), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('producer_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=storage_srid(), dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_quartiers_producer_id_producers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quartiers')),
    sa.UniqueConstraint('code', name=op.f('uq_quartiers_code'))
    )
    op.create_geospatial_index('idx_quartiers_geom', 'quartiers', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('taches_standard',
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('champ_code', sa.String(length=8), nullable=False),
    sa.Column('label_fr', sa.String(length=300), nullable=False),
    sa.Column('label_en', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['champ_code'], ['champs_action.code'], name=op.f('fk_taches_standard_champ_code_champs_action'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_taches_standard'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role <> 'agent' OR producer_id IS NOT NULL", name=op.f('ck_users_agent_producer')),
    sa.CheckConstraint("role IN ('citizen', 'commercant', 'agent', 'urbaniste', 'banque', 'admin')", name=op.f('ck_users_role')),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_users_producer_id_producers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked', sa.Boolean(), server_default='false', nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('incident_categories',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label_fr', sa.String(length=200), nullable=False),
    sa.Column('label_en', sa.String(length=200), nullable=False),
    sa.Column('tache_code', sa.String(length=8), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_incident_categories_producer_id_producers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tache_code'], ['taches_standard.code'], name=op.f('fk_incident_categories_tache_code_taches_standard'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_incident_categories'))
    )
    op.create_table('norms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('tache_code', sa.String(length=8), nullable=False),
    sa.Column('label_fr', sa.String(length=300), nullable=False),
    sa.Column('label_en', sa.String(length=300), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('zone_code', sa.String(length=64), nullable=True),
    sa.Column('category_codes', postgresql.ARRAY(sa.String(length=64)), server_default='{}', nullable=False),
    sa.Column('delay_hours', sa.Integer(), nullable=True),
    sa.Column('activity_kind', sa.String(length=64), nullable=True),
    sa.Column('events_required', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=8), nullable=True),
    sa.Column('target_rate', sa.Numeric(precision=4, scale=3), server_default='0.9', nullable=False),
    sa.Column('min_sample', sa.Integer(), nullable=True),
    sa.Column('producer_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("metric <> 'frequency' OR (events_required > 0 AND period IS NOT NULL AND activity_kind IS NOT NULL)", name=op.f('ck_norms_frequency')),
    sa.CheckConstraint("metric <> 'response_delay' OR (delay_hours > 0 AND cardinality(category_codes) > 0)", name=op.f('ck_norms_response_delay')),
    sa.CheckConstraint("metric IN ('response_delay', 'frequency', 'document')", name=op.f('ck_norms_metric')),
    sa.CheckConstraint("period IS NULL OR period IN ('week', 'month', 'quarter', 'year')", name=op.f('ck_norms_period')),
    sa.CheckConstraint("scope <> 'quartier' OR quartier_id IS NOT NULL", name=op.f('ck_norms_quartier_scope')),
    sa.CheckConstraint("scope <> 'zone' OR zone_code IS NOT NULL", name=op.f('ck_norms_zone_scope')),
    sa.CheckConstraint("scope IN ('territory', 'quartier', 'priority_zones', 'zone')", name=op.f('ck_norms_scope')),
    sa.CheckConstraint('target_rate > 0 AND target_rate <= 1', name=op.f('ck_norms_target_rate')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_norms_validity')),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_norms_producer_id_producers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_norms_quartier_id_quartiers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tache_code'], ['taches_standard.code'], name=op.f('fk_norms_tache_code_taches_standard'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_norms')),
    sa.UniqueConstraint('code', name=op.f('uq_norms_code'))
    )
    op.create_geospatial_table('priority_zones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=storage_srid(), dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'approved')", name=op.f('ck_priority_zones_status')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_priority_zones_validity')),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_priority_zones_quartier_id_quartiers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_priority_zones')),
    sa.UniqueConstraint('code', 'valid_from', name='uq_priority_zones_code_valid_from')
    )
    op.create_geospatial_index('idx_priority_zones_geom', 'priority_zones', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('tache_producers',
    sa.Column('tache_code', sa.String(length=8), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_tache_producers_producer_id_producers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tache_code'], ['taches_standard.code'], name=op.f('fk_tache_producers_tache_code_taches_standard'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tache_code', 'producer_id', name=op.f('pk_tache_producers'))
    )
    op.create_geospatial_table('establishments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('siren', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('naf_code', sa.String(length=8), nullable=True),
    sa.Column('size_class', sa.String(length=8), nullable=True),
    sa.Column('commune_insee', sa.String(length=5), nullable=True),
    sa.Column('created_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('geo_precision', sa.String(length=32), server_default='address', nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('zone_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=storage_srid(), dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("geo_precision IN ('address', 'commune_centroid', 'arrondissement_centroid', 'unknown')", name=op.f('ck_establishments_geo_precision')),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_establishments_quartier_id_quartiers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['zone_id'], ['priority_zones.id'], name=op.f('fk_establishments_zone_id_priority_zones'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_establishments')),
    sa.UniqueConstraint('source', 'external_id', name='uq_establishments_source_external_id')
    )
    op.create_geospatial_index('idx_establishments_geom', 'establishments', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_establishments_siren', 'establishments', ['siren'], unique=False)
    op.create_index('ix_establishments_siret', 'establishments', ['siret'], unique=False)
    op.create_geospatial_table('incidents',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('source_category', sa.String(length=255), nullable=True),
    sa.Column('subcategory', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('times_simulated', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='new', nullable=False),
    sa.Column('expected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('norm_id', sa.Integer(), nullable=True),
    sa.Column('producer_id', sa.Integer(), nullable=True),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('zone_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=storage_srid(), dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("status IN ('new', 'acknowledged', 'in_progress', 'resolved', 'rejected')", name=op.f('ck_incidents_status')),
    sa.ForeignKeyConstraint(['category'], ['incident_categories.code'], name=op.f('fk_incidents_category_incident_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['norm_id'], ['norms.id'], name=op.f('fk_incidents_norm_id_norms'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_incidents_producer_id_producers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_incidents_quartier_id_quartiers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['zone_id'], ['priority_zones.id'], name=op.f('fk_incidents_zone_id_priority_zones'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('source', 'external_id', name='uq_incidents_source_external_id')
    )
    op.create_geospatial_index('idx_incidents_geom', 'incidents', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_incidents_quartier_id', 'incidents', ['quartier_id'], unique=False)
    op.create_index('ix_incidents_reported_at', 'incidents', ['reported_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_incidents_reported_at', table_name='incidents')
    op.drop_index('ix_incidents_quartier_id', table_name='incidents')
    op.drop_geospatial_index('idx_incidents_geom', table_name='incidents', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('incidents')
    op.drop_index('ix_establishments_siret', table_name='establishments')
    op.drop_index('ix_establishments_siren', table_name='establishments')
    op.drop_geospatial_index('idx_establishments_geom', table_name='establishments', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('establishments')
    op.drop_table('tache_producers')
    op.drop_geospatial_index('idx_priority_zones_geom', table_name='priority_zones', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('priority_zones')
    op.drop_table('norms')
    op.drop_table('incident_categories')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('taches_standard')
    op.drop_geospatial_index('idx_quartiers_geom', table_name='quartiers', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('quartiers')
    op.drop_table('layers')
    op.drop_index('ix_public_contracts_supplier_id', table_name='public_contracts')
    op.drop_index('ix_public_contracts_buyer_siret', table_name='public_contracts')
    op.drop_table('public_contracts')
    op.drop_geospatial_index('idx_producers_competence_area', table_name='producers', postgresql_using='gist', column_name='competence_area')
    op.drop_geospatial_table('producers')
    op.drop_table('champs_action')
