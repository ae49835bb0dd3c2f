"""`ova load basemap` on the shipped Ville de Paris street network, and on bad or other files."""
import json

import pyogrio
import pytest
from sqlalchemy import text

from etl.targets import load
from ova.errors import DataFileError
from ova.settings import storage_srid
from tests.builders import GEODATA

VOIES = GEODATA / "basemap" / "paris_voies_ville_de_paris.gpkg"


def _basemap_layer(conn) -> int:
    """The catalogue layer over basemap_features (what `ova layers seed` declares); its version."""
    conn.execute(text(
        "INSERT INTO layers (slug, title, licence, producer_id, source_table, geometry_type) "
        "VALUES ('fond-de-plan', 'Fond de plan des rues', 'ODbL 1.0', "
        "(SELECT id FROM producers WHERE slug = 'sig'), 'basemap_features', 'Geometry')"))
    return _version(conn)


def _version(conn) -> int:
    return conn.scalar(text("SELECT data_version FROM layers WHERE slug = 'fond-de-plan'"))


def test_paris_streets_load_with_names_in_lambert93(connection):
    first = _basemap_layer(connection)
    summary = load(connection, "basemap", VOIES)  # default preset: paris-voies
    assert (summary.read, summary.inserted, summary.rejected) == (6564, 6564, 0)
    assert summary.extra["by theme"] == "streets 6564"
    row = connection.execute(text(
        "SELECT name, short_name, kind, rank, theme, source, ST_SRID(geom), GeometryType(geom), "
        "ST_Length(geom), ST_Contains(ST_Transform(ST_MakeEnvelope(2.34, 48.85, 2.36, 48.87, 4326), :srid), geom) "
        "FROM basemap_features WHERE name = 'Boulevard de Sébastopol'"), {"srid": storage_srid()}).one()
    assert row[:8] == ("Boulevard de Sébastopol", "Bd. de Sébastopol", "BD", 1, "streets", "ville-de-paris-voies",
                       storage_srid(), "MULTILINESTRING")
    assert 1_250 < row[8] < 1_500 and row[9]  # 1.3 km, from Châtelet to the boulevard Saint-Denis
    ranks = dict(connection.execute(text("SELECT rank, count(*) FROM basemap_features GROUP BY rank")).all())
    assert ranks[1] > 500 and ranks[2] > 4000 and ranks[3] > 1000
    assert connection.scalar(text("SELECT count(*) FROM basemap_features WHERE name IS NULL")) == 0
    # The generated Web Mercator copy the tiles are cut from.
    assert connection.scalar(text("SELECT bool_and(ST_SRID(geom_3857) = 3857) FROM basemap_features"))
    # The load bumped the layer's data version (tile caches and ETags) in its transaction.
    assert _version(connection) == first + 1


def test_reloading_changes_nothing_and_keeps_the_cache_version(connection):
    _basemap_layer(connection)
    load(connection, "basemap", VOIES)
    version = _version(connection)
    again = load(connection, "basemap", VOIES)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6564)
    assert again.extra["removed (no longer in the file)"] == 0
    assert _version(connection) == version


def test_a_newer_file_replaces_the_streets_of_its_source(connection, tmp_path):
    _basemap_layer(connection)
    load(connection, "basemap", VOIES)
    frame = pyogrio.read_dataframe(VOIES)
    newer = frame[frame["c_desi"] == "BD"].copy()
    newer.loc[newer["l_longmin"] == "Boulevard de Sébastopol", "l_longmin"] = "Boulevard de Sébastopol (renommé)"
    path = tmp_path / "voies_2025.gpkg"
    pyogrio.write_dataframe(newer, path, layer="voies")
    version = _version(connection)
    summary = load(connection, "basemap", path)
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, len(newer) - 1)
    assert summary.extra["removed (no longer in the file)"] == 6564 - len(newer)
    assert connection.scalar(text("SELECT count(*) FROM basemap_features")) == len(newer)
    assert connection.scalar(text(
        "SELECT count(*) FROM basemap_features WHERE name = 'Boulevard de Sébastopol (renommé)'")) == 1
    assert _version(connection) == version + 1


