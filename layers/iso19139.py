"""ISO 19115/19139 metadata record of a catalogue layer (gmd:MD_Metadata), for CSW harvesters.

The record carries what INSPIRE discovery and the French regional SDIs (GeoNetwork) read: title,
abstract, the producer as point of contact, keywords (with the EU data theme), extent (WGS 84
bounding box, temporal extent from the data's own dates), reference systems, licence and use
constraints, lineage from the load history, and the online resources: downloads, the OGC API
Features collection, the vector tiles and the catalogue page.
"""
from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET

from layers.catalogue import LICENCE_URLS
from layers.dcat import FORMATS, LayerLinks, lineage_text
from layers.metadata import EU_THEME_LABELS, THEMES, LayerFacts
from ova.settings import WEB_SRID, storage_srid

NS = {
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "gml": "http://www.opengis.net/gml",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)
CODELISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
#: Our update frequencies → ISO MD_MaintenanceFrequencyCode.
MAINTENANCE = {"daily": "daily", "weekly": "weekly", "monthly": "monthly", "quarterly": "quarterly",
               "annual": "annually", "irregular": "irregular", "continuous": "continual"}
#: EU data theme → ISO 19115 topic category (MD_TopicCategoryCode).
TOPICS = {"REGI": "planningCadastre", "ENVI": "environment", "ECON": "economy", "JUST": "society",
          "ENER": "utilitiesCommunication", "TRAN": "transportation", "SOCI": "society", "GOVE": "structure"}
PROTOCOL_DOWNLOAD = "WWW:DOWNLOAD-1.0-http--download"
PROTOCOL_OGC_FEATURES = "OGC:OGC-API-Features-items"
PROTOCOL_LINK = "WWW:LINK-1.0-http--link"


def _q(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NS[prefix]}}}{name}"


def _el(parent: ET.Element, path: str, text: str | None = None, **attrs) -> ET.Element:
    """Create the chain of elements ``path`` ("gmd:a/gmd:b") under ``parent``; return the last one."""
    node = parent
    for tag in path.split("/"):
        node = ET.SubElement(node, _q(tag))
    for key, value in attrs.items():
        node.set(_q(key.replace("_", ":", 1)) if "_" in key else key, value)
    if text is not None:
        node.text = text
    return node


def _string(parent: ET.Element, path: str, value: str) -> None:
    _el(parent, path + "/gco:CharacterString", value)


def _code(parent: ET.Element, path: str, codelist: str, value: str) -> None:
    _el(parent, path, value, codeList=f"{CODELISTS}#{codelist}", codeListValue=value)


def _iso(value) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return str(value)


