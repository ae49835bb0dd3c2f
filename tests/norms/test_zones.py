"""Priority-zone versions: drafts from GeoJSON, approval closes the previous version, past kept."""
import datetime as dt
import json

import pytest
from sqlalchemy import text

from ova.assignment import assign_points
from norms.engine import compute_all
from norms.publication import publish_month
from norms.zones import approve, create_draft, new_version, parse_geometry, update_draft
from ova.errors import Conflict, InvalidInput

UTC = dt.timezone.utc


def _square(conn, x0, y0, x1, y1):
    """A Lambert-93 box as a WGS 84 GeoJSON Polygon (as a browser would send it)."""
    return conn.scalar(text("SELECT ST_AsGeoJSON(ST_Transform(ST_MakeEnvelope(:a, :b, :c, :d, 2154), 4326), 9)"),
                       {"a": x0, "b": y0, "c": x1, "d": y1})


@pytest.mark.parametrize("raw,match", [
    ("not json", "invalid GeoJSON"),
    ('{"type": "Point", "coordinates": [2.3, 48.8]}', "polygons"),
    ('{"type": "FeatureCollection", "features": []}', "no polygon"),
    ("[1, 2]", "expected an object"),
])
def test_bad_geojson_is_refused(raw, match):
    with pytest.raises(InvalidInput, match=match):
        parse_geometry(raw)


def test_self_intersecting_polygon_is_refused(connection):
    bowtie = json.dumps({"type": "Polygon", "coordinates": [[[2.30, 48.80], [2.31, 48.81], [2.31, 48.80],
                                                             [2.30, 48.81], [2.30, 48.80]]]})
    with pytest.raises(InvalidInput, match="invalid polygon"):
        create_draft(connection, code="Z", name="Z", valid_from=dt.date(2024, 1, 1), geojson=parse_geometry(bowtie))


def test_redrawing_a_zone_keeps_past_incidents_on_the_old_version(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("g48-zcp", scope="priority_zones", hours=48, min_sample=1)
    v1 = create_draft(connection, code="ZCP-1", name="Centre", valid_from=dt.date(2024, 1, 1),
                      geojson=parse_geometry(_square(connection, 650000, 6860000, 650500, 6860500)))
    approve(connection, v1)
    assert connection.scalar(text("SELECT quartier_id FROM priority_zones WHERE id = :z"), {"z": v1}) == q
    old_area, new_area = (650100, 6860100), (650900, 6860900)
    before = fx.incident(dt.datetime(2024, 3, 10, tzinfo=UTC), dt.datetime(2024, 3, 11, tzinfo=UTC), xy=old_area)
    after_old = fx.incident(dt.datetime(2024, 4, 10, tzinfo=UTC), dt.datetime(2024, 4, 11, tzinfo=UTC), xy=old_area)
    after_new = fx.incident(dt.datetime(2024, 4, 10, tzinfo=UTC), dt.datetime(2024, 4, 11, tzinfo=UTC), xy=new_area)
    assign_points(connection, "incidents")
    compute_all(connection, as_of=dt.datetime(2024, 5, 1, tzinfo=UTC))
    publish_month(connection, dt.date(2024, 3, 1))
    march = fx.results(n, month=dt.date(2024, 3, 1))
    # Redraw from 1 April: a new draft copied from v1, moved to the new area, then approved.
    v2 = new_version(connection, v1, dt.date(2024, 4, 1))
    update_draft(connection, v2, geojson=parse_geometry(_square(connection, 650500, 6860500, 651000, 6861000)))
    summary = approve(connection, v2)
    assert summary["closed"] == 1
    assert connection.execute(text("SELECT valid_to FROM priority_zones WHERE id = :z"), {"z": v1}).scalar() == \
        dt.date(2024, 4, 1)
    zones = dict(connection.execute(text("SELECT id, zone_id FROM incidents")).all())
    assert zones == {before: v1, after_old: None, after_new: v2}
    assert fx.results(n, month=dt.date(2024, 3, 1)) == march          # past month untouched
    april = fx.results(n, month=dt.date(2024, 4, 1))
    assert [(r["zone_id"], r["cases"]) for r in april] == [(None, 1), (v2, 1)]
    with pytest.raises(Conflict, match="cannot be edited"):
        update_draft(connection, v2, name="x")
    # A version starting in a published month is refused.
    v3 = new_version(connection, v2, dt.date(2024, 3, 20))
    with pytest.raises(Conflict, match="published"):
        approve(connection, v3)


def test_zone_edits_invalidate_the_zone_and_incident_layers(connection):
    """Tiles, downloads and ETags are keyed by data_version: drafting, redrawing and approving a
    zone in the portal must bump the zones layer, and approval the incidents layer too."""
    producer = connection.scalar(text("SELECT min(id) FROM producers"))
    layers = {table: connection.scalar(text(
        "INSERT INTO layers (slug, title, producer_id, source_table, licence) "
        "VALUES (:s, :s, :p, :t, 'ODbL 1.0') RETURNING id"), {"s": f"t-{table}", "p": producer, "t": table})
        for table in ("priority_zones", "incidents")}

    def versions():
        return {t: connection.scalar(text("SELECT data_version FROM layers WHERE id = :id"), {"id": i})
                for t, i in layers.items()}

    start = versions()
    zone = create_draft(connection, code="ZCP-V", name="V", valid_from=dt.date(2024, 1, 1),
                        geojson=_square(connection, 650000, 6860000, 650500, 6860500))
    drafted = versions()
    assert drafted["priority_zones"] > start["priority_zones"]
    update_draft(connection, zone, geojson=_square(connection, 650000, 6860000, 650600, 6860600))
    redrawn = versions()
    assert redrawn["priority_zones"] > drafted["priority_zones"]
    connection.execute(text(
        "INSERT INTO incidents (source, external_id, category, reported_at, status, geom) VALUES "
        "('test', 'in-zone', 'graffiti', '2024-02-01T10:00Z', 'new', ST_SetSRID(ST_MakePoint(650100, 6860100), 2154))"))
    assert approve(connection, zone)["changed"] == 1
    approved = versions()
    assert approved["priority_zones"] > redrawn["priority_zones"]
    assert approved["incidents"] > redrawn["incidents"]
