"""DCAT-AP export: valid against the official SEMIC shapes (2.1.1 and 3.0.0), EU vocabularies by
IRI, dates and coverage true to the data, distributions udata recognises, both serialisations
isomorphic."""
from __future__ import annotations

import datetime as dt

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from sqlalchemy import text

from layers.dcat import SHAPES, validate

SH = Namespace("http://www.w3.org/ns/shacl#")
EU = "http://publications.europa.eu/resource/authority/"


def _graph(client, path="/catalogue/dcat.ttl", fmt="turtle", **kwargs) -> Graph:
    resp = client.get(path, **kwargs)
    assert resp.status_code == 200
    return Graph().parse(data=resp.get_data(as_text=True), format=fmt)


def _datasets(g: Graph) -> dict[str, URIRef]:
    return {str(g.value(ds, DCTERMS.identifier)): ds for ds in g.subjects(RDF.type, DCAT.Dataset)}


def _violations(g: Graph, version: str) -> list[tuple[str, str, str]]:
    _, report, _ = validate(g, version)
    return [(str(report.value(r, SH.focusNode)), str(report.value(r, SH.resultPath)),
             str(report.value(r, SH.resultMessage)))
            for r in report.subjects(RDF.type, SH.ValidationResult)
            if report.value(r, SH.resultSeverity) == SH.Violation]


def test_turtle_and_jsonld_are_isomorphic(client):
    ttl = client.get("/catalogue/dcat.ttl")
    assert ttl.mimetype == "text/turtle"
    jsonld = client.get("/catalogue/dcat.jsonld")
    assert jsonld.mimetype == "application/ld+json"
    g1 = Graph().parse(data=ttl.get_data(as_text=True), format="turtle")
    g2 = Graph().parse(data=jsonld.get_data(as_text=True), format="json-ld")
    assert len(g1) > 300 and len(g1) == len(g2)
    assert isomorphic(g1, g2)


@pytest.mark.parametrize("version", sorted(SHAPES))
def test_zero_violations_against_the_official_shapes(client, connection, version):
    # every kind of dataset: with versions (lineage), a mapped theme, a frequency, communes
    connection.execute(text("UPDATE layers SET theme = 'Propreté', update_frequency = 'daily' WHERE slug = 't-places'"))
    _commune_layer(connection)
    g = _graph(client)
    assert len(_datasets(g)) >= 4
    assert _violations(g, version) == []


@pytest.mark.parametrize("version", sorted(SHAPES))
def test_the_shapes_do_catch_a_broken_catalogue(client, version):
    """The validation is not vacuous: a catalogue without publisher, an untyped licence fail."""
    g = _graph(client)
    catalog = next(g.subjects(RDF.type, DCAT.Catalog))
    g.remove((catalog, DCTERMS.publisher, None))
    g.remove((URIRef("http://opendatacommons.org/licenses/odbl/summary/"), RDF.type, DCTERMS.LicenseDocument))
    found = _violations(g, version)
    paths = {path for _, path, _ in found}
    assert str(DCTERMS.publisher) in paths and str(DCTERMS.license) in paths


def test_public_layers_with_licence_and_distributions(client):
    g = _graph(client)
    datasets = _datasets(g)
    assert {"t-places", "t-areas"} <= set(datasets) and "t-secret" not in datasets
    ds = datasets["t-places"]
    assert ds == URIRef("http://localhost/catalogue/t-places#dataset")
    assert str(g.value(ds, DCTERMS.title)) == "Lieux de test"
    landing = g.value(ds, DCAT.landingPage)
    assert landing == URIRef("http://localhost/catalogue/t-places") and (landing, RDF.type, FOAF.Document) in g
    urls = {str(d) for d in g.objects(ds, DCAT.distribution)}
    assert {"http://localhost/catalogue/t-places/download.gpkg", "http://localhost/ogc/collections/t-places",
            "http://localhost/tiles/t-places.json"} <= urls
    licences = {g.value(d, DCTERMS.license) for d in g.objects(ds, DCAT.distribution)}
    odbl = URIRef("http://opendatacommons.org/licenses/odbl/summary/")  # data.gouv.fr's "odc-odbl"
    assert licences == {odbl} and (odbl, RDF.type, DCTERMS.LicenseDocument) in g
    bbox = g.value(g.value(ds, DCTERMS.spatial), DCAT.bbox)
    assert str(bbox).startswith("POLYGON((2.29")
    assert g.value(ds, DCTERMS.publisher) is not None and g.value(ds, DCAT.contactPoint) is not None
    catalog = next(g.subjects(RDF.type, DCAT.Catalog))
    assert g.value(catalog, DCTERMS.publisher) is not None
    assert g.value(catalog, FOAF.homepage) != catalog


def test_controlled_vocabularies_by_iri(client, connection):
    connection.execute(text("UPDATE layers SET theme = 'Propreté', update_frequency = 'daily' WHERE slug = 't-places'"))
    g = _graph(client)
    ds = _datasets(g)["t-places"]
    theme = g.value(ds, DCAT.theme)
    assert theme == URIRef(EU + "data-theme/ENVI")
    assert g.value(theme, SKOS.inScheme) == URIRef(EU + "data-theme")
    assert g.value(ds, DCTERMS.accrualPeriodicity) == URIRef(EU + "frequency/DAILY")
    assert g.value(ds, DCTERMS.language) == URIRef(EU + "language/FRA")
    formats = {str(g.value(d, DCTERMS["format"])) for d in g.objects(ds, DCAT.distribution)}
    assert {EU + "file-type/" + code for code in ("GEOJSON", "CSV", "GPKG", "SHP")} <= formats
    assert _datasets(g)["t-areas"] not in set(g.subjects(DCAT.theme, None))  # theme "Tests": no EU theme


