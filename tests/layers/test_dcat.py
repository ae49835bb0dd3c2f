"""DCAT-AP export: JSON-LD and Turtle parse back to the public layers with their distributions."""
from __future__ import annotations

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF


def _datasets(g: Graph) -> dict[str, URIRef]:
    return {str(g.value(ds, DCTERMS.identifier)): ds for ds in g.subjects(RDF.type, DCAT.Dataset)}


def test_turtle_and_jsonld_agree(client):
    ttl = client.get("/catalogue/dcat.ttl")
    assert ttl.mimetype == "text/turtle"
    jsonld = client.get("/catalogue/dcat.jsonld")
    assert jsonld.mimetype == "application/ld+json"
    g1 = Graph().parse(data=ttl.get_data(as_text=True), format="turtle")
    g2 = Graph().parse(data=jsonld.get_data(as_text=True), format="json-ld")
    assert set(_datasets(g1)) == set(_datasets(g2))
    assert len(g1) == len(g2)


def test_public_layers_with_licence_and_distributions(client):
    g = Graph().parse(data=client.get("/catalogue/dcat.ttl").get_data(as_text=True), format="turtle")
    datasets = _datasets(g)
    assert {"t-places", "t-areas"} <= set(datasets) and "t-secret" not in datasets
    ds = datasets["t-places"]
    assert str(g.value(ds, DCTERMS.title)) == "Lieux de test"
    assert (None, RDF.type, DCAT.Catalog) in g
    dists = list(g.objects(ds, DCAT.distribution))
    urls = {str(d) for d in dists}
    assert "http://localhost/catalogue/t-places/download.gpkg" in urls
    assert "http://localhost/ogc/collections/t-places" in urls
    licences = {str(g.value(d, DCTERMS.license)) for d in dists}
    assert licences == {"https://opendatacommons.org/licenses/odbl/1-0/"}
    bbox = g.value(g.value(ds, DCTERMS.spatial), DCAT.bbox)
    assert str(bbox).startswith("POLYGON((2.29")
    assert g.value(ds, DCTERMS.publisher) is not None and g.value(ds, DCAT.contactPoint) is not None
