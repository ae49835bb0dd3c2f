"""The incidents domain package (no Flask): creation, routing, deadlines, workflow per role, follow-up."""
import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import func, select, text

from ova.errors import Conflict, Forbidden, InvalidInput
from ova.models import Incident, IncidentEvent, IncidentReport, Producer
from incidents import queries, reports, workflow
from incidents.reports import NewReport
from ova import ratelimit
from ova.errors import RateLimited

INSIDE = (48.8530, 2.3499)
FAR = (43.2965, 5.3698)


def _report(**kw):
    values = {"category": "graffiti", "lat": INSIDE[0], "lon": INSIDE[1], "description": "Tag sur le mur"}
    values.update(kw)
    return NewReport(**values)


def _count(session, model=Incident):
    return session.scalar(select(func.count()).select_from(model))


def test_report_is_stored_routed_placed_and_gets_a_deadline(session, territory, graffiti_norm, producer):
    created = reports.create_report(session, _report(email="Moi@Example.org"))
    incident = created.incident
    assert incident.status == "new"
    assert incident.quartier_id == territory
    assert incident.producer_id == producer.id  # default producer of "graffiti": propreté
    assert incident.norm_id == graffiti_norm
    assert incident.expected_at == incident.reported_at + dt.timedelta(hours=72)
    report = session.get(IncidentReport, incident.id)
    assert report.email == "moi@example.org"
    assert report.token_hash != created.token and len(report.token_hash) == 64
    events = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)).all()
    assert [(e.from_status, e.to_status) for e in events] == [(None, "new")]


def test_no_norm_means_no_deadline(session, territory):
    incident = reports.create_report(session, _report(category="eclairage")).incident
    assert incident.expected_at is None and incident.norm_id is None


def test_quartier_norm_is_stricter_than_the_territory_norm(session, connection, territory, graffiti_norm):
    connection.execute(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, quartier_id, category_codes, "
        "delay_value, valid_from) VALUES ('graffiti-cite-24h', 'EP2', 'x', 'x', 'response_delay', 'quartier', "
        ":q, ARRAY['graffiti'], 24, '2020-01-01')"), {"q": territory})
    incident = reports.create_report(session, _report()).incident
    assert incident.expected_at - incident.reported_at == dt.timedelta(hours=24)


def test_priority_zone_norm_applies_inside_the_zone_only(session, connection, territory, graffiti_norm):
    zone = connection.scalar(text(
        "INSERT INTO priority_zones (code, name, quartier_id, valid_from, status, geom) VALUES ('ZCP-CITE', "
        "'Cité commerçante', :q, '2020-01-01', 'approved', "
        "ST_Multi(ST_Transform(ST_MakeEnvelope(2.345, 48.85, 2.355, 48.856, 4326), 2154))) RETURNING id"),
        {"q": territory})
    connection.execute(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, category_codes, delay_value, "
        "valid_from) VALUES ('graffiti-zcp-48h', 'EP2', 'x', 'x', 'response_delay', 'priority_zones', "
        "ARRAY['graffiti'], 48, '2020-01-01')"))
    inside = reports.create_report(session, _report()).incident
    outside = reports.create_report(session, _report(lat=48.845, lon=2.335)).incident
    other_category = reports.create_report(session, _report(category="encombrants")).incident
    assert inside.zone_id == zone and outside.zone_id is None
    assert inside.expected_at - inside.reported_at == dt.timedelta(hours=48)
    assert outside.expected_at - outside.reported_at == dt.timedelta(hours=72)
    assert other_category.expected_at is None


def test_competence_area_overrides_the_default_producer(session, connection, territory, voirie):
    connection.execute(text(
        "UPDATE producers SET competence_area = "
        "ST_Multi(ST_Transform(ST_MakeEnvelope(2.34, 48.85, 2.36, 48.86, 4326), 2154)) "
        "WHERE slug = 'police-municipale'"))
    connection.execute(text(
        "UPDATE producers SET competence_area = "
        "ST_Multi(ST_Transform(ST_MakeEnvelope(2.345, 48.85, 2.355, 48.856, 4326), 2154)) "
        "WHERE slug = 'proprete'"))
    police = session.scalar(select(Producer.id).where(Producer.slug == "police-municipale"))
    proprete = session.scalar(select(Producer.id).where(Producer.slug == "proprete"))
    # Graffiti (EP2, handled by propreté): the area of a service handling the tâche wins.
    assert reports.create_report(session, _report()).incident.producer_id == proprete
    # Voirie has no competence area here: the smallest area containing the point is chosen.
    assert reports.create_report(session, _report(category="voirie")).incident.producer_id == proprete
    # Outside every competence area: the category's default producer.
    far_in_territory = reports.create_report(session, _report(category="voirie", lat=48.845, lon=2.335))
    assert far_in_territory.incident.producer_id == voirie.id
    assert police is not None


