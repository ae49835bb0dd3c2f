"""Bulk loads: secondary indexes and foreign keys dropped and rebuilt around the writes (etl.bulk)."""
import pytest
from sqlalchemy import text

from etl import bulk
from etl.targets import load
from tests.etl.conftest import DANSMARUE_GEOJSON, PARIS_QUARTIERS
from tests.builders import GEODATA

ROWS = """SELECT external_id, category, quartier_id, zone_id, norm_id, expected_at, producer_id,
                 ST_AsEWKB(geom) AS geom FROM incidents ORDER BY id"""
SCHEMA = """SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
            WHERE indrelid = 'incidents'::regclass
            UNION ALL
            SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = 'incidents'::regclass
            ORDER BY 1, 2"""


def _state(conn):
    return conn.execute(text(ROWS)).all(), conn.execute(text(SCHEMA)).all()


def _setup(conn):
    load(conn, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    load(conn, "zones", GEODATA / "demo" / "zones_commerciales_demo.geojson")


def test_bulk_load_writes_the_same_rows_and_rebuilds_the_same_indexes_and_constraints(connection):
    _setup(connection)
    schema_before = connection.execute(text(SCHEMA)).all()
    assert any("gist" in row[2] for row in schema_before) and any("FOREIGN KEY" in row[2] for row in schema_before)
    attempt = connection.begin_nested()
    plain = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson", bulk=False)
    expected = _state(connection)
    attempt.rollback()

    steps = []
    summary = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson", bulk=True,
                   phase=steps.append)
    assert summary.inserted == plain.inserted > 1000
    assert steps == ["contrôle des doublons",
                     "préparation des lignes (placement dans les quartiers et zones, échéances)",
                     "mise à jour des lignes modifiées", "insertion des nouvelles lignes",
                     "reconstruction des index et des clés étrangères",
                     "étapes finales (conformité, taux de jointure)"]
    assert summary.extra["bulk write: indexes and foreign keys rebuilt"] == "yes"
    assert "bulk write: indexes and foreign keys rebuilt" not in plain.extra
    rows, schema = _state(connection)
    assert schema == schema_before == expected[1]
    # ids differ between the two attempts (the sequence is not rolled back): compare the rest.
    assert rows == expected[0]
    assert summary.extra["placed in a priority zone"] == plain.extra["placed in a priority zone"] > 0


def test_a_failed_bulk_load_leaves_the_table_indexes_and_constraints_as_before(connection, tmp_path):
    _setup(connection)
    load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson")
    before = _state(connection)
    # A rule of this city's database the file breaks on its last row, once the indexes are dropped.
    connection.execute(text("ALTER TABLE incidents ADD CONSTRAINT test_no_boom CHECK (description <> 'boom')"))
    before = (before[0], connection.execute(text(SCHEMA)).all())
    path = tmp_path / "boom.csv"
    path.write_text("id;categorie;texte;date;x;y\n1;graffiti;tag;2024-03-05 10:00;651100;6862500\n"
                    "2;graffiti;boom;2024-03-06 10:00;651200;6862500\n", encoding="utf-8")
    mapping = tmp_path / "m.yml"
    mapping.write_text("target: incidents\nsource: boom\nread: {x: x, y: y, crs: EPSG:2154}\nfields:\n"
                       "  external_id: id\n  category: categorie\n  description: texte\n  reported_at: date\n",
                       encoding="utf-8")
    with pytest.raises(Exception) as failure:
        load(connection, "incidents", path, mapping=str(mapping), bulk=True)
    assert "test_no_boom" in str(failure.value)
    assert _state(connection) == before


def test_large_loads_take_the_bulk_path_and_reloads_do_not(connection, monkeypatch):
    _setup(connection)
    monkeypatch.setattr(bulk, "MIN_ROWS", 100)
    first = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson")
    assert first.inserted > 1000 and "bulk write: indexes and foreign keys rebuilt" in first.extra
    again = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson")
    assert again.inserted == 0 and "bulk write: indexes and foreign keys rebuilt" not in again.extra