def record_identifier(links: LayerLinks) -> str:
    """The record's stable identifier: a UUID derived from the layer's canonical page URL."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, links.page))


def _party(parent: ET.Element, path: str, name: str, email: str | None, url: str | None, role: str) -> None:
    party = _el(parent, path + "/gmd:CI_ResponsibleParty")
    _string(party, "gmd:organisationName", name)
    info = _el(party, "gmd:contactInfo/gmd:CI_Contact")
    if email:
        _string(info, "gmd:address/gmd:CI_Address/gmd:electronicMailAddress", email)
    if url:
        _el(info, "gmd:onlineResource/gmd:CI_OnlineResource/gmd:linkage/gmd:URL", url)
    _code(party, "gmd:role/gmd:CI_RoleCode", "CI_RoleCode", role)


def _date(parent: ET.Element, value, kind: str) -> None:
    date = _el(parent, "gmd:date/gmd:CI_Date")
    _el(date, "gmd:date/gco:DateTime", _iso(value))
    _code(date, "gmd:dateType/gmd:CI_DateTypeCode", "CI_DateTypeCode", kind)


def _online(parent: ET.Element, url: str, protocol: str, name: str, description: str, function: str) -> None:
    res = _el(parent, "gmd:onLine/gmd:CI_OnlineResource")
    _el(res, "gmd:linkage/gmd:URL", url)
    _string(res, "gmd:protocol", protocol)
    _string(res, "gmd:name", name)
    _string(res, "gmd:description", description)
    _code(res, "gmd:function/gmd:CI_OnLineFunctionCode", "CI_OnLineFunctionCode", function)


def _crs(parent: ET.Element, srid: int) -> None:
    ident = _el(parent, "gmd:referenceSystemInfo/gmd:MD_ReferenceSystem/gmd:referenceSystemIdentifier/"
                        "gmd:RS_Identifier")
    _el(ident, "gmd:code/gmx:Anchor", f"EPSG:{srid}",
        xlink_href=f"http://www.opengis.net/def/crs/EPSG/0/{srid}")
    _string(ident, "gmd:codeSpace", "EPSG")


def iso_record(layer, stats: dict, facts: LayerFacts, links: LayerLinks) -> bytes:
    """The gmd:MD_Metadata document of ``layer`` (UTF-8 XML bytes)."""
    root = ET.Element(_q("gmd:MD_Metadata"))
    root.set(_q("xsi:schemaLocation"),
             "http://www.isotc211.org/2005/gmd http://schemas.opengis.net/csw/2.0.2/profiles/apiso/1.0.0/apiso.xsd")
    _string(root, "gmd:fileIdentifier", record_identifier(links))
    _code(root, "gmd:language/gmd:LanguageCode", "LanguageCode", "fre")
    _code(root, "gmd:characterSet/gmd:MD_CharacterSetCode", "MD_CharacterSetCode", "utf8")
    _code(root, "gmd:hierarchyLevel/gmd:MD_ScopeCode", "MD_ScopeCode", "dataset")
    producer = layer.producer
    email = (layer.contact if layer.contact and "@" in layer.contact else None) or producer.email
    _party(root, "gmd:contact", producer.name, email, producer.url, "pointOfContact")
    _el(root, "gmd:dateStamp/gco:DateTime", _iso(max(facts.modified, layer.last_update)))
    _string(root, "gmd:metadataStandardName", "ISO 19115:2003/19139")
    _string(root, "gmd:metadataStandardVersion", "1.0")
    for srid in (storage_srid(), WEB_SRID):
        _crs(root, srid)

    ident = _el(root, "gmd:identificationInfo/gmd:MD_DataIdentification")
    citation = _el(ident, "gmd:citation/gmd:CI_Citation")
    _string(citation, "gmd:title", layer.title)
    _date(citation, facts.issued, "publication")
    _date(citation, facts.modified, "revision")
    _string(citation, "gmd:edition", str(layer.data_version))
    code = _el(citation, "gmd:identifier/gmd:MD_Identifier")
    _string(code, "gmd:code", links.page)
    _string(ident, "gmd:abstract", layer.abstract or layer.title)
    _party(ident, "gmd:pointOfContact", producer.name, email, producer.url, "pointOfContact")
    if layer.update_frequency in MAINTENANCE:
        _code(ident, "gmd:resourceMaintenance/gmd:MD_MaintenanceInformation/gmd:maintenanceAndUpdateFrequency/"
                     "gmd:MD_MaintenanceFrequencyCode", "MD_MaintenanceFrequencyCode",
              MAINTENANCE[layer.update_frequency])
    words = [*(layer.keywords or []), *([layer.theme] if layer.theme else [])]
    if words:
        kw = _el(ident, "gmd:descriptiveKeywords/gmd:MD_Keywords")
        for word in words:
            _string(kw, "gmd:keyword", word)
        _code(kw, "gmd:type/gmd:MD_KeywordTypeCode", "MD_KeywordTypeCode", "theme")
    theme_code = THEMES.get(layer.theme or "")
    if theme_code:
        kw = _el(ident, "gmd:descriptiveKeywords/gmd:MD_Keywords")
        _el(kw, "gmd:keyword/gmx:Anchor", EU_THEME_LABELS[theme_code],
            xlink_href=f"http://publications.europa.eu/resource/authority/data-theme/{theme_code}")
        _code(kw, "gmd:type/gmd:MD_KeywordTypeCode", "MD_KeywordTypeCode", "theme")
        thesaurus = _el(kw, "gmd:thesaurusName/gmd:CI_Citation")
        _el(thesaurus, "gmd:title/gmx:Anchor", "Data theme (EU)",
            xlink_href="http://publications.europa.eu/resource/authority/data-theme")
        _date(thesaurus, dt.datetime(2022, 6, 15, tzinfo=dt.timezone.utc), "publication")
    licence_url = LICENCE_URLS.get(layer.licence)
    legal = _el(ident, "gmd:resourceConstraints/gmd:MD_LegalConstraints")
    _string(legal, "gmd:useLimitation", f"Licence : {layer.licence}" + (f" ({licence_url})" if licence_url else "")
            + (f". Attribution : {layer.attribution}" if layer.attribution else ""))
    _code(legal, "gmd:accessConstraints/gmd:MD_RestrictionCode", "MD_RestrictionCode", "otherRestrictions")
    _code(legal, "gmd:useConstraints/gmd:MD_RestrictionCode", "MD_RestrictionCode", "license")
    _el(legal, "gmd:otherConstraints/gmx:Anchor", "Pas de restriction d'accès public",
        xlink_href="http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/noLimitations")
    if licence_url:
        _el(legal, "gmd:otherConstraints/gmx:Anchor", layer.licence, xlink_href=licence_url)
    _code(ident, "gmd:spatialRepresentationType/gmd:MD_SpatialRepresentationTypeCode",
          "MD_SpatialRepresentationTypeCode", "vector")
    _code(ident, "gmd:language/gmd:LanguageCode", "LanguageCode", "fre")
    _code(ident, "gmd:characterSet/gmd:MD_CharacterSetCode", "MD_CharacterSetCode", "utf8")
    _el(ident, "gmd:topicCategory/gmd:MD_TopicCategoryCode", TOPICS.get(theme_code or "", "society"))
    extent = _el(ident, "gmd:extent/gmd:EX_Extent")
    if stats.get("bbox"):
        minx, miny, maxx, maxy = stats["bbox"]
        box = _el(extent, "gmd:geographicElement/gmd:EX_GeographicBoundingBox")
        for tag, value in (("westBoundLongitude", minx), ("eastBoundLongitude", maxx),
                           ("southBoundLatitude", miny), ("northBoundLatitude", maxy)):
            _el(box, f"gmd:{tag}/gco:Decimal", repr(round(float(value), 7)))
    for commune in facts.communes:
        geo = _el(extent, "gmd:geographicElement/gmd:EX_GeographicDescription/gmd:geographicIdentifier/"
                          "gmd:MD_Identifier")
        _el(geo, "gmd:code/gmx:Anchor", commune, xlink_href=f"http://id.insee.fr/geo/commune/{commune}")
    if facts.temporal:
        period = _el(extent, "gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/gml:TimePeriod",
                     gml_id=f"periode-{layer.slug}")
        _el(period, "gml:beginPosition", facts.temporal[0])
        _el(period, "gml:endPosition", facts.temporal[1])

    dist = _el(root, "gmd:distributionInfo/gmd:MD_Distribution")
    for fmt in links.download:
        code_, _media = FORMATS[fmt]
        f = _el(dist, "gmd:distributionFormat/gmd:MD_Format")
        _string(f, "gmd:name", code_)
        _string(f, "gmd:version", "-")
    transfer = _el(dist, "gmd:transferOptions/gmd:MD_DigitalTransferOptions")
    for fmt, url in links.download.items():
        _online(transfer, url, PROTOCOL_DOWNLOAD, f"{layer.slug}.{fmt}",
                f"Téléchargement ({FORMATS[fmt][0]}) de la couche entière", "download")
    _online(transfer, links.collection, PROTOCOL_OGC_FEATURES, layer.slug,
            "Collection OGC API Features (GeoJSON, WGS 84, requêtes par emprise, date et attribut)", "download")
    _online(transfer, links.tilejson, PROTOCOL_LINK, f"{layer.slug} (TileJSON)",
            "Tuiles vectorielles Mapbox (MVT) décrites par un TileJSON", "information")
    _online(transfer, links.page, PROTOCOL_LINK, layer.title, "Page de la couche dans le catalogue", "information")

    quality = _el(root, "gmd:dataQualityInfo/gmd:DQ_DataQuality")
    _code(quality, "gmd:scope/gmd:DQ_Scope/gmd:level/gmd:MD_ScopeCode", "MD_ScopeCode", "dataset")
    _string(quality, "gmd:lineage/gmd:LI_Lineage/gmd:statement", lineage_text(layer, facts))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
