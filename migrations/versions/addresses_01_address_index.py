"""address points and the streets derived from them (the portal's BAN-compatible geocoder)

Revision ID: addresses_01
Revises: norms_03
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from ova.settings import storage_srid

revision = 'addresses_01'
down_revision = 'norms_03'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'addresses',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('external_id', sa.String(length=128), nullable=False),
        sa.Column('housenumber', sa.String(length=16), nullable=False),
        sa.Column('housenumber_key', sa.String(length=16), nullable=False),
        sa.Column('street', sa.String(length=255), nullable=False),
        sa.Column('street_key', sa.String(length=255), nullable=False),
        sa.Column('postcode', sa.String(length=5), nullable=True),
        sa.Column('citycode', sa.String(length=5), nullable=False),
        sa.Column('city', sa.String(length=255), nullable=False),
        sa.Column('city_key', sa.String(length=255), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('geom', Geometry(geometry_type='POINT', srid=storage_srid(), spatial_index=False,
                                   from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_addresses')),
        sa.UniqueConstraint('source', 'external_id', name='uq_addresses_source_external_id'),
    )
    op.create_index('ix_addresses_citycode_street_key_housenumber_key', 'addresses',
                    ['citycode', 'street_key', 'housenumber_key'], unique=False)
    op.create_geospatial_index('idx_addresses_geom', 'addresses', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table(
        'address_streets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street', sa.String(length=255), nullable=False),
        sa.Column('street_key', sa.String(length=255), nullable=False),
        sa.Column('postcode', sa.String(length=5), nullable=False),
        sa.Column('citycode', sa.String(length=5), nullable=False),
        sa.Column('city', sa.String(length=255), nullable=False),
        sa.Column('search', sa.Text(), nullable=False),
        sa.Column('address_count', sa.Integer(), nullable=False),
        sa.Column('geom', Geometry(geometry_type='POINT', srid=storage_srid(), spatial_index=False,
                                   from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_address_streets')),
        sa.UniqueConstraint('citycode', 'postcode', 'street_key', name='uq_address_streets_citycode_postcode_street_key'),
    )
    op.create_geospatial_index('idx_address_streets_geom', 'address_streets', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})


def downgrade() -> None:
    op.drop_table('address_streets')
    op.drop_table('addresses')
