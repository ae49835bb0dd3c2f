"""DCAT-AP export of the public catalogue (JSON-LD and Turtle), harvestable by data.gouv.fr."""
from __future__ import annotations

from typing import Callable

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from layers.catalogue import LICENCE_URLS

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
FREQUENCIES = {
    "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "quarterly": "QUARTERLY",
    "annual": "ANNUAL", "irregular": "IRREG", "continuous": "CONT",
}
EU_FREQ = "http://publications.europa.eu/resource/authority/frequency/"
EU_FILE = "http://publications.europa.eu/resource/authority/file-type/"
#: Distribution formats: key → (EU file type, IANA media type).
FORMATS = {"geojson": ("GEOJSON", "application/geo+json"), "csv": ("CSV", "text/csv"),
           "gpkg": ("GPKG", "application/geopackage+sqlite3"), "shp": ("SHP", "application/zip")}


def catalogue_graph(entries: list[tuple], *, catalogue_url: str, title: str,
                    urls: Callable[[object], dict]) -> Graph:
    """Build the DCAT-AP graph of ``entries`` = [(layer, stats)].

    ``urls(layer)`` returns {"page", "collection", "api", "download": {fmt: url}}.
    """
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("locn", LOCN),
                       ("gsp", GSP)):
        g.bind(prefix, ns)
    catalog = URIRef(catalogue_url)
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal(title, lang="fr")))
    g.add((catalog, DCTERMS.description, Literal("Couches publiées par les producteurs publics d'information.",
                                                 lang="fr")))
    g.add((catalog, FOAF.homepage, URIRef(catalogue_url)))
    for layer, stats in entries:
        u = urls(layer)
        ds = URIRef(u["page"])
        g.add((catalog, DCAT.dataset, ds))
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, DCTERMS.identifier, Literal(layer.slug)))
        g.add((ds, DCTERMS.title, Literal(layer.title, lang="fr")))
        g.add((ds, DCTERMS.description, Literal(layer.abstract or layer.title, lang="fr")))
        g.add((ds, DCAT.landingPage, URIRef(u["page"])))
        g.add((ds, DCTERMS.modified, Literal(layer.last_update.isoformat(), datatype=XSD.dateTime)))
        for kw in layer.keywords or []:
            g.add((ds, DCAT.keyword, Literal(kw, lang="fr")))
        if layer.theme:
            g.add((ds, DCAT.keyword, Literal(layer.theme, lang="fr")))
        publisher = URIRef(f"{catalogue_url}#producteur-{layer.producer.slug}")
        g.add((ds, DCTERMS.publisher, publisher))
        g.add((publisher, RDF.type, FOAF.Agent))
        g.add((publisher, FOAF.name, Literal(layer.producer.name, lang="fr")))
        contact = BNode()
        g.add((ds, DCAT.contactPoint, contact))
        g.add((contact, RDF.type, VCARD.Kind))
        g.add((contact, VCARD.fn, Literal(layer.producer.name)))
        email = layer.contact or layer.producer.email
        if email and "@" in email:
            g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{email}")))
        if layer.update_frequency in FREQUENCIES:
            g.add((ds, DCTERMS.accrualPeriodicity, URIRef(EU_FREQ + FREQUENCIES[layer.update_frequency])))
        if stats.get("bbox"):
            minx, miny, maxx, maxy = stats["bbox"]
            loc = BNode()
            g.add((ds, DCTERMS.spatial, loc))
            g.add((loc, RDF.type, DCTERMS.Location))
            wkt = (f"POLYGON(({minx} {miny},{maxx} {miny},{maxx} {maxy},{minx} {maxy},{minx} {miny}))")
            g.add((loc, DCAT.bbox, Literal(wkt, datatype=GSP.wktLiteral)))
        if stats.get("interval"):
            period = BNode()
            g.add((ds, DCTERMS.temporal, period))
            g.add((period, RDF.type, DCTERMS.PeriodOfTime))
            g.add((period, DCAT.startDate, Literal(stats["interval"][0], datatype=XSD.dateTime)))
            g.add((period, DCAT.endDate, Literal(stats["interval"][1], datatype=XSD.dateTime)))
        licence = URIRef(LICENCE_URLS.get(layer.licence, u["page"]))
        for fmt, url in u["download"].items():
            file_type, media = FORMATS[fmt]
            dist = URIRef(url)
            g.add((ds, DCAT.distribution, dist))
            g.add((dist, RDF.type, DCAT.Distribution))
            g.add((dist, DCTERMS.title, Literal(f"{layer.title} ({file_type})", lang="fr")))
            g.add((dist, DCAT.accessURL, URIRef(url)))
            g.add((dist, DCAT.downloadURL, URIRef(url)))
            g.add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{media}")))
            g.add((dist, DCTERMS["format"], URIRef(EU_FILE + file_type)))
            g.add((dist, DCTERMS.license, licence))
        api = URIRef(u["collection"])
        g.add((ds, DCAT.distribution, api))
        g.add((api, RDF.type, DCAT.Distribution))
        g.add((api, DCTERMS.title, Literal(f"{layer.title} (OGC API Features)", lang="fr")))
        g.add((api, DCAT.accessURL, api))
        g.add((api, DCTERMS.license, licence))
        g.add((api, DCTERMS.conformsTo, URIRef("http://www.opengis.net/spec/ogcapi-features-1/1.0")))
        service = URIRef(u["api"])
        g.add((service, RDF.type, DCAT.DataService))
        g.add((service, DCAT.endpointURL, service))
        g.add((service, DCAT.servesDataset, ds))
        g.add((api, DCAT.accessService, service))
    return g
