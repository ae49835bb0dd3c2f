"""``ova load addresses``: the shipped BAN file, a city's own file through a mapping, bad input."""
import pytest
from sqlalchemy import text

from etl.addresses import load_addresses
from ova.errors import DataFileError, InvalidInput
from tests.builders import BAN_FILE


def test_the_shipped_ban_file_loads_whole(ban_load, ban):
    assert (ban_load.read, ban_load.inserted, ban_load.rejected) == (158048, 158048, 0)
    assert ban_load.detected.startswith("format=csv encoding=utf-8 separator=';'")
    assert ban.scalar(text("SELECT count(*) FROM addresses WHERE source = 'ban'")) == 158048
    assert ban.scalar(text("SELECT count(DISTINCT citycode) FROM addresses")) == 20
    assert ban_load.extra["streets"] == ban.scalar(text("SELECT count(*) FROM address_streets")) > 7000


def test_a_known_address_and_street(ban):
    row = ban.execute(text(
        "SELECT housenumber, housenumber_key, street, street_key, postcode, citycode, city, "
        "ST_X(ST_Transform(geom, 4326)) AS lon, ST_Y(ST_Transform(geom, 4326)) AS lat "
        "FROM addresses WHERE external_id = '75101_cfq3tf_00001'")).mappings().one()
    assert dict(row) == {"housenumber": "1", "housenumber_key": "1", "street": "Avenue du Général Lemonnier",
                         "street_key": "avenue general lemonnier", "postcode": "75001", "citycode": "75101",
                         "city": "Paris 1er Arrondissement",
                         "lon": pytest.approx(2.330113, abs=1e-6), "lat": pytest.approx(48.861299, abs=1e-6)}
    streets = ban.execute(text("SELECT postcode, citycode FROM address_streets WHERE street = 'Boulevard de Sébastopol' "
                               "ORDER BY postcode")).all()
    assert streets == [("75001", "75101"), ("75002", "75102"), ("75003", "75103"), ("75004", "75104")]
    # Paris writes "bis" as "b": kept as published, same matching key.
    assert ban.scalar(text("SELECT count(*) FROM addresses WHERE housenumber ~ '^[0-9]+b$' "
                           "AND housenumber_key = housenumber")) > 7000


def test_reloading_the_ban_file_changes_nothing(ban_load, ban):
    before = ban.scalar(text("SELECT max(xmin::text::bigint) FROM address_streets"))
    summary = load_addresses(ban, BAN_FILE, reject_file=None)
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 0, 158048)
    assert "streets written" not in summary.extra
    assert ban.scalar(text("SELECT max(xmin::text::bigint) FROM address_streets")) == before


CITY_FILE = (
    "N°;Indice;Voie;CP;INSEE;Commune;X;Y\r\n"
    "3;bis;Rue de l'Hôtel de Ville;44000;44109;Nantes;355420,5;6689380,2\r\n"
    "5;;Rue de l'Hôtel de Ville;44000;44109;Nantes;355440,1;6689395,0\r\n"
    "1;;Place Royale;44000;44109;Nantes;355120,0;6689120,0\r\n"
)
CITY_MAPPING = """
target: addresses
source: ville-de-nantes
read: {x: X, y: Y, crs: "EPSG:2154"}
fields:
  external_id: {columns: [INSEE, Voie, N°, Indice], join: "_"}
  housenumber: {columns: [N°, Indice], join: ""}
  street: Voie
  postcode: CP
  citycode: INSEE
  city: Commune
"""


@pytest.fixture
def city_files(tmp_path):
    data = tmp_path / "adresses_ville.csv"
    data.write_bytes(CITY_FILE.encode("cp1252"))
    mapping = tmp_path / "adresses_ville.yml"
    mapping.write_text(CITY_MAPPING, encoding="utf-8")
    return data, mapping


def test_a_city_file_through_a_mapping(connection, city_files):
    data, mapping = city_files
    summary = load_addresses(connection, data, mapping=mapping, reject_file=None)
    assert (summary.read, summary.inserted, summary.rejected) == (3, 3, 0)
    assert "encoding=cp1252" in summary.detected and "decimal=','" in summary.detected
    rows = connection.execute(text(
        "SELECT housenumber, housenumber_key, street_key, round(ST_X(geom)) FROM addresses "
        "WHERE source = 'ville-de-nantes' ORDER BY housenumber")).all()
    assert rows == [("1", "1", "place royale", 355120), ("3bis", "3b", "rue hotel ville", 355420),
                    ("5", "5", "rue hotel ville", 355440)]
    assert connection.execute(text(
        "SELECT street, address_count FROM address_streets WHERE citycode = '44109' ORDER BY street")).all() == [
        ("Place Royale", 1), ("Rue de l'Hôtel de Ville", 2)]


def test_a_missing_column_names_the_file_and_the_column(connection, city_files, tmp_path):
    data, mapping = city_files
    data.write_text(CITY_FILE.replace("Voie", "Rue", 1), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"adresses_ville\.csv.*Voie|Voie.*adresses_ville\.csv"):
        load_addresses(connection, data, mapping=mapping, reject_file=None)


def test_bad_rows_are_reported_and_nothing_is_loaded_above_the_reject_rate(connection, city_files):
    data, mapping = city_files
    data.write_bytes(CITY_FILE.replace("355440,1", "abc").replace("Place Royale;44000", ";44000").encode("cp1252"))
    with pytest.raises(DataFileError) as caught:
        load_addresses(connection, data, mapping=mapping, reject_file=None)
    assert "row" in str(caught.value) and "nothing loaded" in str(caught.value)
    assert connection.scalar(text("SELECT count(*) FROM addresses WHERE source = 'ville-de-nantes'")) == 0
    summary = load_addresses(connection, data, mapping=mapping, reject_file=None, max_reject_rate=1.0)
    assert (summary.inserted, summary.rejected) == (1, 2)
    assert sorted(zip(summary.rejects["row"], summary.rejects["field"])) == [(3, "X/Y"), (3, "geometry"), (4, "street")]


def test_a_mapping_for_another_target_is_refused(connection, city_files, tmp_path):
    data, _ = city_files
    other = tmp_path / "other.yml"
    other.write_text("target: incidents\nfields: {external_id: id}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not 'addresses'"):
        load_addresses(connection, data, mapping=other, reject_file=None)


def test_the_cli_loads_addresses(runner, city_files, connection):
    data, mapping = city_files
    result = runner.invoke(args=["load", "addresses", str(data), "--mapping", str(mapping), "--reject-file",
                                 str(data.with_suffix(".rejects.csv"))])
    assert result.exit_code == 0, result.output
    assert "addresses: read 3, inserted 3" in result.output
