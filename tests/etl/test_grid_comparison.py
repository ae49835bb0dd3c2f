"""Geometries are compared on a 1 cm grid: reloading the same data from another CRS changes nothing."""
import pyogrio
import shapely
from sqlalchemy import text

from etl.targets import load
from tests.etl.conftest import DANSMARUE_GEOJSON, PARIS_QUARTIERS, gdal


def _same_name(tmp_path, folder, source, epsg, name="quartiers.gpkg"):
    """``source`` converted by GDAL to EPSG:``epsg``, under one file name (the rows' ``source`` stays the same)."""
    (tmp_path / folder).mkdir()
    return gdal(source, tmp_path / folder / name, "-f", "GPKG", "-t_srs", f"EPSG:{epsg}")


def test_quartiers_reloaded_from_web_mercator_and_lambert_ii_are_unchanged(connection, tmp_path):
    first = _same_name(tmp_path, "wgs84", PARIS_QUARTIERS, 4326)
    assert load(connection, "quartiers", first, preset="paris-quartiers").inserted == 80
    for folder, epsg in (("mercator", 3857), ("lambert2", 27572), ("l93", 2154)):
        path = _same_name(tmp_path, folder, PARIS_QUARTIERS, epsg)
        summary = load(connection, "quartiers", path, preset="paris-quartiers")
        assert (summary.updated, summary.unchanged) == (0, 80), (epsg, summary.lines())
    # The noise is real: through EPSG:27572 the vertices move by a fraction of a millimetre.
    stored = shapely.from_wkb(connection.scalars(text("SELECT ST_AsBinary(geom) FROM quartiers ORDER BY code")).all())
    frame = pyogrio.read_dataframe(tmp_path / "lambert2" / "quartiers.gpkg").to_crs(2154).sort_values("c_quinsee")
    again = shapely.make_valid(frame.geometry.values)
    moved = max(shapely.hausdorff_distance(a, b) for a, b in zip(stored, again))
    assert 0 < moved < 0.01


def test_a_five_centimetre_move_is_a_change(connection, tmp_path):
    """The grid is no licence for real edits: one quartier moved by 5 cm is updated, the 79 others not."""
    load(connection, "quartiers", _same_name(tmp_path, "a", PARIS_QUARTIERS, 4326, "q.gpkg"), preset="paris-quartiers")
    l93 = _same_name(tmp_path, "b", PARIS_QUARTIERS, 2154, "l93.gpkg")
    (tmp_path / "c").mkdir()
    shifted = gdal(l93, tmp_path / "c" / "q.gpkg", "-f", "GPKG", "-dialect", "SQLite", "-sql",
                   "SELECT c_quinsee, l_qu, CASE WHEN c_quinsee = 7510501 THEN ST_Translate(geom, 0.05, 0, 0) "
                   "ELSE geom END AS geom FROM paris_quartiers_administratifs", "-nln", "quartiers")
    summary = load(connection, "quartiers", shifted, preset="paris-quartiers")
    assert (summary.updated, summary.unchanged) == (1, 79)


def test_points_reloaded_from_other_crs_are_unchanged(connection, tmp_path):
    first = _same_name(tmp_path, "wgs84", DANSMARUE_GEOJSON, 4326, "dmr.gpkg")
    assert load(connection, "incidents", first, preset="dansmarue-geojson").inserted == 9644
    for folder, epsg in (("mercator", 3857), ("lambert2", 27572)):
        summary = load(connection, "incidents", _same_name(tmp_path, folder, DANSMARUE_GEOJSON, epsg, "dmr.gpkg"),
                       preset="dansmarue-geojson")
        assert (summary.inserted, summary.updated, summary.unchanged) == (0, 0, 9644), epsg
