"""DCAT-AP 2.1 / 3.0 export of the public catalogue (JSON-LD and Turtle), harvestable by data.gouv.fr.

Valid against the official SEMIC shapes (vendored in ``layers/shacl``, see ``validate``): every
object of a constrained property is typed with the class the range shapes expect, controlled
vocabularies are the EU authority tables' IRIs, licences are the IRIs data.gouv.fr recognises.
OGC API Features and vector-tile distributions carry a ``dcat:accessService`` whose
``dct:conformsTo`` names the OGC standard, and an EU file type as ``dct:format`` (what udata reads).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD

from layers.catalogue import LICENCE_URLS
from layers.metadata import EU_THEME_LABELS, THEMES, LayerFacts

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
EU = "http://publications.europa.eu/resource/authority/"
EU_FREQ = EU + "frequency/"
EU_FILE = EU + "file-type/"
EU_THEME = EU + "data-theme/"
IANA = "https://www.iana.org/assignments/media-types/"
INSEE_COMMUNE = "http://id.insee.fr/geo/commune/"
FREQUENCIES = {
    "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "quarterly": "QUARTERLY",
    "annual": "ANNUAL", "irregular": "IRREG", "continuous": "CONT",
}
#: Distribution formats: key → (EU file type, IANA media type).
FORMATS = {"geojson": ("GEOJSON", "application/geo+json"), "csv": ("CSV", "text/csv"),
           "gpkg": ("GPKG", "application/geopackage+sqlite3"), "shp": ("SHP", "application/zip")}
OGC_FEATURES = "http://www.opengis.net/spec/ogcapi-features-1/1.0"
OGC_FEATURES_STANDARD = "http://www.opengeospatial.org/standards/ogcapi-features"
OGC_CSW = "http://www.opengis.net/cat/csw/2.0.2"
OGC_CSW_STANDARD = "http://www.opengeospatial.org/standards/cat"
TILEJSON = "https://github.com/mapbox/tilejson-spec/tree/master/3.0.0"
MVT = "application/vnd.mapbox-vector-tile"
FRENCH = URIRef(EU + "language/FRA")
PUBLIC = URIRef(EU + "access-right/PUBLIC")
LOCAL_AUTHORITY = URIRef("http://purl.org/adms/publishertype/LocalAuthority")
SHACL_DIR = Path(__file__).resolve().parent / "shacl"
#: The official shapes, per DCAT-AP version: constraints and the object ranges.
SHAPES = {
    "2.1.1": ("dcat-ap_2.1.1_shacl_shapes.ttl", "dcat-ap_2.1.1_shacl_range.ttl"),
    "3.0.0": ("dcat-ap_3.0.0_shacl_shapes.ttl", "dcat-ap_3.0.0_shacl_range.ttl"),
}


@dataclass(frozen=True)
class CatalogueLinks:
    """Absolute URLs of the catalogue-wide resources."""

    catalogue: str      # HTML catalogue page
    home: str           # the portal's home page
    ogc: str            # OGC API Features landing page
    ogc_openapi: str    # its OpenAPI definition
    tiles: str          # root of the vector tiles
    csw: str            # the CSW endpoint


@dataclass(frozen=True)
class LayerLinks:
    """Absolute URLs of one layer's resources."""

    page: str
    collection: str
    tilejson: str
    iso: str
    download: dict = field(default_factory=dict)  # format key -> URL