def test_worth_it_weighs_new_rows_against_the_rows_already_there(connection):
    connection.execute(text("CREATE TEMP TABLE sized (n int)"))
    connection.execute(text("INSERT INTO sized SELECT generate_series(1, 800000)"))
    connection.execute(text("ANALYZE sized"))
    assert bulk.MIN_ROWS == 100_000 and bulk.MIN_SHARE == 0.25
    assert not bulk.worth_it(connection, "sized", 150_000)  # under a quarter of the 800 000 rows there
    assert bulk.worth_it(connection, "sized", 200_000)
    connection.execute(text("TRUNCATE sized"))
    connection.execute(text("ANALYZE sized"))
    assert not bulk.worth_it(connection, "sized", 99_999)  # too few rows, even into an empty table
    assert bulk.worth_it(connection, "sized", 100_000)


def test_a_dry_run_never_takes_the_bulk_path_unasked(connection, monkeypatch):
    _setup(connection)
    monkeypatch.setattr(bulk, "MIN_ROWS", 100)
    summary = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson", dry_run=True)
    assert summary.inserted > 1000 and "bulk write: indexes and foreign keys rebuilt" not in summary.extra


def test_a_busy_table_is_written_row_by_row_instead_of_waiting(connection, engine, monkeypatch):
    """A reader holding the table (a long download…) makes the load give up the lock after LOCK_TIMEOUT."""
    _setup(connection)
    monkeypatch.setattr(bulk, "MIN_ROWS", 100)
    monkeypatch.setattr(bulk, "LOCK_TIMEOUT", "200ms")
    with engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM incidents"))  # holds ACCESS SHARE until rollback
        schema = connection.execute(text(SCHEMA)).all()
        summary = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson")
        reader.rollback()
    assert summary.inserted > 1000
    assert summary.extra["bulk write skipped: table busy"] == "no exclusive lock within 200ms"
    assert "bulk write: indexes and foreign keys rebuilt" not in summary.extra
    assert connection.execute(text(SCHEMA)).all() == schema
    assert connection.scalar(text("SELECT current_setting('lock_timeout')")) == "0"


_BIG_TABLE = """
    INSERT INTO incidents (source, external_id, category, reported_at, geom)
    SELECT 'archive', g::text, 'graffiti', timestamptz '2015-01-01' + g * interval '17 minutes',
           ST_Transform(ST_SetSRID(ST_MakePoint(2.25 + (g % 997) * 0.0002, 48.82 + (g % 1009) * 0.00008), 4326),
                        CAST(:srid AS integer))
    FROM generate_series(1, :n) g"""
_SCANS = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'incidents'"


def test_a_small_load_into_a_large_table_probes_its_keys_instead_of_scanning_the_table(connection, monkeypatch):
    # A monthly load into ten years of reports: finding which keys exist (the UPDATE's join, the
    # INSERT's NOT EXISTS) must cost index probes for the file's rows, not a pass over the table.
    # Scaled down: the file's ~10 000 rows against 60 000, "small" from half the table.
    from ova.settings import storage_srid

    monkeypatch.setattr(bulk, "PROBE_SHARE", 0.5, raising=False)
    _setup(connection)
    connection.execute(text(_BIG_TABLE), {"n": 60_000, "srid": storage_srid()})
    connection.execute(text("ANALYZE incidents"))
    before = connection.scalar(text(_SCANS))
    summary = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson")
    assert summary.inserted > 1000 and "bulk write: indexes and foreign keys rebuilt" not in summary.extra
    assert connection.scalar(text(_SCANS)) == before
    # Reloaded: the same probes find every row, unchanged.
    again = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson")
    assert (again.inserted, again.updated) == (0, 0)
    assert connection.scalar(text(_SCANS)) == before
    # A load as large as the table keeps the planner's own choice (a pass over the table is cheaper).
    monkeypatch.setattr(bulk, "PROBE_SHARE", 0.01, raising=False)
    connection.execute(text("UPDATE incidents SET reported_at = reported_at - interval '1 day' "
                            "WHERE source <> 'archive' AND id % 2 = 0"))
    assert load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson").updated > 1000
    assert connection.scalar(text(_SCANS)) > before
