"""Every loader on the real shipped files: counts, CRS, a known feature, idempotent reloads."""
import json

import pyogrio
import pytest
from sqlalchemy import text

from etl.targets import load
from tests.etl.conftest import (DANSMARUE_CSV, DANSMARUE_GEOJSON, DECP, NANTES_QUARTIERS, PARIS_QUARTIERS,
                                SIRENE, SUPPLIERS, count, read_rows, write_csv)


def test_nantes_quartiers_and_a_known_area(connection):
    summary = load(connection, "quartiers", NANTES_QUARTIERS, preset="nantes-quartiers")
    assert (summary.read, summary.inserted, summary.rejected) == (48, 48, 0)
    assert "crs=EPSG:4326" in summary.detected
    name, insee, srid = connection.execute(text(
        "SELECT name, commune_insee, ST_SRID(geom) FROM quartiers WHERE code = 'NM-11407'")).one()
    assert (name, insee, srid) == ("Bois-St-Louis/Plaisance/Ferrière/Val d'Or", "44114", 2154)


def test_dansmarue_full_csv_loads_places_and_reloads_unchanged(connection, tmp_path):
    load(connection, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    summary = load(connection, "incidents", DANSMARUE_CSV, preset="dansmarue")
    assert (summary.read, summary.inserted, summary.rejected) == (39515, 39515, 0)
    assert "encoding=utf-8 separator=','" in summary.detected
    assert summary.extra["outside every quartier"] == 0
    row = connection.execute(text(
        "SELECT i.category, i.source_category, i.address, (i.reported_at AT TIME ZONE 'Europe/Paris')::date::text, "
        "q.name, p.slug FROM incidents i JOIN quartiers q ON q.id = i.quartier_id JOIN producers p ON p.id = i.producer_id "
        "WHERE i.source = 'dansmarue' AND i.external_id = 'A2023G041622'")).one()
    assert row == ("encombrants", "Objets abandonnés", "26 Rue de la Lune, 75002 PARIS", "2023-07-17",
                   "Bonne-Nouvelle", "proprete")
    categories = dict(connection.execute(text("SELECT category, count(*) FROM incidents GROUP BY 1")).all())
    assert categories["graffiti"] > 5000 and categories["encombrants"] > 10000 and "autre" not in categories
    again = load(connection, "incidents", DANSMARUE_CSV, preset="dansmarue")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 39515)


def test_dansmarue_geojson_extract(connection):
    summary = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson")
    assert (summary.read, summary.inserted, summary.rejected) == (9644, 9644, 0)


def test_sirene_fast_food_paris_rows(connection, tmp_path):
    header, rows = read_rows(SIRENE)
    paris = [r for r in rows if r[header.index("departement")] == "75"][:3000]
    path = write_csv(tmp_path / "sirene_75.csv", header, paris)
    summary = load(connection, "establishments", path, preset="sirene-56.10C")
    assert summary.read == 3000 and summary.inserted + summary.rejected == 3000
    assert connection.scalar(text("SELECT count(*) FROM establishments WHERE naf_code = '56.10C' "
                                  "AND geo_precision = 'address' AND ST_SRID(geom) = 2154")) == summary.inserted


