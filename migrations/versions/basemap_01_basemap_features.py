"""basemap_features: the portal's own basemap (named streets, water, green spaces, buildings)

Revision ID: basemap_01
Revises: addresses_01
Create Date: 2026-12-03
"""
import geoalchemy2
import sqlalchemy as sa
from alembic import op

from ova.settings import storage_srid

revision = 'basemap_01'
down_revision = 'addresses_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'basemap_features',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('external_id', sa.String(length=100), nullable=False),
        sa.Column('theme', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=True),
        sa.Column('short_name', sa.String(length=300), nullable=True),
        sa.Column('kind', sa.String(length=50), nullable=True),
        sa.Column('rank', sa.Integer(), server_default='3', nullable=False),
        sa.Column('commune_insee', sa.String(length=5), nullable=True),
        sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='GEOMETRY', srid=storage_srid(),
                                                     spatial_index=False), nullable=False),
        sa.CheckConstraint("theme IN ('green', 'water', 'buildings', 'streets')", name=op.f('ck_basemap_features_theme')),
        sa.CheckConstraint('rank BETWEEN 1 AND 3', name=op.f('ck_basemap_features_rank')),
        sa.CheckConstraint("GeometryType(geom) IN ('MULTILINESTRING', 'MULTIPOLYGON')",
                           name=op.f('ck_basemap_features_geometry_kind')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_basemap_features')),
        sa.UniqueConstraint('source', 'external_id', name='uq_basemap_features_source_external_id'),
    )
    # Tiles are cut in Web Mercator: a stored copy there spares the reprojection of every
    # feature of every tile (z12: 2 500 streets), and its own index answers the tile's box.
    op.execute("ALTER TABLE basemap_features ADD COLUMN geom_3857 geometry(Geometry, 3857) "
               "GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED")
    op.create_index('ix_basemap_features_theme_rank', 'basemap_features', ['theme', 'rank'])
    op.create_index('idx_basemap_features_geom', 'basemap_features', ['geom'], postgresql_using='gist')
    op.create_index('idx_basemap_features_geom_3857', 'basemap_features', ['geom_3857'], postgresql_using='gist')


def downgrade() -> None:
    op.drop_table('basemap_features')
