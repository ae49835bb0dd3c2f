"""Quartiers of one commune must not overlap (beyond a tolerance) and should leave no gap."""
import csv
import json

import pytest
from sqlalchemy import text

from etl.targets import load
from ova.errors import DataFileError
from tests.etl.conftest import NANTES_QUARTIERS, PARIS_QUARTIERS, count, gdal


def _with_duplicate(tmp_path, name="quartiers.geojson"):
    """The Paris quartiers (through GDAL) plus Saint-Victor again under another code."""
    path = gdal(PARIS_QUARTIERS, tmp_path / name, "-f", "GeoJSON", "-select", "c_quinsee,l_qu")
    document = json.loads(path.read_text(encoding="utf-8"))
    twin = json.loads(json.dumps(next(f for f in document["features"] if f["properties"]["c_quinsee"] == 7510501)))
    twin["properties"].update(c_quinsee=7599901, l_qu="Saint-Victor (doublon)")
    document["features"].append(twin)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_duplicated_quartier_is_refused_with_codes_area_and_rows(connection, tmp_path):
    path = _with_duplicate(tmp_path)
    rejects = tmp_path / "rejects.csv"
    with pytest.raises(DataFileError, match=r"row 1, field 'geometry': 1 overlap\(s\) between quartiers of one commune "
                                            r"above 100.0 m²; largest: overlap of 60.42 ha between quartiers 7510501 and "
                                            r"7599901 \(commune 75056; 100.0% of the smaller.*--allow-overlaps"):
        load(connection, "quartiers", path, preset="paris-quartiers", reject_file=rejects)
    assert count(connection, "quartiers") == 0
    with open(rejects, encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert [line["row"] for line in lines] == ["1", "81"]
    assert all("overlap of 60.42 ha between quartiers 7510501 and 7599901" in line["reason"]
               and line["reason"].endswith("refused") for line in lines)


def test_allow_overlaps_loads_and_reports(connection, tmp_path):
    summary = load(connection, "quartiers", _with_duplicate(tmp_path), preset="paris-quartiers", allow_overlaps=True,
                   reject_file=tmp_path / "r.csv")
    assert (summary.inserted, summary.rejected) == (81, 0)
    assert summary.extra["topology: overlaps"].startswith("1 (above 100.0 m²: 1; allowed by --allow-overlaps")
    assert "allowed by --allow-overlaps" in summary.extra["  topology 1"]
    assert summary.warnings == 1 and len(summary.rejects) == 2


def test_overlap_with_a_stored_quartier_of_the_commune(connection, tmp_path):
    """The check runs on the quartiers as they will be: a new code drawn over a stored quartier is refused."""
    load(connection, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    document = json.loads(_with_duplicate(tmp_path).read_text(encoding="utf-8"))
    document["features"] = document["features"][-1:]
    path = tmp_path / "un.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(DataFileError, match="row 1.*between quartiers 7510501 and 7599901"):
        load(connection, "quartiers", path, preset="paris-quartiers")
    assert count(connection, "quartiers") == 80
    # A higher tolerance (m²) lets it through, as a warning.
    summary = load(connection, "quartiers", path, preset="paris-quartiers", overlap_tolerance=700_000)
    assert summary.inserted == 1 and "under the tolerance (warning)" in summary.extra["  topology 1"]


def test_real_layers_slivers_and_a_gap(connection):
    """Paris: two slivers (0.06 m² together), no gap. Nantes Métropole: 22 slivers, one 1.47 ha gap in Orvault."""
    paris = load(connection, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    assert paris.extra["topology: overlaps"] == "0 (above 100.0 m²: 0; slivers under 1.0 m²: 2, 0.1 m² in all)"
    assert paris.extra["topology: gaps"] == "0 (from 100.0 m²)" and paris.warnings == 0
    nantes = load(connection, "quartiers", NANTES_QUARTIERS, preset="nantes-quartiers")
    assert nantes.inserted == 48 and nantes.warnings == 1
    assert nantes.extra["topology: overlaps"].startswith("0 (above 100.0 m²: 0; slivers under 1.0 m²: 22")
    gap = nantes.extra["  topology 1"]
    assert gap.startswith("gap of 1.47 ha among quartiers NM-11403, NM-11404, NM-11405, NM-11406 (commune 44114")
    assert set(nantes.rejects["reason"]) == {gap}


def test_zones_may_overlap(connection, tmp_path):
    """Only quartiers are checked: priority zones may overlap each other."""
    path = gdal(PARIS_QUARTIERS, tmp_path / "zones.geojson", "-f", "GeoJSON", "-dialect", "SQLite", "-sql",
                "SELECT 'Z' || c_quinsee AS code, l_qu AS name, '2024-01-01' AS valid_from, geometry "
                "FROM paris_quartiers_administratifs WHERE c_ar = 5 "
                "UNION ALL SELECT 'ZX', 'Tout le 5e', '2024-01-01', ST_Union(geometry) "
                "FROM paris_quartiers_administratifs WHERE c_ar = 5")
    mapping = tmp_path / "zones.yml"
    mapping.write_text("target: zones\nfields:\n  code: code\n  name: name\n  valid_from: valid_from\n")
    summary = load(connection, "zones", path, mapping=str(mapping))
    assert (summary.inserted, summary.rejected) == (5, 0)
    assert connection.scalar(text("SELECT count(*) FROM priority_zones")) == 5