@pytest.mark.parametrize("changes,message", [
    ({"lat": None}, "latitude manquante"),
    ({"lon": ""}, "longitude manquante"),
    ({"lat": "abc"}, "latitude : un nombre de degrés"),
    ({"lat": 123}, "hors de l'intervalle"),
    ({"lat": FAR[0], "lon": FAR[1]}, "en dehors des quartiers du territoire"),
    ({"category": "licorne"}, "catégorie inconnue"),
    ({"description": "x" * 4001}, "description : trop long"),
    ({"email": "pas-une-adresse"}, "adresse électronique n'est pas valide"),
    ({"photo": b"not an image at all"}, "pas une image JPEG ou PNG lisible"),
    ({"photo": b"\xff" * (5 * 1024 * 1024 + 1)}, "trop lourde"),
])
def test_bad_reports_are_refused_and_nothing_is_stored(session, territory, photo_dir, changes, message):
    before = _count(session)
    with pytest.raises(InvalidInput, match=message):
        reports.create_report(session, _report(**changes), photo_dir=photo_dir)
    assert _count(session) == before
    assert not photo_dir.exists()


def test_gif_photo_is_refused(session, territory, photo_dir):
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(InvalidInput, match="JPEG ou PNG, pas GIF"):
        reports.create_report(session, _report(photo=out.getvalue()), photo_dir=photo_dir)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_photo_is_reencoded_without_exif(session, territory, photo_dir, make_image, fmt):
    original = make_image(fmt)
    if fmt == "JPEG":
        assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the fixture has GPS
    created = reports.create_report(session, _report(photo=original), photo_dir=photo_dir)
    stored = (photo_dir / created.photo_path).read_bytes()
    image = Image.open(io.BytesIO(stored))
    assert image.format == fmt
    assert len(image.getexif()) == 0
    assert b"TestCam" not in stored
    assert session.get(IncidentReport, created.incident.id).photo_path == created.photo_path


def test_html_in_the_description_is_stored_as_typed(session, territory):
    created = reports.create_report(session, _report(description="<script>alert(1)</script>"))
    assert created.incident.description == "<script>alert(1)</script>"


def test_rate_limit_per_client(session, territory):
    key = ratelimit.client_hash("secret", "203.0.113.9")
    assert key != "203.0.113.9"
    for _ in range(2):
        reports.create_report(session, _report(client_key=key), rate_limit=2)
    with pytest.raises(RateLimited, match="trop de signalements"):
        reports.create_report(session, _report(client_key=key), rate_limit=2)
    # Another client is not affected.
    reports.create_report(session, _report(client_key=ratelimit.client_hash("secret", "198.51.100.1")),
                           rate_limit=2)


def test_duplicates_are_open_same_category_within_50_m(session, territory):
    first = reports.create_report(session, _report()).incident
    other_category = reports.create_report(session, _report(category="proprete")).incident
    # About 110 m north: too far.
    reports.create_report(session, _report(lat=INSIDE[0] + 0.001))
    near = queries.find_duplicates(session, "graffiti", INSIDE[0] + 0.0002, INSIDE[1])
    assert [d["id"] for d in near] == [first.id]
    assert near[0]["distance_m"] <= 50
    assert other_category.id not in [d["id"] for d in near]


# --- workflow per role -------------------------------------------------------------------------

@pytest.fixture
def incident(session, territory):
    return reports.create_report(session, _report()).incident


@pytest.fixture
def other_agent(session, voirie):
    from ova.models import User

    user = User(email="agent-voirie@example.org", name="Agent voirie", role="agent", password_hash="x",
                producer_id=voirie.id)
    session.add(user)
    session.flush()
    return user


