"""OVA_PUBLIC_URL: every absolute link (DCAT, ISO/CSW, Atom, OGC API, TileJSON, follow-up links)
is built from it, whatever Host header a client sent; unset, links follow the request."""
from __future__ import annotations

import pytest
from rdflib import Graph
from rdflib.namespace import DCAT, RDF

from ova.errors import InvalidInput
from portal import create_app, database

PUBLIC = "https://ova.ville.example/portail"
HOSTILE = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


@pytest.fixture
def public_app(db_url, connection, tmp_path, monkeypatch):
    monkeypatch.setenv("OVA_PUBLIC_URL", PUBLIC + "/")
    application = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret",
                               "WTF_CSRF_ENABLED": False, "DOWNLOAD_CACHE_DIR": str(tmp_path / "downloads")})
    database.bind(application, connection)
    yield application
    database.dispose(application)


def test_setting_read_from_the_environment(public_app):
    assert public_app.config["PUBLIC_URL"] == PUBLIC


@pytest.mark.parametrize("path,fmt", [("/catalogue/dcat.ttl", "turtle"), ("/catalogue/dcat.jsonld", "json-ld")])
def test_dcat_iris_ignore_the_host_header(public_app, path, fmt):
    body = public_app.test_client().get(path, headers=HOSTILE).get_data(as_text=True)
    assert "evil.example" not in body and "localhost" not in body
    g = Graph().parse(data=body, format=fmt)
    catalog = next(g.subjects(RDF.type, DCAT.Catalog))
    assert str(catalog) == PUBLIC + "/catalogue#catalogue"
    dataset_iris = {str(d) for d in g.subjects(RDF.type, DCAT.Dataset)}
    assert PUBLIC + "/catalogue/t-places#dataset" in dataset_iris


def test_atom_ogc_tiles_and_iso_use_the_public_url(public_app):
    client = public_app.test_client()
    atom = client.get("/catalogue/feed.atom", headers=HOSTILE).get_data(as_text=True)
    assert f"<id>{PUBLIC}/catalogue/feed.atom</id>" in atom and "evil.example" not in atom
    landing = client.get("/ogc?f=json", headers=HOSTILE).get_json()
    assert landing["links"] and all(link["href"].startswith(PUBLIC + "/ogc") for link in landing["links"])
    items = client.get("/ogc/collections/t-places/items?limit=2", headers=HOSTILE).get_json(force=True)
    assert all(link["href"].startswith(PUBLIC + "/ogc/") for link in items["links"])
    tilejson = client.get("/tiles/t-places.json", headers=HOSTILE).get_json()
    assert tilejson["tiles"][0].startswith(PUBLIC + "/tiles/t-places/{z}/{x}/{y}.pbf")
    iso = client.get("/catalogue/t-places/iso19139.xml", headers=HOSTILE).get_data(as_text=True)
    assert f"{PUBLIC}/catalogue/t-places/download.gpkg" in iso and "evil.example" not in iso
    caps = client.get("/csw?service=CSW&version=2.0.2&request=GetCapabilities", headers=HOSTILE)
    assert f'xlink:href="{PUBLIC}/csw' in caps.get_data(as_text=True)


def test_without_the_setting_links_follow_the_request(client):
    body = client.get("/catalogue/dcat.ttl").get_data(as_text=True)
    assert "http://localhost/catalogue/t-places#dataset" in body


@pytest.mark.parametrize("bad", ["ova.ville.fr", "ftp://ova.ville.fr", "https://", "https://ova.ville.fr/?x=1"])
def test_a_malformed_public_url_stops_the_app(db_url, bad):
    with pytest.raises(InvalidInput, match="OVA_PUBLIC_URL"):
        create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "x", "PUBLIC_URL": bad})