def test_a_point_refuses_the_whole_load_naming_row_and_field(connection, tmp_path):
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"n_sq_vo": 1, "l_longmin": "Rue A", "l_courtmin": "R. A", "c_desi": "RUE"},
         "geometry": {"type": "LineString", "coordinates": [[2.35, 48.85], [2.351, 48.851]]}},
        {"type": "Feature", "properties": {"n_sq_vo": 2, "l_longmin": "Rue B", "l_courtmin": "R. B", "c_desi": "RUE"},
         "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}},
    ]}
    bad = tmp_path / "voies.geojson"
    bad.write_text(json.dumps(data))
    with pytest.raises(DataFileError, match=r"voies\.geojson, row 2, field 'geometry': expected a LineString"):
        load(connection, "basemap", bad)
    assert connection.scalar(text("SELECT count(*) FROM basemap_features")) == 0


@pytest.mark.parametrize("coordinates,reason", [
    ([[48.85, 2.35], [48.851, 2.351]], "longitude and latitude look swapped"),
    ([[-73.99, 40.73], [-73.98, 40.74]], r"outside the territory \(France métropolitaine"),
    ([[2.35, 48.85], [2.35, 48.85]], "line of zero length"),
])
def test_bad_lines_are_rejected_with_a_reason(connection, tmp_path, coordinates, reason):
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"n_sq_vo": 7, "l_longmin": "Rue C", "l_courtmin": "R. C", "c_desi": "RUE"},
         "geometry": {"type": "LineString", "coordinates": coordinates}}]}
    bad = tmp_path / "voies.geojson"
    bad.write_text(json.dumps(data))
    with pytest.raises(DataFileError, match=rf"row 1, field 'geometry': {reason}"):
        load(connection, "basemap", bad)


def test_a_theme_layer_of_polygons_through_a_mapping(connection, tmp_path):
    parks = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "p1", "nom": "Square du Temple"},
         "geometry": {"type": "Polygon", "coordinates": [[[2.360, 48.864], [2.362, 48.864], [2.362, 48.865],
                                                          [2.360, 48.865], [2.360, 48.864]]]}},
        # A self-intersecting "bow tie" is repaired, not refused.
        {"type": "Feature", "properties": {"id": "p2", "nom": "Jardin noué"},
         "geometry": {"type": "Polygon", "coordinates": [[[2.30, 48.86], [2.31, 48.87], [2.31, 48.86],
                                                          [2.30, 48.87], [2.30, 48.86]]]}},
    ]}
    path = tmp_path / "espaces_verts.geojson"
    path.write_text(json.dumps(parks))
    mapping = tmp_path / "espaces_verts.yml"
    mapping.write_text("target: basemap\nsource: ville-espaces-verts\n"
                       "fields:\n  external_id: id\n  theme: {value: green}\n  name: nom\n", encoding="utf-8")
    summary = load(connection, "basemap", path, mapping=str(mapping))
    assert summary.inserted == 2
    rows = connection.execute(text(
        "SELECT name, GeometryType(geom), ST_IsValid(geom), rank FROM basemap_features ORDER BY name")).all()
    assert rows == [("Jardin noué", "MULTIPOLYGON", True, 3), ("Square du Temple", "MULTIPOLYGON", True, 3)]


def test_unknown_theme_is_refused(connection, tmp_path):
    mapping = tmp_path / "m.yml"
    mapping.write_text("target: basemap\nfields:\n  external_id: n_sq_vo\n  theme: {value: roads}\n  name: l_longmin\n")
    with pytest.raises(DataFileError, match=r"field 'theme': not one of green, water, buildings, streets"):
        load(connection, "basemap", VOIES, mapping=str(mapping))


def test_dry_run_leaves_nothing(connection):
    summary = load(connection, "basemap", VOIES, dry_run=True)
    assert summary.inserted == 6564 and summary.dry_run
    assert connection.scalar(text("SELECT count(*) FROM basemap_features")) == 0


def test_cli_loads_the_shipped_file(runner, connection):
    result = runner.invoke(args=["load", "basemap", str(VOIES), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "basemap: read 6564, inserted 6564" in result.output
