"""csw_records: the ISO 19139 records of the catalogue layers, served by pycsw at /csw

Revision ID: csw_01
Revises: basemap_01
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = 'csw_01'
down_revision = 'basemap_01'
branch_labels = None
depends_on = None

#: pycsw's record model (text columns), as in ova.models.CSW_TEXT_COLUMNS at this revision.
TEXT_COLUMNS = (
    "typename", "schema", "mdsource", "insert_date", "xml", "anytext", "metadata", "metadata_type", "language",
    "type", "title", "title_alternate", "abstract", "edition", "keywords", "keywordstype", "themes",
    "parentidentifier", "relation", "time_begin", "time_end", "topicategory", "resourcelanguage",
    "creator", "publisher", "contributor", "organization",
    "securityconstraints", "accessconstraints", "otherconstraints",
    "date", "date_revision", "date_creation", "date_publication", "date_modified", "format", "source",
    "crs", "geodescode", "denominator", "distancevalue", "distanceuom", "wkt_geometry",
    "servicetype", "servicetypeversion", "operation", "couplingtype", "operateson", "operatesonidentifier",
    "operatesoname", "degree", "classification", "conditionapplyingtoaccessanduse", "lineage",
    "responsiblepartyrole", "specificationtitle", "specificationdate", "specificationdatetype",
    "platform", "instrument", "sensortype", "cloudcover", "bands", "links", "contacts",
)
REQUIRED = {"typename", "schema", "mdsource", "insert_date", "xml", "anytext", "metadata_type"}


def upgrade() -> None:
    op.create_table(
        'csw_records',
        sa.Column('identifier', sa.Text(), nullable=False),
        sa.Column('layer_id', sa.Integer(), nullable=False),
        sa.Column('stamp', sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=name not in REQUIRED) for name in TEXT_COLUMNS),
        sa.Column('vert_extent_min', sa.Float(), nullable=True),
        sa.Column('vert_extent_max', sa.Float(), nullable=True),
        sa.Column('wkb_geometry', Geometry(geometry_type='GEOMETRY', srid=4326, dimension=2, spatial_index=False,
                                           from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
        sa.ForeignKeyConstraint(['layer_id'], ['layers.id'], name=op.f('fk_csw_records_layer_id_layers'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('identifier', name=op.f('pk_csw_records')),
        sa.UniqueConstraint('layer_id', name=op.f('uq_csw_records_layer_id')),
    )
    op.create_geospatial_index('idx_csw_records_wkb_geometry', 'csw_records', ['wkb_geometry'], unique=False,
                               postgresql_using='gist', postgresql_ops={})


def downgrade() -> None:
    # Records are rebuilt from the layers on the next CSW request: dropping them loses nothing.
    op.drop_geospatial_index('idx_csw_records_wkb_geometry', table_name='csw_records', postgresql_using='gist',
                             column_name='wkb_geometry')
    op.drop_table('csw_records')
