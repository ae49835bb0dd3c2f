"""Catalogue pages, metadata editing (roles, CSRF), Atom feed, seeding and touch()."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select, text

from layers.catalogue import seed_layers
from ova.dataversion import touch
from ova.errors import InvalidInput
from ova.models import Layer, Producer


def test_list_search_and_filters(client):
    page = client.get("/catalogue").get_data(as_text=True)
    assert "Lieux de test" in page and "Quartiers de test" in page and "Couche réservée" not in page
    page = client.get("/catalogue?q=quartiers+de").get_data(as_text=True)
    assert "Quartiers de test" in page and "Lieux de test" not in page
    assert "Lieux de test" in client.get("/catalogue?producer=sig&theme=Tests").get_data(as_text=True)
    assert "Lieux de test" not in client.get("/catalogue?producer=proprete").get_data(as_text=True)


def test_layer_page_has_metadata_map_and_links(client):
    resp = client.get("/catalogue/t-places")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert 'id="feature-count">250<' in page
    assert "ODbL 1.0" in page and "Ville de test" in page
    for href in ("/catalogue/t-places/download.geojson", "/catalogue/t-places/download.gpkg",
                 "/ogc/collections/t-places", "/tiles/t-places.json", "/ogc/collections/t-places/items?limit=1000"):
        assert href in page, href
    assert "cdn" not in page.lower() and "unpkg" not in page
    assert client.get("/catalogue/nope").status_code == 404


def test_atom_feed(client):
    resp = client.get("/catalogue/feed.atom")
    assert resp.mimetype == "application/atom+xml"
    root = ET.fromstring(resp.data)
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in root.iter("{http://www.w3.org/2005/Atom}entry")]
    assert "Lieux de test" in titles and "Couche réservée" not in titles


def _form(layer_title="Nouveau titre", **extra):
    data = {"title": layer_title, "abstract": "Résumé <b>modifié</b>", "keywords": "a, b", "theme": "Tests",
            "contact": "x@example.org", "licence": "Licence Ouverte 2.0", "attribution": "Moi",
            "update_frequency": "daily", "published": "y"}
    data.update(extra)
    return data


@pytest.mark.parametrize("role, allowed", [("citizen", False), ("commercant", False), ("urbaniste", False),
                                           ("banque", False), ("agent", True), ("admin", True)])
def test_edit_is_for_the_producers_agents_and_admins(login_as, session, role, allowed):
    layer = session.scalar(select(Layer).where(Layer.slug == "t-places"))
    proprete = session.scalar(select(Producer.id).where(Producer.slug == "proprete"))
    layer.producer_id = proprete  # the test agents belong to propreté
    session.flush()
    c = login_as(role)
    get = c.get("/catalogue/t-places/edit")
    post = c.post("/catalogue/t-places/edit", data=_form())
    if allowed:
        assert get.status_code == 200 and post.status_code == 302
        session.expire_all()
        layer = session.scalar(select(Layer).where(Layer.slug == "t-places"))
        assert layer.title == "Nouveau titre" and layer.keywords == ["a", "b"]
        assert "Résumé &lt;b&gt;modifié&lt;/b&gt;" in c.get("/catalogue/t-places").get_data(as_text=True)
    else:
        assert get.status_code == 403 and post.status_code == 403


def test_agent_of_another_producer_cannot_edit(login_as):
    c = login_as("agent")  # propreté; t-areas belongs to sig
    assert c.post("/catalogue/t-areas/edit", data=_form()).status_code == 403


def test_anonymous_is_sent_to_login(client):
    resp = client.post("/catalogue/t-places/edit", data=_form())
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_edit_requires_csrf(app, login_as):
    app.config["WTF_CSRF_ENABLED"] = True
    c = login_as("admin")
    resp = c.post("/catalogue/t-places/edit", data=_form())
    assert resp.status_code == 400


def test_touch_bumps_data_version(connection, session):
    before = connection.execute(text("SELECT data_version FROM layers WHERE slug = 't-places'")).scalar_one()
    # t-places and t-bancs, and t-secret: its view (layertest.fountains) selects from the table.
    assert touch(connection, "layertest.places") == 3
    after = connection.execute(text("SELECT data_version FROM layers WHERE slug = 't-places'")).scalar_one()
    assert after == before + 1
    assert touch(connection, "nothing_here") == 0


def test_seed_core_layers(connection, session):
    assert seed_layers(connection) == 6
    assert seed_layers(connection) == 6  # idempotent
    rows = dict(connection.execute(text(
        "SELECT slug, licence FROM layers WHERE slug IN ('quartiers', 'zones-prioritaires', 'signalements', "
        "'etablissements', 'fond-de-plan', 'achats-a-venir')")).all())
    assert rows == {"quartiers": "ODbL 1.0", "zones-prioritaires": "Licence Ouverte 2.0",
                    "signalements": "ODbL 1.0", "etablissements": "Licence Ouverte 2.0", "fond-de-plan": "ODbL 1.0",
                    "achats-a-venir": "Licence Ouverte 2.0"}


def test_seed_refuses_unknown_tables(tmp_path, connection):
    bad = tmp_path / "bad.yml"
    bad.write_text("- {slug: x, title: X, producer: sig, source_table: \"quartiers; drop table users\"}\n")
    with pytest.raises(InvalidInput, match="invalid table name"):
        seed_layers(connection, bad)
    bad.write_text("- {slug: x, title: X, producer: sig, source_table: incident_categories}\n")
    with pytest.raises(InvalidInput, match="needs an 'id' and a 'geom'"):
        seed_layers(connection, bad)


def test_seeded_layers_served_at_once(client, connection):
    seed_layers(connection)
    ids = {c["id"] for c in client.get("/ogc/collections").get_json()["collections"]}
    assert {"quartiers", "zones-prioritaires", "signalements", "etablissements"} <= ids
    assert client.get("/ogc/collections/signalements/items").status_code == 200
    assert client.get("/catalogue/quartiers").status_code == 200


def test_odd_column_names_are_not_exposed(connection):
    from layers.sources import describe

    connection.execute(text('CREATE TABLE layertest.odd (id integer PRIMARY KEY, "a:b" text, "x\'y" text, ok text, '
                            "geom geometry(Point, 2154))"))
    source = describe(connection, "layertest.odd")
    assert list(source.columns) == ["ok"] and source.geometry_type == "POINT"
    with pytest.raises(InvalidInput, match="unknown property"):
        source.column("a:b")
