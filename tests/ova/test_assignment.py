"""Point-in-polygon placement of incidents in quartiers and zone versions."""
import datetime as dt

import pytest
from sqlalchemy import text

from ova.assignment import assign_points
from tests.builders import GEODATA, add_incident, add_quartier, add_zone


def _setup(conn):
    q = add_quartier(conn, "Q", "Q", x0=0, y0=0, size=100)
    old = add_zone(conn, "Z", q, name="Z v1", valid_from="2024-01-01", valid_to="2024-03-15", x0=0, y0=0, size=50)
    new = add_zone(conn, "Z", q, name="Z v2", valid_from="2024-03-15", x0=0, y0=0, size=20)
    add_zone(conn, "D", q, name="draft", valid_from="2024-01-01", status="draft", x0=0, y0=0, size=100)
    return q, old, new


def _incident(conn, ext, x, y, day):
    return add_incident(conn, None, external_id=ext, x=x, y=y, reported_at=day)


def test_incidents_get_the_zone_version_valid_when_reported(connection):
    q, old, new = _setup(connection)
    before = _incident(connection, "a", 30, 30, dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc))
    after = _incident(connection, "b", 30, 30, dt.datetime(2024, 3, 20, 12, tzinfo=dt.timezone.utc))
    inner = _incident(connection, "c", 10, 10, dt.datetime(2024, 3, 20, 12, tzinfo=dt.timezone.utc))
    outside = _incident(connection, "d", 500, 500, dt.datetime(2024, 3, 20, 12, tzinfo=dt.timezone.utc))
    result = assign_points(connection, "incidents")
    assert result == {"changed": 3, "outside": 1}
    rows = dict(connection.execute(text("SELECT id, (quartier_id, zone_id)::text FROM incidents")).all())
    assert rows[before] == f"({q},{old})"
    assert rows[after] == f"({q},)"
    assert rows[inner] == f"({q},{new})"
    assert rows[outside] == "(,)"
    assert assign_points(connection, "incidents") == {"changed": 0, "outside": 1}


def test_unknown_table_is_refused(connection):
    with pytest.raises(ValueError, match="unknown point table"):
        assign_points(connection, "users; DROP TABLE users")


OWN_LAYERS = "SELECT slug, data_version FROM layers WHERE slug IN ('t-incidents', 't-quartiers')"


def test_a_load_invalidates_the_caches_of_layers_over_the_table(connection):
    """Loading incidents bumps data_version of catalogue layers over incidents, not of others."""
    from etl.targets import load

    connection.execute(text(
        "INSERT INTO layers (slug, title, producer_id, source_table, licence) VALUES "
        "('t-incidents', 'I', (SELECT id FROM producers WHERE slug = 'sig'), 'incidents', 'ODbL'), "
        "('t-quartiers', 'Q', (SELECT id FROM producers WHERE slug = 'sig'), 'quartiers', 'ODbL')"))
    load(connection, "quartiers", GEODATA / "paris" / "paris_quartiers_administratifs.geojson",
         preset="paris-quartiers")
    before = dict(connection.execute(text(OWN_LAYERS)).all())
    load(connection, "incidents", GEODATA / "incidents" / "paris_dansmarue_18-19-20e_extrait.geojson",
         preset="dansmarue")
    after = dict(connection.execute(text(OWN_LAYERS)).all())
    assert after == {"t-incidents": before["t-incidents"] + 1, "t-quartiers": before["t-quartiers"]}
    load(connection, "incidents", GEODATA / "incidents" / "paris_dansmarue_18-19-20e_extrait.geojson",
         preset="dansmarue")  # unchanged data: caches stay valid
    again = dict(connection.execute(text(OWN_LAYERS)).all())
    assert again == after