def test_ogc_api_and_tiles_distributions_as_udata_reads_them(client):
    """udata: a distribution with dcat:accessService is an API resource; its format is the EU file
    type's code; the service's dct:conformsTo names the OGC standard."""
    g = _graph(client)
    api = URIRef("http://localhost/ogc/collections/t-places")
    service = g.value(api, DCAT.accessService)
    assert service == URIRef("http://localhost/ogc")
    assert str(g.value(service, DCTERMS.title)).startswith("Portail OVA")
    assert str(g.value(api, DCTERMS["format"])).rsplit("/", 1)[-1].lower() == "geojson"
    standards = {str(s) for s in g.objects(service, DCTERMS.conformsTo)}
    assert {"http://www.opengis.net/spec/ogcapi-features-1/1.0",
            "http://www.opengeospatial.org/standards/ogcapi-features"} <= standards
    assert g.value(service, DCAT.endpointDescription) == URIRef("http://localhost/ogc/api")
    tiles = URIRef("http://localhost/tiles/t-places.json")
    assert g.value(tiles, DCAT.mediaType) == URIRef("https://www.iana.org/assignments/media-types/"
                                                    "application/vnd.mapbox-vector-tile")
    assert g.value(tiles, DCAT.accessService) is not None
    csw = URIRef("http://localhost/csw")
    assert (csw, RDF.type, DCAT.DataService) in g and (None, DCAT.service, csw) in g


def test_dates_true_to_the_data(client, connection):
    created = connection.scalar(text("SELECT created_at FROM layers WHERE slug = 't-places'"))
    g = _graph(client)
    ds = _datasets(g)
    places = ds["t-places"]
    assert abs(g.value(places, DCTERMS.issued).toPython() - created) < dt.timedelta(seconds=1)
    # the temporal coverage is the range of the data's own dates (reported_at: 2024-01-02 + 249 days)
    period = g.value(places, DCTERMS.temporal)
    start, end = g.value(period, DCAT.startDate).toPython(), g.value(period, DCAT.endDate).toPython()
    assert (start.date(), end.date()) == (dt.date(2024, 1, 2), dt.date(2024, 9, 7))
    assert g.value(ds["t-areas"], DCTERMS.temporal) is None  # no date column: no coverage


def test_load_dates_are_not_a_temporal_coverage_but_versions_date_issued(client, connection):
    _commune_layer(connection)
    layer_id = connection.scalar(text("SELECT id FROM layers WHERE slug = 't-communes'"))
    connection.execute(text(
        "INSERT INTO layer_versions (layer_id, version, feature_count, filename, note, created_at) "
        "VALUES (:id, 1, 2, 'communes.gpkg', 'première', '2023-05-04T10:00:00Z')"), {"id": layer_id})
    g = _graph(client)
    ds = _datasets(g)["t-communes"]
    assert g.value(ds, DCTERMS.temporal) is None  # only loaded_at: bookkeeping, not coverage
    assert g.value(ds, DCTERMS.issued) == Literal("2023-05-04T10:00:00Z", datatype=XSD.dateTime)
    spatial = set(g.objects(ds, DCTERMS.spatial))
    assert {URIRef("http://id.insee.fr/geo/commune/75056"), URIRef("http://id.insee.fr/geo/commune/44109")} <= spatial
    lineage = str(g.value(g.value(ds, DCTERMS.provenance), RDFS.label))
    assert "version 1 du 2023-05-04 (2 objets, fichier communes.gpkg : première)" in lineage


def test_issued_and_modified_are_the_loads_of_the_rows(client, connection):
    """A layer declared after its data was loaded: the dates are the loads', not the declaration's."""
    _commune_layer(connection)
    connection.execute(text("UPDATE layertest.by_commune SET loaded_at = CASE id WHEN 1 THEN "
                            "'2022-02-01T08:00:00Z'::timestamptz ELSE '2022-03-01T08:00:00Z'::timestamptz END"))
    g = _graph(client)
    ds = _datasets(g)["t-communes"]
    assert g.value(ds, DCTERMS.issued).toPython() == dt.datetime(2022, 2, 1, 8, tzinfo=dt.timezone.utc)
    assert g.value(ds, DCTERMS.modified).toPython() == dt.datetime(2022, 3, 1, 8, tzinfo=dt.timezone.utc)


def _commune_layer(connection) -> None:
    """A layer over a table with commune codes and only a load date."""
    connection.execute(text(
        "CREATE TABLE layertest.by_commune (id integer PRIMARY KEY, commune_insee text, loaded_at timestamptz "
        "DEFAULT now(), geom geometry(Point, 2154))"))
    connection.execute(text(
        "INSERT INTO layertest.by_commune (id, commune_insee, geom) VALUES "
        "(1, '75056', ST_Transform(ST_SetSRID(ST_MakePoint(2.35, 48.85), 4326), 2154)), "
        "(2, '44109', ST_Transform(ST_SetSRID(ST_MakePoint(-1.55, 47.22), 4326), 2154))"))
    connection.execute(text(
        "INSERT INTO layers (slug, title, abstract, producer_id, source_table, licence, keywords, theme, contact) "
        "SELECT 't-communes', 'Par commune', 'Deux points', id, 'layertest.by_commune', 'Licence Ouverte 2.0', "
        "ARRAY['commune'], 'Référentiels', 'sig@ville.example' FROM producers WHERE slug = 'sig'"))