def test_suppliers_and_contracts_join_rate(connection, tmp_path):
    suppliers = load(connection, "establishments", SUPPLIERS, preset="decp-suppliers")
    assert (suppliers.read, suppliers.inserted, suppliers.rejected) == (8264, 8264, 0)
    precisions = dict(connection.execute(text(
        "SELECT geo_precision, count(*) FROM establishments GROUP BY 1")).all())
    assert set(precisions) <= {"commune_centroid", "arrondissement_centroid", "unknown"}
    # overseas centroids cannot be stored in Lambert-93: kept without geometry, precision 'unknown'
    assert precisions["commune_centroid"] > 7400
    assert precisions["unknown"] == suppliers.extra["without coordinates"] == 312 + 30
    assert connection.scalar(text("SELECT count(*) FROM establishments WHERE commune_insee LIKE '6938%' "
                                  "AND geo_precision = 'commune_centroid'")) >= 94  # commune_centroid_lyon
    contracts = load(connection, "contracts", DECP, preset="decp", reject_file=tmp_path / "rejects.csv")
    assert contracts.read == 11495 and contracts.rejected < 0.01 * 11495
    # the shipped file documents 3,808 of 11,495 rows matching a supplier SIRET
    assert 0.30 < contracts.extra["join_rate"] < 0.5
    amount, cpv = connection.execute(text(
        "SELECT amount, cpv_code FROM public_contracts WHERE decp_id = '00016666EC6070DC2D524ACC4896B3E7'")).first()
    assert cpv == "90513500" and amount is not None
    assert (tmp_path / "rejects.csv").read_text().startswith("row,field,value,reason")
    again = load(connection, "contracts", DECP, preset="decp")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, contracts.inserted)


def test_decp_official_json(connection, tmp_path):
    document = {"marches": [{
        "uid": "2154000150001902019S00123", "id": "2019S00123",
        "acheteur": {"id": "21540001500019", "nom": "Commune test"},
        "nature": "Marché", "objet": "Nettoyage des voies", "codeCPV": "90610000-6",
        "procedure": "Procédure adaptée", "lieuExecution": {"code": "44000", "typeCode": "Code postal", "nom": "Nantes"},
        "dureeMois": 12, "dateNotification": "2019-03-01", "montant": 12345.5,
        "titulaires": [{"typeIdentifiant": "SIRET", "id": "73282932000074", "denominationSociale": "A"},
                       {"typeIdentifiant": "SIRET", "id": "12345678901234", "denominationSociale": "B"}]}]}
    path = tmp_path / "decp.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    summary = load(connection, "contracts", path, preset="decp-json")
    assert (summary.read, summary.inserted) == (2, 2)
    rows = connection.execute(text("SELECT supplier_id, supplier_siret, cpv_code, amount::text FROM public_contracts "
                                   "ORDER BY supplier_id")).all()
    assert rows == [("12345678901234", None, "90610000-6", "12345.50"),
                    ("73282932000074", "73282932000074", "90610000-6", "12345.50")]


def test_open311_requests(connection, tmp_path):
    requests = [{"service_request_id": "R1", "status": "open", "service_code": "graffiti", "service_name": "Tags",
                 "description": "Tag sur façade", "requested_datetime": "2024-05-02T09:15:00+02:00",
                 "address": "1 rue X", "lat": 48.887, "long": 2.349},
                {"service_request_id": "R2", "status": "closed", "service_code": "inconnu",
                 "requested_datetime": "2024-05-03T10:00:00+02:00", "lat": 48.85, "long": 2.35}]
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(requests), encoding="utf-8")
    summary = load(connection, "incidents", path, preset="open311")
    assert summary.inserted == 2
    rows = connection.execute(text("SELECT external_id, category, status, reported_at AT TIME ZONE 'UTC' "
                                   "FROM incidents WHERE source = 'open311' ORDER BY 1")).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [("R1", "graffiti", "new"), ("R2", "autre", "resolved")]
    assert rows[0][3].hour == 7


def test_geopackage_layer_choice_and_shapefile_folder(connection, tmp_path):
    from ova.errors import DataFileError

    frame = pyogrio.read_dataframe(PARIS_QUARTIERS)
    gpkg = tmp_path / "city.gpkg"
    pyogrio.write_dataframe(frame, gpkg, layer="quartiers")
    pyogrio.write_dataframe(frame.head(3), gpkg, layer="other")
    with pytest.raises(DataFileError, match=r"several layers .*--layer"):
        load(connection, "quartiers", gpkg, preset="paris-quartiers")
    summary = load(connection, "quartiers", gpkg, preset="paris-quartiers", layer="quartiers")
    assert summary.inserted == 80 and "layer=quartiers" in summary.detected
    folder = tmp_path / "shp"
    folder.mkdir()
    pyogrio.write_dataframe(frame.to_crs(2154), folder / "quartiers.shp")
    again = load(connection, "quartiers", folder, preset="paris-quartiers")
    assert again.read == 80 and again.inserted == 0 and "format=shapefile" in again.detected


