"""Moderation of citizens' texts and photos: the queue, decisions, rights, audit, automatic publication."""
import datetime as dt

import pytest
from PIL import Image
from sqlalchemy import select, text

from incidents import moderation, reports, workflow
from incidents.reports import NewReport
from ova.errors import Forbidden, InvalidInput
from ova.models import AuditEntry, Incident, IncidentReport, Producer, TextModeration

INSIDE = (48.8530, 2.3499)
NAMED = "Mon voisin Jean Dupont 06 12 34 56 78 jette ses poubelles"


def _report(session, description=NAMED, **kw):
    return reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                    description=description, **kw), **({}))


def _public(session, incident_id):
    return session.execute(text("SELECT description, description_state FROM public_incidents WHERE id = :id"),
                           {"id": incident_id}).one()


def test_a_new_report_waits_with_its_findings(session, territory):
    incident = _report(session).incident
    row = session.scalar(select(TextModeration).where(TextModeration.incident_id == incident.id))
    assert row.decision == "pending" and row.original == NAMED
    assert row.masked == "Mon voisin [nom] [téléphone] jette ses poubelles"
    assert [f["type"] for f in row.findings] == ["PERSON", "PHONE_NUMBER"]
    assert tuple(_public(session, incident.id)) == (None, "pending")
    assert incident.description == NAMED  # the original stays, private


def test_approve_edit_hide_are_audited_without_the_original(session, territory, make_user):
    incident = _report(session).incident
    agent = make_user("agent")
    moderation.decide(session, incident.id, "description", "approve", actor=agent)
    assert tuple(_public(session, incident.id)) == ("Mon voisin [nom] [téléphone] jette ses poubelles", "published")
    with pytest.raises(InvalidInput, match="obligatoire"):
        moderation.decide(session, incident.id, "description", "edit", actor=agent, text="Poubelles sur le trottoir")
    moderation.decide(session, incident.id, "description", "edit", actor=agent, text="Poubelles sur le trottoir",
                      reason="texte plus court")
    assert _public(session, incident.id).description == "Poubelles sur le trottoir"
    moderation.decide(session, incident.id, "description", "hide", actor=agent, reason="injurieux")
    assert tuple(_public(session, incident.id)) == (None, "hidden")
    row = session.scalar(select(TextModeration).where(TextModeration.incident_id == incident.id))
    assert row.original == NAMED and row.decision == "hidden" and row.reason == "injurieux"
    entries = session.scalars(select(AuditEntry).where(AuditEntry.table_name == "text_moderations")
                              .order_by(AuditEntry.id)).all()
    assert [e.after["decision"] for e in entries] == ["approved", "edited", "hidden"]
    assert all(e.actor_id == agent.id for e in entries)
    assert not any("Dupont" in str(e.before) + str(e.after) for e in entries)


def test_only_the_responsible_service_moderates(session, territory, make_user, voirie):
    incident = _report(session).incident
    other = make_user("agent")
    other.producer_id = voirie.id
    session.flush()
    for actor in (other, make_user("citizen"), make_user("urbaniste")):
        with pytest.raises(Forbidden):
            moderation.decide(session, incident.id, "description", "approve", actor=actor)
    moderation.decide(session, incident.id, "description", "approve", actor=make_user("admin"))


def test_automatic_publication_per_category_when_nothing_is_found(session, territory, make_user):
    agent = make_user("agent")
    producer_id = _report(session, "Tag").incident.producer_id
    assert producer_id == agent.producer_id
    moderation.set_auto_categories(session, producer_id, {"graffiti"}, actor=agent)
    clean = _report(session, "Tag sur le mur de l'école").incident
    assert tuple(_public(session, clean.id)) == ("Tag sur le mur de l'école", "published")
    assert session.scalar(select(TextModeration.decision).where(TextModeration.incident_id == clean.id)) == "auto"
    named = _report(session).incident
    assert tuple(_public(session, named.id)) == (None, "pending")  # something found: a moderator decides
    other_category = reports.create_report(session, NewReport(category="depot-sauvage", lat=INSIDE[0], lon=INSIDE[1],
                                                             description="Cartons")).incident
    assert _public(session, other_category.id).description_state == "pending"
    with pytest.raises(InvalidInput, match="catégorie inconnue"):
        moderation.set_auto_categories(session, producer_id, {"licorne"}, actor=agent)
    assert session.scalar(select(AuditEntry).where(AuditEntry.table_name == "auto_publications")) is not None


