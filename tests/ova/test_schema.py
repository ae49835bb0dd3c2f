"""Schema: migrations match the models, geometries are typed in Lambert-93 with GiST indexes."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ova.models import Base, Incident, User


def test_migrations_match_models(connection):
    ctx = MigrationContext.configure(connection, opts={
        "include_object": alembic_helpers.include_object, "compare_type": True})
    diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


@pytest.mark.parametrize("table,kind", [
    ("quartiers", "MULTIPOLYGON"), ("priority_zones", "MULTIPOLYGON"), ("incidents", "POINT"),
    ("establishments", "POINT"), ("producers", "MULTIPOLYGON"),
])
def test_geometry_columns_are_lambert93_with_gist_index(connection, table, kind):
    srid, gtype = connection.execute(
        text("SELECT srid, type FROM geometry_columns WHERE f_table_name = :t"), {"t": table}).one()
    assert (srid, gtype) == (2154, kind)
    indexdef = connection.scalar(text(
        "SELECT indexdef FROM pg_indexes WHERE tablename = :t AND indexdef ILIKE '%gist%'"), {"t": table})
    assert indexdef is not None


def test_geometry_in_another_srid_is_refused(session):
    session.add(Incident(source="t", external_id="1", category="x", reported_at="2024-01-01T00:00:00Z",
                         geom="SRID=4326;POINT(2.35 48.85)"))
    with pytest.raises(Exception, match="SRID"):
        session.flush()


def test_agent_without_producer_is_refused(session):
    session.add(User(email="a@example.org", name="A", password_hash="x", role="agent"))
    with pytest.raises(IntegrityError, match="ck_users_agent_producer"):
        session.flush()


def test_unknown_role_is_refused(session):
    session.add(User(email="b@example.org", name="B", password_hash="x", role="superhero"))
    with pytest.raises(IntegrityError, match="ck_users_role"):
        session.flush()
