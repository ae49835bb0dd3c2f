"""Absolute links of the catalogue's resources (under OVA_PUBLIC_URL when set), for DCAT and ISO."""
from __future__ import annotations

from flask import current_app

from layers.dcat import CatalogueLinks, LayerLinks
from portal.urls import external_url

#: Download formats offered on a layer page: (format key, label).
DOWNLOADS = (("geojson", "GeoJSON"), ("csv", "CSV"), ("gpkg", "GeoPackage"), ("shp", "Shapefile (zip)"))


def catalogue_links() -> CatalogueLinks:
    """The catalogue-wide URLs."""
    return CatalogueLinks(
        catalogue=external_url("catalogue.index"), home=external_url("home.index"),
        ogc=external_url("ogc.landing"), ogc_openapi=external_url("ogc.api"),
        tiles=external_url("tiles.tile", slug="_", z=0, x=0, y=0).rsplit("/_/", 1)[0] + "/",
        csw=external_url("csw.endpoint"))


def layer_links(layer) -> LayerLinks:
    """The URLs of one layer: page, OGC collection, TileJSON, ISO record and downloads."""
    return LayerLinks(
        page=external_url("catalogue.layer_page", slug=layer.slug),
        collection=external_url("ogc.collection", slug=layer.slug),
        tilejson=external_url("tiles.tilejson_doc", slug=layer.slug),
        iso=external_url("catalogue.iso_record", slug=layer.slug),
        download={fmt: external_url("catalogue.download", slug=layer.slug, fmt=fmt) for fmt, _ in DOWNLOADS})


def publisher_name() -> str:
    """The organisation running the catalogue (``CATALOGUE_PUBLISHER``, else from the territory)."""
    config = current_app.config
    return config.get("CATALOGUE_PUBLISHER") or f"Portail OVA — {config['TERRITORY_NAME']}"