def test_agent_of_the_service_walks_the_whole_workflow(session, incident, make_user):
    agent = make_user("agent")
    for status in ("acknowledged", "in_progress", "resolved"):
        workflow.change_status(session, incident.id, status, actor=agent, note=f"étape {status}")
    session.refresh(incident)
    assert incident.status == "resolved"
    assert incident.acknowledged_at is not None and incident.resolved_at is not None
    events = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                             .order_by(IncidentEvent.id)).all()
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "new"), ("new", "acknowledged"), ("acknowledged", "in_progress"), ("in_progress", "resolved")]
    assert all(e.author_id == agent.id for e in events[1:])
    assert all(e.at is not None for e in events)


@pytest.mark.parametrize("role", ["citizen", "commercant", "urbaniste", "banque"])
def test_other_roles_cannot_change_status(session, incident, make_user, role):
    with pytest.raises(Forbidden):
        workflow.change_status(session, incident.id, "acknowledged", actor=make_user(role))
    session.refresh(incident)
    assert incident.status == "new"


def test_agent_of_another_service_cannot_change_status(session, incident, other_agent):
    with pytest.raises(Forbidden, match="un autre service"):
        workflow.change_status(session, incident.id, "acknowledged", actor=other_agent)


def test_admin_can_change_any_status(session, incident, make_user):
    workflow.change_status(session, incident.id, "acknowledged", actor=make_user("admin"))
    assert incident.status == "acknowledged"


@pytest.mark.parametrize("path,target", [
    ((), "in_progress"), ((), "resolved"), (("acknowledged",), "resolved"), (("acknowledged",), "new"),
    (("acknowledged", "in_progress", "resolved"), "acknowledged"),
    (("rejected",), "acknowledged"),
])
def test_forbidden_transitions(session, incident, make_user, path, target):
    agent = make_user("agent")
    for status in path:
        workflow.change_status(session, incident.id, status, actor=agent, note="raison")
    with pytest.raises(Conflict, match="ne peut pas passer de"):
        workflow.change_status(session, incident.id, target, actor=agent, note="raison")


def test_rejection_needs_a_reason(session, incident, make_user):
    agent = make_user("agent")
    with pytest.raises(InvalidInput, match="une note est obligatoire"):
        workflow.change_status(session, incident.id, "rejected", actor=agent, note="  ")
    workflow.change_status(session, incident.id, "rejected", actor=agent, note="Domaine privé")
    assert incident.status == "rejected" and incident.resolved_at is None


def test_bulk_change_is_all_or_nothing(session, territory, make_user, other_agent):
    agent = make_user("agent")
    mine = reports.create_report(session, _report()).incident
    theirs = reports.create_report(session, _report(category="voirie")).incident
    with pytest.raises(Forbidden):
        workflow.change_status(session, [mine.id, theirs.id], "acknowledged", actor=agent)
    session.refresh(mine)
    assert mine.status == "new"


def test_status_change_hooks_run_with_the_ids(session, incident, make_user, monkeypatch):
    calls = []
    monkeypatch.setattr(workflow, "STATUS_CHANGE_HOOKS", [lambda conn, ids: calls.append(list(ids))])
    workflow.change_status(session, [incident.id], "acknowledged", actor=make_user("agent"))
    assert calls == [[incident.id]]


def test_reporter_confirms_or_disputes_a_resolution(session, territory, make_user):
    created = reports.create_report(session, _report())
    agent = make_user("agent")
    with pytest.raises(Conflict, match="seul un signalement résolu"):
        workflow.answer_resolution(session, created.incident.id, confirmed=True, token=created.token)
    for status in ("acknowledged", "in_progress", "resolved"):
        workflow.change_status(session, created.incident.id, status, actor=agent)
    with pytest.raises(Forbidden):
        workflow.answer_resolution(session, created.incident.id, confirmed=True, token="wrong")
    with pytest.raises(InvalidInput, match="commentaire : champ obligatoire"):
        workflow.answer_resolution(session, created.incident.id, confirmed=False, token=created.token)
    report = workflow.answer_resolution(session, created.incident.id, confirmed=False,
                                        comment="Le tag est toujours là", token=created.token)
    assert report.confirmation == "disputed" and report.confirmed_at is not None


