"""territory: the storage CRS, time zone and name the database was created for, one row

The geometry columns of the earlier revisions take their SRID from ``OVA_STORAGE_CRS`` (a database
is created with one CRS); this revision records it, with the time zone and name, so that a portal
or a command started with another CRS is refused (``ova.territory.check_database``). Upgrading a
database whose geometry columns are in another CRS than the configured one is refused here.

Revision ID: territory_01
Revises: notify_01
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

from ova import settings
from ova.territory import mismatch_message

revision = 'territory_01'
down_revision = 'notify_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = settings.storage_srid()
    bind = op.get_bind()
    stored = bind.execute(sa.text(
        "SELECT srid FROM geometry_columns WHERE f_table_schema = 'public' AND f_table_name = 'quartiers' "
        "AND f_geometry_column = 'geom'")).scalar()
    if stored is not None and int(stored) != srid:
        raise RuntimeError(mismatch_message(int(stored), None, srid))
    op.create_table('territory',
    sa.Column('id', sa.Integer(), server_default='1', nullable=False),
    sa.Column('srid', sa.Integer(), nullable=False),
    sa.Column('crs_name', sa.Text(), nullable=False),
    sa.Column('timezone', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_territory_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_territory'))
    )
    import pyproj

    bind.execute(sa.text(
        "INSERT INTO territory (id, srid, crs_name, timezone, name, country) VALUES (1, :srid, :crs, :tz, :name, :country)"),
        {"srid": srid, "crs": pyproj.CRS.from_epsg(srid).name, "tz": settings.timezone_name(),
         "name": settings.territory_name(), "country": settings.country()})


    # Commune codes are the territory's own: German AGS has 8 digits, elsewhere any short code.
    for table in COMMUNE_TABLES:
        op.alter_column(table, 'commune_insee', type_=sa.String(length=12), existing_type=sa.String(length=5))
    # SIREN is a French identifier: required by the loader in a French territory only.
    op.alter_column('establishments', 'siren', nullable=True, existing_type=sa.String(length=9))


#: Tables whose commune code column (``commune_insee``) holds the territory's commune codes.
COMMUNE_TABLES = ('quartiers', 'establishments', 'basemap_features', 'commune_epci')


def downgrade() -> None:
    op.alter_column('establishments', 'siren', nullable=False, existing_type=sa.String(length=9))
    for table in COMMUNE_TABLES:
        op.alter_column(table, 'commune_insee', type_=sa.String(length=5), existing_type=sa.String(length=12))
    op.drop_table('territory')