def _date(value) -> Literal:
    """An xsd:dateTime (or xsd:date) literal of a datetime, date or ISO string."""
    if isinstance(value, str):
        return Literal(value, datatype=XSD.date if len(value) == 10 else XSD.dateTime)
    if isinstance(value, dt.datetime):
        return Literal(value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"), datatype=XSD.dateTime)
    return Literal(value.isoformat(), datatype=XSD.date)


class _Builder:
    """Adds typed nodes to a graph, each typing triple once."""

    def __init__(self) -> None:
        self.g = Graph()
        for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("locn", LOCN),
                           ("gsp", GSP), ("skos", SKOS)):
            self.g.bind(prefix, ns)

    def typed(self, iri: str | URIRef | BNode, cls: URIRef) -> URIRef | BNode:
        node = iri if isinstance(iri, (URIRef, BNode)) else URIRef(iri)
        self.g.add((node, RDF.type, cls))
        return node

    def concept(self, iri: str, label: str, scheme: str | None = None, lang: str = "fr") -> URIRef:
        node = self.typed(iri, SKOS.Concept)
        self.g.add((node, SKOS.prefLabel, Literal(label, lang=lang)))
        if scheme:
            self.g.add((node, SKOS.inScheme, URIRef(scheme)))
        return node

    def standard(self, iri: str, title: str) -> URIRef:
        node = self.typed(iri, DCTERMS.Standard)
        self.g.add((node, DCTERMS.title, Literal(title, lang="en")))
        return node

    def licence(self, name: str) -> URIRef | None:
        iri = LICENCE_URLS.get(name)
        if iri is None:
            return None
        node = self.typed(iri, DCTERMS.LicenseDocument)
        self.g.add((node, RDFS.label, Literal(name)))
        return node

    def media_type(self, media: str) -> URIRef:
        return self.typed(IANA + media, DCTERMS.MediaType)

    def file_type(self, code: str) -> URIRef:
        return self.typed(EU_FILE + code, DCTERMS.MediaTypeOrExtent)


def _service(b: _Builder, iri: str, title: str, description: str, endpoint_description: str | None,
             standards: list[tuple[str, str]]) -> URIRef:
    g = b.g
    service = b.typed(iri, DCAT.DataService)
    g.add((service, DCTERMS.title, Literal(title, lang="fr")))
    g.add((service, DCTERMS.description, Literal(description, lang="fr")))
    g.add((service, DCAT.endpointURL, URIRef(iri)))
    if endpoint_description:
        g.add((service, DCAT.endpointDescription, URIRef(endpoint_description)))
    for std, std_title in standards:
        g.add((service, DCTERMS.conformsTo, b.standard(std, std_title)))
    g.add((service, DCTERMS.accessRights, b.typed(PUBLIC, DCTERMS.RightsStatement)))
    return service


def catalogue_graph(entries: list[tuple], *, links: CatalogueLinks, title: str, description: str,
                    publisher: str, layer_links) -> Graph:
    """Build the DCAT-AP graph of ``entries`` = [(layer, stats, facts)] (public layers only).

    ``layer_links(layer)`` returns the ``LayerLinks`` of a layer; ``publisher`` names the
    organisation running the catalogue.
    """
    b = _Builder()
    g = b.g
    catalog = b.typed(links.catalogue + "#catalogue", DCAT.Catalog)
    g.add((catalog, DCTERMS.title, Literal(title, lang="fr")))
    g.add((catalog, DCTERMS.description, Literal(description, lang="fr")))
    g.add((catalog, FOAF.homepage, b.typed(links.catalogue, FOAF.Document)))
    g.add((catalog, DCTERMS.language, b.typed(FRENCH, DCTERMS.LinguisticSystem)))
    operator = b.typed(links.home + "#publisher", FOAF.Agent)
    g.add((operator, FOAF.name, Literal(publisher, lang="fr")))
    g.add((operator, DCTERMS.type, b.concept(LOCAL_AUTHORITY, "Local Authority", lang="en")))
    g.add((catalog, DCTERMS.publisher, operator))
    taxonomy = b.typed(EU + "data-theme", SKOS.ConceptScheme)
    g.add((taxonomy, DCTERMS.title, Literal("Data theme", lang="en")))
    g.add((catalog, DCAT.themeTaxonomy, taxonomy))

    ogc = _service(b, links.ogc, "Portail OVA — OGC API Features",
                   "Accès aux couches publiques par l'API OGC API Features (GeoJSON, WGS 84).",
                   links.ogc_openapi, [(OGC_FEATURES, "OGC API - Features - Part 1: Core 1.0"),
                                       (OGC_FEATURES_STANDARD, "OGC API - Features")])
    tiles = _service(b, links.tiles, "Portail OVA — tuiles vectorielles",
                     "Tuiles vectorielles Mapbox (MVT) des couches publiques, décrites par un TileJSON par couche.",
                     None, [(TILEJSON, "TileJSON 3.0.0")])
    csw = _service(b, links.csw, "Portail OVA — service de découverte CSW",
                   "Fiches de métadonnées ISO 19139 des couches (CSW 2.0.2, profil ISO AP).",
                   links.csw + "?service=CSW&version=2.0.2&request=GetCapabilities",
                   [(OGC_CSW, "OGC Catalogue Services 2.0.2 - CSW"), (OGC_CSW_STANDARD, "OGC Catalogue Service")])
    for service in (ogc, tiles, csw):
        g.add((catalog, DCAT.service, service))
        g.add((service, DCTERMS.publisher, operator))

    dates = []
    for layer, stats, facts in entries:
        ds = _dataset(b, layer, stats, facts, layer_links(layer), links, ogc, tiles)
        g.add((catalog, DCAT.dataset, ds))
        g.add((csw, DCAT.servesDataset, ds))
        dates.append((facts.issued, facts.modified))
    if dates:
        g.add((catalog, DCTERMS.issued, _date(min(d[0] for d in dates))))
        g.add((catalog, DCTERMS.modified, _date(max(d[1] for d in dates))))
    return g