def test_zones_attach_to_quartiers_and_place_incidents(connection):
    from tests.builders import GEODATA

    load(connection, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    summary = load(connection, "zones", GEODATA / "demo" / "zones_commerciales_demo.geojson")
    assert summary.inserted >= 3 and summary.rejected == 0
    assert connection.scalar(text("SELECT count(*) FROM priority_zones WHERE quartier_id IS NULL")) == 0
    incidents = load(connection, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson")
    assert incidents.extra["placed in a priority zone"] > 0
    assert count(connection, "priority_zones") == summary.inserted


def test_open311_expected_datetime_is_the_source_deadline(connection, tmp_path):
    import datetime as dt

    from norms.calendars import seed_calendars

    seed_calendars(connection)
    connection.execute(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, category_codes, delay_value, "
        "delay_unit, valid_from) VALUES ('g-source', 'EP2', 'x', 'x', 'response_delay', 'territory', "
        "ARRAY['graffiti'], NULL, 'source', '2020-01-01')"))
    requests = [{"service_request_id": "S1", "status": "open", "service_code": "graffiti",
                 "requested_datetime": "2024-05-02T09:15:00+02:00", "expected_datetime": "2024-05-03T09:15:00+02:00",
                 "lat": 48.887, "long": 2.349},
                {"service_request_id": "S2", "status": "open", "service_code": "voirie",
                 "requested_datetime": "2024-05-02T09:15:00+02:00", "expected_datetime": "2024-05-06T12:00:00+02:00",
                 "lat": 48.887, "long": 2.349},
                {"service_request_id": "S3", "status": "open", "service_code": "graffiti",
                 "requested_datetime": "2024-05-02T09:15:00+02:00", "lat": 48.887, "long": 2.349}]
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(requests), encoding="utf-8")
    load(connection, "incidents", path, preset="open311")
    rows = {r.external_id: r for r in connection.execute(text(
        "SELECT external_id, source_expected_at, expected_at, norm_id FROM incidents WHERE source = 'open311'"))}
    paris = dt.timezone(dt.timedelta(hours=2))
    assert rows["S1"].source_expected_at == rows["S1"].expected_at == dt.datetime(2024, 5, 3, 9, 15, tzinfo=paris)
    assert rows["S1"].norm_id is not None                     # judged by the source's deadline
    assert rows["S2"].expected_at == dt.datetime(2024, 5, 6, 12, 0, tzinfo=paris) and rows["S2"].norm_id is None
    assert rows["S3"].source_expected_at is None and rows["S3"].expected_at is None
    again = load(connection, "incidents", path, preset="open311")
    assert again.updated == 0 and again.inserted == 0        # reloading changes nothing


def test_a_mapping_names_the_source_deadline_expected_at(connection, tmp_path):
    csv_path = tmp_path / "signalements.csv"
    csv_path.write_text("id;date;limite;x;y\nA1;17/05/2024 19:00;21/05/2024 18:00;2,349;48,887\n",
                        encoding="cp1252")
    mapping = tmp_path / "ville.yml"
    mapping.write_text("target: incidents\nsource: ville\nread: {x: x, y: y, crs: EPSG:4326}\nfields:\n"
                       "  external_id: id\n  reported_at: date\n  expected_at: limite\n"
                       "  category: {column: id, default: voirie, map: {}}\n", encoding="utf-8")
    load(connection, "incidents", csv_path, mapping=str(mapping))
    value = connection.scalar(text("SELECT source_expected_at AT TIME ZONE 'Europe/Paris' FROM incidents "
                                   "WHERE source = 'ville'"))
    assert value.isoformat() == "2024-05-21T18:00:00"
