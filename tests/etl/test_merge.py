"""The merge: new keys inserted, differing rows updated, placement and deadlines set while merging."""
from sqlalchemy import text

from ova.assignment import assign_points, build_quartier_cells, placement_sql
from etl.targets import load
from tests.builders import GEODATA, add_norm, add_quartier
from tests.etl.conftest import DANSMARUE_GEOJSON, PARIS_QUARTIERS

MAPPING = """target: incidents
source: merge-test
read: {x: x, y: y, crs: EPSG:2154}
fields:
  external_id: id
  category: categorie
  description: texte
  reported_at: date
"""


def _squares(conn):
    """Quartiers A (west) and B (east), side by side, and a 48 h graffiti norm over the territory."""
    ids = {code: add_quartier(conn, code, code, x0=x0, y0=6862000) for code, x0 in (("A", 651000), ("B", 652000))}
    norm = add_norm(conn, "m-graffiti-48h", "EP2", "g", producer=None, min_sample=1)
    return ids, norm


def _write(path, rows):
    lines = ["id;categorie;texte;date;x;y"] + [";".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _state(conn):
    return {row.external_id: row for row in conn.execute(text(
        "SELECT external_id, description, quartier_id, zone_id, norm_id, expected_at - reported_at AS delay, "
        "updated_at FROM incidents WHERE source = 'merge-test'"))}


def test_reload_inserts_new_keys_updates_only_differing_rows_and_recomputes_old_months(connection, tmp_path):
    ids, norm = _squares(connection)
    mapping = tmp_path / "m.yml"
    mapping.write_text(MAPPING, encoding="utf-8")
    rows = [["1", "graffiti", "tag", "2024-03-05 10:00", "651100", "6862500"],
            ["2", "graffiti", "tag", "2024-03-06 10:00", "651200", "6862500"],
            ["3", "proprete", "sale", "2024-03-07 10:00", "651300", "6862500"]]
    first = load(connection, "incidents", _write(tmp_path / "a.csv", rows), mapping=str(mapping))
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    before = _state(connection)
    assert {k: r.quartier_id for k, r in before.items()} == {"1": ids["A"], "2": ids["A"], "3": ids["A"]}
    assert before["1"].norm_id == norm and before["1"].delay.total_seconds() == 48 * 3600
    assert before["3"].norm_id is None and first.extra["with a deadline"] == 2
    cases = dict(connection.execute(text(
        "SELECT quartier_id, incidents FROM compliance_results WHERE month = '2024-03-01'")).all())
    assert cases[ids["A"]] == 2

    connection.execute(text("UPDATE incidents SET updated_at = '2020-01-01' WHERE source = 'merge-test'"))
    rows[1] = ["2", "graffiti", "tag déplacé", "2024-03-06 10:00", "652500", "6862500"]  # moved to B
    rows.append(["4", "graffiti", "nouveau", "2024-03-08 10:00", "652600", "6862500"])
    second = load(connection, "incidents", _write(tmp_path / "b.csv", rows), mapping=str(mapping))
    assert (second.inserted, second.updated, second.unchanged) == (1, 1, 2)
    after = _state(connection)
    assert after["2"].quartier_id == ids["B"] and after["2"].description == "tag déplacé"
    assert after["4"].quartier_id == ids["B"] and after["4"].norm_id == norm
    assert (after["1"].updated_at.year, after["3"].updated_at.year, after["2"].updated_at.year > 2020) == (
        2020, 2020, True)  # unchanged rows are not written
    # The month of quartier A (where incident 2 was) and of B (where it is now) are both recomputed.
    cases = dict(connection.execute(text(
        "SELECT quartier_id, incidents FROM compliance_results WHERE month = '2024-03-01'")).all())
    assert (cases[ids["A"]], cases[ids["B"]]) == (1, 2)

    third = load(connection, "incidents", _write(tmp_path / "c.csv", rows), mapping=str(mapping))
    assert (third.inserted, third.updated, third.unchanged) == (0, 0, 4)


def test_a_reloaded_description_goes_back_to_moderation(connection, tmp_path):
    _squares(connection)
    mapping = tmp_path / "m.yml"
    mapping.write_text(MAPPING, encoding="utf-8")
    rows = [["1", "graffiti", "tag", "2024-03-05 10:00", "651100", "6862500"],
            ["2", "graffiti", "tag", "2024-03-06 10:00", "651200", "6862500"]]
    load(connection, "incidents", _write(tmp_path / "a.csv", rows), mapping=str(mapping))

    def public():
        return {r.external_id: (r.description, r.description_state) for r in connection.execute(text(
            "SELECT i.external_id, p.description, p.description_state FROM public_incidents p "
            "JOIN incidents i ON i.id = p.id WHERE i.source = 'merge-test'"))}

    assert public() == {"1": (None, "pending"), "2": (None, "pending")}  # loaded texts wait too
    connection.execute(text("UPDATE incidents SET public_description = description, description_state = 'published' "
                            "WHERE source = 'merge-test'"))
    rows[1] = ["2", "graffiti", "tag, appelez M. Martin au 0612345678", "2024-03-06 10:00", "651200", "6862500"]
    load(connection, "incidents", _write(tmp_path / "b.csv", rows), mapping=str(mapping))
    assert public() == {"1": ("tag", "published"), "2": (None, "pending")}


def test_placement_while_merging_equals_assign_points(connection):
    load(connection, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    load(connection, "zones", GEODATA / "demo" / "zones_commerciales_demo.geojson")
    summary = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson")
    assert summary.inserted > 1000 and summary.extra["placed in a priority zone"] > 0
    merged = connection.execute(text("SELECT id, quartier_id, zone_id FROM incidents ORDER BY id")).all()
    connection.execute(text("UPDATE incidents SET quartier_id = NULL, zone_id = NULL"))
    assign_points(connection, "incidents")
    assert connection.execute(text("SELECT id, quartier_id, zone_id FROM incidents ORDER BY id")).all() == merged


def test_quartier_cells_place_points_exactly_as_the_polygons(connection):
    """Random points, every quartier vertex and segment midpoint: the grid shortcut changes nothing."""
    load(connection, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    cells = build_quartier_cells(connection)
    pure, boundary = connection.execute(text(
        f"SELECT count(quartier_id), count(*) - count(quartier_id) FROM {cells}")).one()
    assert pure > 1000 and boundary > 1000
    connection.execute(text("SELECT setseed(0.42)"))
    connection.execute(text(
        "CREATE TEMP TABLE probe ON COMMIT DROP AS "
        "SELECT ST_SetSRID(ST_MakePoint(x0 + random() * (x1 - x0), y0 + random() * (y1 - y0)), 2154) AS geom "
        "FROM (SELECT ST_XMin(e) x0, ST_XMax(e) x1, ST_YMin(e) y0, ST_YMax(e) y1 "
        "      FROM (SELECT ST_Extent(geom)::geometry e FROM quartiers) e) b, generate_series(1, 20000) "
        "UNION ALL SELECT (ST_DumpPoints(geom)).geom FROM quartiers "
        "UNION ALL SELECT ST_LineInterpolatePoint(ST_MakeLine(ST_PointN(r, n), ST_PointN(r, n + 1)), 0.5) "
        "FROM (SELECT ST_ExteriorRing((ST_Dump(geom)).geom) r FROM quartiers) rings, "
        "generate_series(1, ST_NPoints(r) - 1) n"))
    fast = placement_sql("incidents", "p", cells)
    exact = placement_sql("incidents", "p")
    total, different = connection.execute(text(
        f"SELECT count(*), count(*) FILTER (WHERE ({fast['quartier_id']}) IS DISTINCT FROM ({exact['quartier_id']})) "
        f"FROM (SELECT geom, now() AS reported_at FROM probe) p {fast['join']}")).one()
    assert total > 25000 and different == 0


def test_a_small_load_places_its_points_without_building_the_grid(connection, tmp_path):
    """The grid costs one test per cell of every quartier's box (a million for a commune of La
    Réunion): a load of a few points probes the polygons instead, and places them the same."""
    load(connection, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    assert build_quartier_cells(connection, points=10) is None
    assert build_quartier_cells(connection, points=1_000_000) == "etl_quartier_cells"
    connection.execute(text("DROP TABLE etl_quartier_cells"))
    path = tmp_path / "two.csv"
    path.write_text("id,categorie,date,lon,lat\nA,graffiti,2024-03-01 10:00,2.3522,48.8566\n"
                    "B,graffiti,2024-03-01 11:00,2.2945,48.8584\n")
    mapping = tmp_path / "two.yml"
    mapping.write_text("target: incidents\nsource: city\nread: {x: lon, y: lat, crs: EPSG:4326}\n"
                       "fields:\n  external_id: id\n  category: categorie\n  reported_at: date\n")
    assert load(connection, "incidents", path, mapping=str(mapping)).inserted == 2
    assert connection.scalar(text("SELECT to_regclass('pg_temp.etl_quartier_cells')")) is None
    placed = connection.execute(text("SELECT external_id, quartier_id FROM incidents ORDER BY external_id")).all()
    assign_points(connection, "incidents")
    assert connection.execute(text("SELECT external_id, quartier_id FROM incidents ORDER BY external_id")).all() \
        == placed
    assert all(q is not None for _, q in placed)