def _dataset(b: _Builder, layer, stats: dict, facts: LayerFacts, u: LayerLinks, links: CatalogueLinks,
             ogc: URIRef, tiles: URIRef) -> URIRef:
    g = b.g
    ds = b.typed(u.page + "#dataset", DCAT.Dataset)
    g.add((ds, DCTERMS.identifier, Literal(layer.slug)))
    g.add((ds, DCTERMS.title, Literal(layer.title, lang="fr")))
    g.add((ds, DCTERMS.description, Literal(layer.abstract or layer.title, lang="fr")))
    g.add((ds, DCAT.landingPage, b.typed(u.page, FOAF.Document)))
    g.add((ds, FOAF.page, b.typed(u.iso, FOAF.Document)))
    g.add((ds, DCTERMS.issued, _date(facts.issued)))
    g.add((ds, DCTERMS.modified, _date(facts.modified)))
    g.add((ds, OWL.versionInfo, Literal(str(layer.data_version))))
    g.add((ds, DCTERMS.language, b.typed(FRENCH, DCTERMS.LinguisticSystem)))
    g.add((ds, DCTERMS.accessRights, b.typed(PUBLIC, DCTERMS.RightsStatement)))
    for kw in layer.keywords or []:
        g.add((ds, DCAT.keyword, Literal(kw, lang="fr")))
    if layer.theme:
        g.add((ds, DCAT.keyword, Literal(layer.theme, lang="fr")))
        code = THEMES.get(layer.theme)
        if code:
            g.add((ds, DCAT.theme, b.concept(EU_THEME + code, EU_THEME_LABELS[code], EU + "data-theme")))
    publisher = b.typed(f"{links.catalogue}?producer={layer.producer.slug}", FOAF.Agent)
    g.add((publisher, FOAF.name, Literal(layer.producer.name, lang="fr")))
    g.add((ds, DCTERMS.publisher, publisher))
    contact = b.typed(BNode(), VCARD.Organization)
    g.add((ds, DCAT.contactPoint, contact))
    g.add((contact, RDF.type, VCARD.Kind))
    g.add((contact, VCARD.fn, Literal(layer.producer.name)))
    email = layer.contact or layer.producer.email
    if email and "@" in email:
        g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{email.strip()}")))
    if layer.update_frequency in FREQUENCIES:
        g.add((ds, DCTERMS.accrualPeriodicity,
               b.typed(EU_FREQ + FREQUENCIES[layer.update_frequency], DCTERMS.Frequency)))
    if stats.get("bbox"):
        minx, miny, maxx, maxy = stats["bbox"]
        loc = b.typed(BNode(), DCTERMS.Location)
        g.add((ds, DCTERMS.spatial, loc))
        wkt = f"POLYGON(({minx} {miny},{maxx} {miny},{maxx} {maxy},{minx} {maxy},{minx} {miny}))"
        g.add((loc, DCAT.bbox, Literal(wkt, datatype=GSP.wktLiteral)))
    for code in facts.communes:
        g.add((ds, DCTERMS.spatial, b.typed(INSEE_COMMUNE + code, DCTERMS.Location)))
    if facts.temporal:
        period = b.typed(BNode(), DCTERMS.PeriodOfTime)
        g.add((ds, DCTERMS.temporal, period))
        g.add((period, DCAT.startDate, _date(facts.temporal[0])))
        g.add((period, DCAT.endDate, _date(facts.temporal[1])))
    if layer.attribution or facts.versions:
        statement = b.typed(BNode(), DCTERMS.ProvenanceStatement)
        g.add((statement, RDFS.label, Literal(lineage_text(layer, facts), lang="fr")))
        g.add((ds, DCTERMS.provenance, statement))
    licence = b.licence(layer.licence)

    def distribution(iri: str, title: str, file_type: URIRef, media: str) -> URIRef:
        dist = b.typed(iri, DCAT.Distribution)
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, DCTERMS.title, Literal(title, lang="fr")))
        g.add((dist, DCAT.accessURL, URIRef(iri)))
        g.add((dist, DCAT.mediaType, b.media_type(media)))
        g.add((dist, DCTERMS["format"], file_type))
        g.add((dist, DCTERMS.modified, _date(facts.modified)))
        if licence is not None:
            g.add((dist, DCTERMS.license, licence))
        if layer.attribution:
            rights = b.typed(BNode(), DCTERMS.RightsStatement)
            g.add((rights, RDFS.label, Literal(layer.attribution, lang="fr")))
            g.add((dist, DCTERMS.rights, rights))
        return dist

    for fmt, url in u.download.items():
        code, media = FORMATS[fmt]
        dist = distribution(url, f"{layer.title} ({code})", b.file_type(code), media)
        g.add((dist, DCAT.downloadURL, URIRef(url)))
    api = distribution(u.collection, f"{layer.title} (OGC API Features)", b.file_type("GEOJSON"),
                       "application/geo+json")
    g.add((api, DCTERMS.description, Literal("Collection OGC API Features : requêtes par emprise, par date "
                                             "et par attribut, pagination, GeoJSON en WGS 84.", lang="fr")))
    g.add((api, DCTERMS.conformsTo, b.standard(OGC_FEATURES, "OGC API - Features - Part 1: Core 1.0")))
    g.add((api, DCAT.accessService, ogc))
    g.add((ogc, DCAT.servesDataset, ds))
    # No EU file type for Mapbox vector tiles: the IANA media type is the format.
    mvt = b.typed(b.media_type(MVT), DCTERMS.MediaTypeOrExtent)
    tile = distribution(u.tilejson, f"{layer.title} (tuiles vectorielles)", mvt, MVT)
    g.add((tile, DCTERMS.description, Literal("Tuiles vectorielles Mapbox (MVT) décrites par un TileJSON.",
                                              lang="fr")))
    g.add((tile, DCTERMS.conformsTo, b.standard(TILEJSON, "TileJSON 3.0.0")))
    g.add((tile, DCAT.accessService, tiles))
    g.add((tiles, DCAT.servesDataset, ds))
    return ds