def test_queue_lists_texts_comments_photos_and_etl_rows(session, territory, make_user, make_image, photo_dir):
    agent = make_user("agent")
    created = reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                       description=NAMED, photo=make_image("JPEG")), photo_dir=photo_dir)
    loaded = session.execute(text(
        "INSERT INTO incidents (source, external_id, category, description, reported_at, status, producer_id, geom) "
        "VALUES ('etl', 'x1', 'graffiti', 'Appeler Mme Durand au 0612345678', now(), 'new', :p, "
        "ST_SetSRID(ST_MakePoint(651500, 6862500), 2154)) RETURNING id"), {"p": agent.producer_id}).scalar_one()
    queue = moderation.queue(session, agent.producer_id)
    assert {(r["incident_id"], r["field"]) for r in queue} >= {(created.incident.id, "description"),
                                                              (created.incident.id, "photo"), (loaded, "description")}
    etl_row = next(r for r in queue if r["incident_id"] == loaded)
    assert etl_row["findings"] == -1  # not checked yet
    item = moderation.item(session, loaded, actor=agent)
    assert item["masked"] == "Appeler Mme [nom] au [téléphone]"
    assert ("Durand", "PERSON") in item["pieces"]


def test_the_reporters_comment_is_moderated(session, territory, make_user):
    agent = make_user("admin")
    created = _report(session, "Tag")
    workflow.change_status(session, created.incident.id, "acknowledged", actor=agent)
    workflow.change_status(session, created.incident.id, "in_progress", actor=agent)
    workflow.change_status(session, created.incident.id, "resolved", actor=agent, note="Nettoyé")
    workflow.answer_resolution(session, created.incident.id, confirmed=False, comment="Toujours là, appelez le 0612345678",
                               token=created.token)
    report = session.get(IncidentReport, created.incident.id)
    assert report.public_comment is None
    moderation.decide(session, created.incident.id, "confirmation_comment", "approve", actor=agent)
    assert report.public_comment == "Toujours là, appelez le [téléphone]"


def test_agents_public_notes_are_masked(session, territory, make_user):
    created = _report(session, "Tag")
    workflow.change_status(session, created.incident.id, "rejected", actor=make_user("admin"),
                           note="Voir avec M. Lefèvre au 06 11 22 33 44")
    note = session.scalar(text("SELECT note FROM incident_events WHERE incident_id = :id AND to_status = 'rejected'"),
                          {"id": created.incident.id})
    assert note == "Voir avec M. [nom] au [téléphone]"


def test_blur_keeps_the_original_for_the_service(session, territory, make_user, photo_dir):
    image = Image.new("RGB", (100, 80), (255, 255, 255))
    for x in range(10, 40):
        for y in range(10, 30):
            image.putpixel((x, y), (0, 0, 0) if (x + y) % 2 else (255, 255, 255))
    import io

    out = io.BytesIO()
    image.save(out, "PNG")
    created = reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                       description="Tag", photo=out.getvalue()), photo_dir=photo_dir)
    agent = make_user("agent")
    original = created.photo_path
    with pytest.raises(InvalidInput, match="zone à flouter"):
        moderation.blur_photo(session, created.incident.id, (0.5, 0.5, 0.9, 0.2), actor=agent, photo_dir=photo_dir)
    new_path = moderation.blur_photo(session, created.incident.id, (0.1, 0.1, 0.3, 0.25), actor=agent,
                                     photo_dir=photo_dir)
    report = session.get(IncidentReport, created.incident.id)
    assert report.photo_path == new_path and report.photo_original_path == original
    assert (photo_dir / original).exists()
    with Image.open(photo_dir / new_path) as blurred:
        patch = [blurred.getpixel((x, y)) for x in range(12, 38) for y in range(12, 28)]
        outside = blurred.getpixel((80, 70))
    # The checkerboard is gone (no pure black or white pixels left in the region); outside unchanged.
    assert not any(p[:3] in ((0, 0, 0), (255, 255, 255)) for p in patch)
    assert outside[:3] == (255, 255, 255)
    assert report.photo_state == "pending"  # blurring is no publication
    moderation.decide_photo(session, created.incident.id, True, actor=agent)
    assert report.photo_state == "published"
    with pytest.raises(InvalidInput):
        moderation.decide_photo(session, created.incident.id, False, actor=agent)  # hiding needs a reason


def test_a_moderated_description_bumps_the_public_layer(session, territory, make_user):
    producer_id = session.scalar(select(Producer.id).where(Producer.slug == "proprete"))
    session.execute(text("INSERT INTO layers (slug, title, producer_id, source_table, licence) "
                         "VALUES ('t-sig', 'S', :p, 'public_incidents', 'ODbL 1.0')"), {"p": producer_id})
    version = session.scalar(text("SELECT data_version FROM layers WHERE slug = 't-sig'"))
    incident = _report(session).incident
    moderation.decide(session, incident.id, "description", "approve", actor=make_user("admin"))
    assert session.scalar(text("SELECT data_version FROM layers WHERE slug = 't-sig'")) > version
    assert session.get(Incident, incident.id).updated_at <= dt.datetime.now(dt.timezone.utc)
