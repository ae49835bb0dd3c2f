"""CSW 2.0.2 at /csw (pycsw): OWSLib and GDAL's CSW driver read the layers' ISO 19139 records,
records follow the catalogue, and each record is a valid ISO 19139 document."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pycsw
import pytest
from lxml import etree
from owslib.csw import CatalogueServiceWeb
from owslib.fes import BBox, PropertyIsLike
from owslib.iso import MD_Metadata
from sqlalchemy import text

from ova.dataversion import touch

GMD = "http://www.isotc211.org/2005/gmd"
ISO_XSD = Path(pycsw.__file__).parent / "plugins/profiles/apiso/schemas/ogc/iso/19139/20060504/gmx/gmx.xsd"
PARIS = [48.80, 2.25, 48.90, 2.42]  # OWSLib's BBox: lat/lon order for EPSG:4326
MARSEILLE = [43.20, 5.30, 43.40, 5.50]


@pytest.fixture
def csw(live_server):
    return CatalogueServiceWeb(live_server + "/csw", timeout=60)


def _titles(csw, constraints, esn="brief"):
    csw.getrecords2(constraints=constraints, esn=esn, maxrecords=50)
    return sorted(r.title for r in csw.records.values())


def test_capabilities(csw, live_server):
    assert csw.version == "2.0.2"
    assert csw.identification.title.startswith("Portail OVA")
    ops = {op.name for op in csw.operations}
    assert {"GetCapabilities", "DescribeRecord", "GetRecords", "GetRecordById"} <= ops
    getrecords = csw.get_operation_by_name("GetRecords")
    assert GMD in getrecords.parameters["outputSchema"]["values"]
    assert getrecords.methods[0]["url"].startswith(live_server + "/csw")


def test_getrecords_by_text(csw):
    assert _titles(csw, [PropertyIsLike("csw:AnyText", "%Lieux de test%")]) == ["Lieux de test"]
    assert _titles(csw, [PropertyIsLike("apiso:Title", "Quartiers%")]) == ["Quartiers de test"]
    # restricted layers are never in the public discovery service
    assert _titles(csw, [PropertyIsLike("csw:AnyText", "%Couche réservée%")]) == []
    assert csw.results["matches"] == 0


def test_getrecords_by_bbox(csw):
    assert {"Lieux de test", "Quartiers de test", "Bancs (filtre)"} <= set(_titles(csw, [BBox(PARIS)]))
    assert _titles(csw, [BBox(MARSEILLE)]) == []


def test_getrecordbyid_is_iso19139(csw, live_server, engine):
    csw.getrecords2(constraints=[PropertyIsLike("apiso:Title", "Lieux de test")], maxrecords=5)
    (identifier,) = csw.records
    csw.getrecordbyid(id=[identifier], outputschema=GMD)
    md = csw.records[identifier]
    assert isinstance(md, MD_Metadata) and md.identifier == identifier
    ident = md.identification[0]
    assert ident.title == "Lieux de test" and ident.abstract == "Résumé de Lieux de test"
    assert "test" in {kw.name for group in ident.keywords for kw in group.keywords}
    assert ident.contact[0].organization == "Service d'information géographique"
    with engine.connect() as conn:
        xmin, ymin = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e) FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom), 2154), 4326) AS e "
            "FROM layertest.places) s")).one()
    assert float(ident.bbox.minx) == pytest.approx(xmin, abs=1e-6)
    assert float(ident.bbox.miny) == pytest.approx(ymin, abs=1e-6)
    assert ident.temporalextent_start.startswith("2024-01-02")
    assert md.referencesystem.code == "EPSG:2154"
    assert "ODbL 1.0" in " ".join(ident.uselimitation + ident.otherconstraints)
    urls = {o.url: o.protocol for o in md.distribution.online}
    assert urls[live_server + "/catalogue/t-places/download.gpkg"] == "WWW:DOWNLOAD-1.0-http--download"
    assert urls[live_server + "/ogc/collections/t-places"] == "OGC:OGC-API-Features-items"
    assert live_server + "/tiles/t-places.json" in urls
    lineage = md.dataquality.lineage
    assert "Ville de test" in lineage and "ETL" in lineage


def test_records_are_valid_iso19139_and_downloadable_from_the_page(client):
    schema = etree.XMLSchema(etree.parse(str(ISO_XSD)))
    page = client.get("/catalogue/t-places").get_data(as_text=True)
    assert "/catalogue/t-places/iso19139.xml" in page and "http://localhost/csw" in page
    resp = client.get("/catalogue/t-places/iso19139.xml")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    assert "attachment" in resp.headers["Content-Disposition"]
    doc = etree.fromstring(resp.data)
    assert schema.validate(doc), schema.error_log
    # the schema is not vacuous: a record without its mandatory contact is refused
    contact = doc.find(f"{{{GMD}}}contact")
    doc.remove(contact)
    assert not schema.validate(doc)
    assert client.get("/catalogue/t-secret/iso19139.xml").status_code == 401


def test_records_follow_the_catalogue(csw, engine):
    """A metadata edit, a new data version, a layer made restricted: the CSW says so at once."""
    def record():
        csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", "%Résumé de Quartiers de test%")],
                        outputschema=GMD, esn="full", maxrecords=5)
        return list(csw.records.values())

    (before,) = record()
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE layers SET title = 'Quartiers renommés' WHERE slug = 't-areas'"))
        (renamed,) = record()
        assert renamed.identification[0].title == "Quartiers renommés"
        assert renamed.identifier == before.identifier  # same record, rebuilt
        with engine.begin() as conn:
            touch(conn, "layertest.areas")
        (bumped,) = record()
        assert int(bumped.identification[0].edition) == int(before.identification[0].edition) + 1
        assert bumped.datestamp > before.datestamp
        with engine.begin() as conn:
            conn.execute(text("UPDATE layers SET restricted_to = ARRAY['banque'] WHERE slug = 't-areas'"))
        assert record() == []
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE layers SET title = 'Quartiers de test', restricted_to = '{}' "
                              "WHERE slug = 't-areas'"))
    (back,) = record()
    assert back.identification[0].title == "Quartiers de test"


def test_csw_is_read_only(live_server):
    import urllib.request

    body = (b'<?xml version="1.0"?><csw:Transaction xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" '
            b'service="CSW" version="2.0.2"><csw:Delete><csw:Constraint version="1.1.0"><csw:CqlText>'
            b"title like '%'</csw:CqlText></csw:Constraint></csw:Delete></csw:Transaction>")
    req = urllib.request.Request(live_server + "/csw", data=body, headers={"Content-Type": "application/xml"})
    try:
        answer = urllib.request.urlopen(req, timeout=60).read()
    except urllib.error.HTTPError as err:
        answer = err.read()
    assert b"ExceptionReport" in answer
    csw = CatalogueServiceWeb(live_server + "/csw", timeout=60)
    csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", "%Lieux de test%")])
    assert csw.results["matches"] == 1


def _ogr(*args: str) -> str:
    result = subprocess.run(["ogrinfo", "-ro", "-al", "-q", *args], capture_output=True, text=True, timeout=120,
                            env={"GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_gdal_csw_driver(live_server):
    every = _ogr("CSW:" + live_server + "/csw")
    assert "Lieux de test" in every and "Quartiers de test" in every and "Couche réservée" not in every
    by_text = _ogr("CSW:" + live_server + "/csw", "-where", "anytext LIKE '%Quartiers de test%'")
    assert by_text.count("OGRFeature(records)") == 1 and "t-areas/download.geojson" in by_text
    far = _ogr("-spat", "5.3", "43.2", "5.5", "43.4", "CSW:" + live_server + "/csw")
    assert "OGRFeature(records)" not in far