def lineage_text(layer, facts: LayerFacts) -> str:
    """A statement of where the data comes from and how it was loaded (French)."""
    parts = []
    if layer.attribution:
        parts.append(f"Source : {layer.attribution}.")
    if facts.versions:
        history = "; ".join(
            f"version {v.version} du {v.published_at.date().isoformat()} ({v.feature_count} objets"
            + (f", fichier {v.filename}" if v.filename else "") + (f" : {v.note}" if v.note else "") + ")"
            for v in facts.versions)
        parts.append(f"Publiée par le producteur depuis un fichier, validée et reprojetée en Lambert-93 : {history}.")
    else:
        parts.append("Chargée par la chaîne ETL du Portail OVA (contrôle des lignes, reprojection en Lambert-93, "
                     f"rejets signalés) ; version des données {layer.data_version}, dernier chargement le "
                     f"{facts.modified.date().isoformat()}.")
    return " ".join(parts)


def shapes_graph(version: str = "2.1.1") -> Graph:
    """The official DCAT-AP shapes of ``version`` (constraints and ranges), from the vendored files."""
    g = Graph()
    for name in SHAPES[version]:
        g.parse(SHACL_DIR / name, format="turtle")
    return g


def validate(graph: Graph, version: str = "2.1.1") -> tuple[bool, Graph, str]:
    """Validate ``graph`` with pyshacl against the official shapes (RDFS inference)."""
    from pyshacl import validate as shacl_validate

    conforms, report, text = shacl_validate(graph, shacl_graph=shapes_graph(version), inference="rdfs",
                                            advanced=True, allow_warnings=True)
    return conforms, report, text
