"""Identifiers of the territory's country: commune codes by its rule, French ids only in France."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from etl.targets import load
from ova.errors import DataFileError
from tests.builders import GEODATA
from tests.territories.conftest import TERRITORIES

DECP_SUPPLIERS = GEODATA / "etablissements" / "decp_titulaires_sirene2022_commune.csv"
QUARTIER_MAPPING = """target: quartiers
fields:
  code: code
  name: name
  commune_insee: commune
"""


def _quartier_file(tmp_path, place, commune):
    source = json.loads((TERRITORIES / place.place.quartiers).read_text())["features"][0]
    feature = {"type": "Feature", "properties": {"code": "Q-1", "name": "Quartier", "commune": commune},
               "geometry": source["geometry"]}
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(QUARTIER_MAPPING)
    return path, mapping


@pytest.mark.parametrize("commune", ["14713000", "97411"])
def test_commune_codes_follow_the_country_rule(place, tmp_path, commune):
    good = {"reunion": "97411", "leipzig": "14713000"}[place.place.key]
    path, mapping = _quartier_file(tmp_path, place, commune)
    if commune == good:
        assert load(place.conn, "quartiers", path, mapping=str(mapping)).inserted == 1
    else:
        expected = "an INSEE commune code" if place.place.country == "FR" else "an AGS commune code"
        with pytest.raises(DataFileError, match=rf"field 'commune_insee': not {expected}"):
            load(place.conn, "quartiers", path, mapping=str(mapping))


def test_a_one_city_territory_gives_its_commune_code(place, tmp_path):
    path, mapping = _quartier_file(tmp_path, place, None)
    load(place.conn, "quartiers", path, mapping=str(mapping))
    code = place.conn.scalar(text("SELECT commune_insee FROM quartiers WHERE code = 'Q-1'"))
    assert code == place.place.commune_code  # Leipzig's AGS; none for La Réunion (24 communes)


def test_french_identifiers_are_checked_and_required_in_france_only(place, tmp_path):
    path = tmp_path / "firms.csv"
    path.write_text("id,siren,nom,lon,lat\nA1,,Bäckerei Kunze,12.37,51.34\nA2,123,Café Ré,55.45,-20.88\n")
    mapping = tmp_path / "firms.yml"
    mapping.write_text("target: establishments\nread: {x: lon, y: lat, crs: EPSG:4326}\n"
                       "fields:\n  external_id: id\n  siren: siren\n  name: nom\n")
    if place.place.country == "FR":
        with pytest.raises(DataFileError, match="siren"):
            load(place.conn, "establishments", path, mapping=str(mapping), max_reject_rate=0)
    else:
        summary = load(place.conn, "establishments", path, mapping=str(mapping))
        assert summary.inserted == 2
        rows = place.conn.execute(text("SELECT external_id, siren, geom IS NOT NULL FROM establishments "
                                       "ORDER BY external_id")).all()
        assert [tuple(r) for r in rows] == [("A1", None, True), ("A2", "123", False)]  # A2 is in La Réunion


def test_overseas_decp_suppliers_keep_their_position_in_la_reunion(reunion):
    place = reunion
    summary = load(place.conn, "establishments", DECP_SUPPLIERS, preset="decp-suppliers")
    placed, reunion = place.conn.execute(text(
        "SELECT count(*) FILTER (WHERE geom IS NOT NULL), count(*) FILTER (WHERE commune_insee LIKE '974%') "
        "FROM establishments")).one()
    assert reunion >= 150 and placed == reunion  # metropolitan ones kept without a position
    # Every other supplier with coordinates (30 have none) is kept without its position, and counted.
    assert summary.extra["outside the territory (kept without geometry)"] == summary.inserted - placed - 30