def test_public_detail_has_no_personal_data(session, incident, make_user):
    workflow.change_status(session, incident.id, "acknowledged", actor=make_user("agent"), note="vu")
    detail = queries.incident_detail(session, incident.id)
    flat = repr(detail)
    assert "@" not in flat.replace("proprete@ville.example", "")
    assert "Test agent" not in flat
    assert [e["to_status"] for e in detail["events"]] == ["new", "acknowledged"]
    assert detail["events"][1]["author_service"] == "Direction de la propreté et de l'eau"


def test_work_queue_sorted_by_deadline_with_overdue_flag(session, connection, territory, producer, graffiti_norm):
    old = reports.create_report(session, _report(reported_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))).incident
    fresh = reports.create_report(session, _report()).incident
    no_deadline = reports.create_report(session, _report(category="proprete")).incident
    queue = queries.work_queue(session, producer.id)
    assert [r["id"] for r in queue] == [old.id, fresh.id, no_deadline.id]
    assert [r["overdue"] for r in queue] == [True, False, False]


# --- typed address text ------------------------------------------------------------------------

def test_places_from_known_addresses_and_quartiers(session, territory):
    reports.create_report(session, _report(address="12 rue de la Cité, 75004 Paris"))
    reports.create_report(session, _report(address="12 rue de la Cité, 75004 Paris", lat=48.854))
    places = reports.find_places(session, "rue de la cit")
    assert [p["label"] for p in places] == ["12 rue de la Cité, 75004 Paris"]
    assert places[0]["lat"] == pytest.approx(48.854, abs=1e-5)  # the most recent report
    assert [p["kind"] for p in reports.find_places(session, "Cité (test)")] == ["quartier"]
    assert reports.find_places(session, "ab") == []
    assert reports.find_places(session, "100%_") == []  # LIKE wildcards are literal


def test_typed_address_without_a_point_is_located(session, territory):
    reports.create_report(session, _report(address="3 quai aux Fleurs"))
    created = reports.create_report(session, _report(lat=None, lon=None, address="3 QUAI AUX FLEURS"))
    lat = session.scalar(select(func.ST_Y(func.ST_Transform(Incident.geom, 4326)))
                         .where(Incident.id == created.incident.id))
    assert lat == pytest.approx(INSIDE[0], abs=1e-6)
    with pytest.raises(InvalidInput, match="adresse inconnue ou ambiguë"):
        reports.create_report(session, _report(lat=None, lon=None, address="rue inconnue"))


def test_disputed_resolution_shows_in_the_queue_and_can_be_reopened(session, territory, make_user, producer):
    created = reports.create_report(session, _report())
    agent = make_user("agent")
    for status in ("acknowledged", "in_progress", "resolved"):
        workflow.change_status(session, created.incident.id, status, actor=agent)
    assert queries.work_queue(session, producer.id) == []
    workflow.answer_resolution(session, created.incident.id, confirmed=False, comment="Toujours là",
                               token=created.token)
    queue = queries.work_queue(session, producer.id)
    assert [(r["id"], r["disputed"], r["overdue"]) for r in queue] == [(created.incident.id, True, False)]
    with pytest.raises(InvalidInput, match="une note est obligatoire"):
        workflow.change_status(session, created.incident.id, "in_progress", actor=agent)
    workflow.change_status(session, created.incident.id, "in_progress", actor=agent, note="On y retourne")
    assert created.incident.status == "in_progress" and created.incident.resolved_at is None


def test_reports_and_status_changes_invalidate_the_incident_layers(session, territory, make_user):
    """Tiles, downloads and ETags are keyed by the layer's data_version: a report made in the
    portal and every status change must bump it, or maps keep serving the old state."""
    producer_id = session.scalar(select(Producer.id).order_by(Producer.id).limit(1))
    layer_id = session.scalar(text(
        "INSERT INTO layers (slug, title, producer_id, source_table, licence) "
        "VALUES ('t-signalements', 'Signalements (test)', :p, 'incidents', 'ODbL 1.0') RETURNING id"), {"p": producer_id})

    def version():
        return session.scalar(text("SELECT data_version FROM layers WHERE id = :id"), {"id": layer_id})

    before = version()
    incident = reports.create_report(session, _report()).incident
    after_report = version()
    assert after_report > before
    workflow.change_status(session, incident.id, "acknowledged", actor=make_user("admin"))
    assert version() > after_report
