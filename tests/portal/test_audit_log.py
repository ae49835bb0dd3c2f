"""Audit log: every change to incidents (status), layers (edit, publish) and users (creation) is
recorded with who, when, and the row before/after; admins read it at /admin/audit."""
import datetime as dt
import decimal

import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import select, text

from layers.publish import publish
from ova import audit
from ova.models import AuditEntry
from portal.auth.services import create_user
from incidents import workflow


@pytest.fixture(autouse=True)
def empty_log(connection):
    """Start from an empty log (browser tests commit changes, hence entries; rolled back after)."""
    connection.execute(text("DELETE FROM audit_log"))

#: The metadata a new layer needs (keywords, theme, contact).
META = {"keywords": ["test"], "theme": "Environnement", "contact": "sig@ville.example"}


def _entries(session, table=None):
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if table:
        stmt = stmt.where(AuditEntry.table_name == table)
    return session.scalars(stmt).all()


@pytest.fixture
def layer(connection):
    return connection.scalar(text(
        "INSERT INTO layers (slug, title, producer_id, source_table, licence) VALUES "
        "('audit-layer', 'Avant', (SELECT id FROM producers WHERE slug = 'proprete'), 'incidents', 'ODbL') "
        "RETURNING id"))


@pytest.fixture
def incident(connection, producer):
    return connection.scalar(text(
        "INSERT INTO incidents (source, external_id, category, reported_at, producer_id, geom) VALUES "
        "('test', 'audit', 'graffiti', now(), :p, ST_SetSRID(ST_MakePoint(651500, 6862500), 2154)) RETURNING id"),
        {"p": producer.id})


# --- the service -----------------------------------------------------------------------------

def test_record_keeps_json_values_and_never_secrets(session):
    audit.record(session, None, "users", 7, "update",
                 {"name": "A", "password_hash": "scrypt:xyz", "at": dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)},
                 {"name": "B", "password_hash": "scrypt:abc", "n": decimal.Decimal("1.5"), "tags": ("a",)})
    entry = _entries(session)[-1]
    assert (entry.table_name, entry.row_id, entry.action, entry.actor_id) == ("users", "7", "update", None)
    assert entry.before == {"name": "A", "at": "2026-01-02T00:00:00+00:00"}
    assert entry.after == {"name": "B", "n": 1.5, "tags": ["a"]}
    assert entry.at is not None
    assert audit.diff(entry.before, entry.after) == [
        ("at", "2026-01-02T00:00:00+00:00", None), ("n", None, 1.5), ("name", "A", "B"), ("tags", None, ["a"])]


@pytest.mark.parametrize("table, action", [("users; drop table x", "create"), ("users", "truncate")])
def test_record_refuses_bad_table_or_action(session, table, action):
    with pytest.raises(ValueError):
        audit.record(session, None, table, 1, action)


# --- call sites --------------------------------------------------------------------------------

def test_status_change_is_logged_with_before_and_after(session, incident, make_user):
    agent = make_user("agent")
    workflow.change_status(session, incident, "acknowledged", actor=agent, note="vu")
    (entry,) = _entries(session, "incidents")
    assert (entry.actor_id, entry.row_id, entry.action) == (agent.id, str(incident), "update")
    assert entry.before["status"] == "new" and entry.before["acknowledged_at"] is None
    assert entry.after["status"] == "acknowledged" and entry.after["acknowledged_at"] and entry.after["note"] == "vu"


def test_refused_status_change_leaves_no_entry(session, incident, make_user):
    with pytest.raises(Exception):
        workflow.change_status(session, incident, "acknowledged", actor=make_user("citizen"))
    assert _entries(session, "incidents") == []


def test_user_creation_is_logged_without_the_password_hash(session, make_user):
    admin = make_user("admin")
    user = create_user(session, email="New@Example.org", name="Nouvelle", password="long enough",
                       role="urbaniste", actor_id=admin.id)
    (entry,) = _entries(session, "users")
    assert (entry.actor_id, entry.row_id, entry.action, entry.before) == (admin.id, str(user.id), "create", None)
    assert entry.after["email"] == "new@example.org" and entry.after["role"] == "urbaniste"
    assert "password_hash" not in entry.after


def test_catalogue_edit_is_logged(login_as, session, layer):
    client = login_as("agent")
    response = client.post("/catalogue/audit-layer/edit", data={
        "title": "Après", "licence": "Licence Ouverte 2.0", "keywords": "a, b", "published": "y"})
    assert response.status_code == 302
    (entry,) = _entries(session, "layers")
    assert (entry.row_id, entry.action) == (str(layer), "update")
    assert entry.actor_id is not None
    assert (entry.before["title"], entry.after["title"]) == ("Avant", "Après")
    assert entry.after["keywords"] == ["a", "b"]


def test_publishing_a_layer_is_logged(connection, session, tmp_path, make_user):
    agent = make_user("agent")
    path = tmp_path / "bancs.geojson"
    gpd.GeoDataFrame({"nom": ["a", "b"]}, geometry=[Point(2.30, 48.83), Point(2.31, 48.83)],
                     crs="EPSG:4326").to_file(path, driver="GeoJSON")
    publish(connection, path, producer="espaces-verts", title="Bancs audit", user_id=agent.id, **META)
    publish(connection, path, producer="espaces-verts", slug="bancs-audit", user_id=agent.id)
    created, updated = _entries(session, "layers")
    assert (created.action, created.before, created.actor_id) == ("create", None, agent.id)
    assert created.after["slug"] == "bancs-audit" and created.after["data_version"] == 1
    assert updated.action == "update" and updated.row_id == created.row_id
    assert (updated.before["data_version"], updated.after["data_version"]) == (1, 2)


# --- the admin page ----------------------------------------------------------------------------

def test_admin_page_lists_filters_and_pages(login_as, session):
    for n in range(audit.PER_PAGE + 5):
        audit.record(session, None, "layers", n, "update", {"title": f"t{n}"}, {"title": f"t{n}!"})
    audit.record(session, None, "users", 1, "create", None, {"name": "<script>alert(1)</script>"})
    client = login_as("admin")
    first = client.get("/admin/audit")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "alert(1)" in html  # escaped
    assert html.count("<tr>") == audit.PER_PAGE + 1  # header row + one page
    layers_only = client.get("/admin/audit?table=layers&page=2").get_data(as_text=True)
    assert layers_only.count("<tr>") == 1 + 5 and "alert(1)" not in layers_only
    assert client.get("/admin/audit?table=pg_authid").status_code == 400
    assert client.get("/admin/audit?page=0").status_code == 400
    assert client.get("/admin/audit?page=x").status_code == 400


@pytest.mark.parametrize("role", ["citizen", "agent", "urbaniste", "banque", "commercant"])
def test_admin_page_is_for_admins_only(login_as, role):
    assert login_as(role).get("/admin/audit").status_code == 403


def test_admin_page_asks_anonymous_to_log_in(client):
    response = client.get("/admin/audit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
