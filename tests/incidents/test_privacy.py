"""GDPR duties: retention purge, a data subject's export and erasure by e-mail address (domain and commands)."""
import json

from sqlalchemy import select, text

from incidents import moderation, privacy, reports, workflow
from incidents.reports import NewReport
from ova.models import AuditEntry, Incident, IncidentReport, TextModeration

INSIDE = (48.8530, 2.3499)
NAMED = "Mon voisin Jean Dupont 06 12 34 56 78 jette ses poubelles"


def _closed_report(session, admin, photo_dir, make_image, email="moi@example.org", closed_days_ago=400):
    created = reports.create_report(session, NewReport(category="graffiti", lat=INSIDE[0], lon=INSIDE[1],
                                                       description=NAMED, email=email, photo=make_image("JPEG")),
                                    photo_dir=photo_dir)
    incident_id = created.incident.id
    moderation.decide(session, incident_id, "description", "approve", actor=admin)
    moderation.blur_photo(session, incident_id, (0.1, 0.1, 0.2, 0.2), actor=admin, photo_dir=photo_dir)
    moderation.decide_photo(session, incident_id, True, actor=admin)
    workflow.change_status(session, incident_id, "rejected", actor=admin, note="Doublon")
    session.execute(text("UPDATE incident_events SET at = now() - make_interval(days => :d) "
                         "WHERE incident_id = :id AND to_status = 'rejected'"), {"d": closed_days_ago, "id": incident_id})
    return created


def test_purge_deletes_personal_data_of_long_closed_reports_only(session, territory, make_user, photo_dir, make_image):
    admin = make_user("admin")
    old = _closed_report(session, admin, photo_dir, make_image)
    recent = _closed_report(session, admin, photo_dir, make_image, email="recent@example.org", closed_days_ago=10)
    old_report = session.get(IncidentReport, old.incident.id)
    original_photo, public_photo = old_report.photo_original_path, old_report.photo_path
    counts = privacy.purge(session, months=12, photo_dir=photo_dir)
    assert counts["reports"] == 1 and counts["photos"] == 1
    session.expire_all()
    old_report = session.get(IncidentReport, old.incident.id)
    assert old_report.email is None and old_report.client_hash is None and old_report.photo_original_path is None
    assert old_report.photo_path == public_photo and (photo_dir / public_photo).exists()
    assert not (photo_dir / original_photo).exists()
    incident = session.get(Incident, old.incident.id)
    assert incident.description == incident.public_description == "Mon voisin [nom] [téléphone] jette ses poubelles"
    assert session.scalar(select(TextModeration.original).where(TextModeration.incident_id == old.incident.id)) is None
    # The recent one is untouched; a second purge finds nothing more.
    assert session.get(IncidentReport, recent.incident.id).email == "recent@example.org"
    assert session.get(Incident, recent.incident.id).description == NAMED
    again = privacy.purge(session, months=12, photo_dir=photo_dir)
    assert again["reports"] == 0 and again["texts"] == 0
    entry = session.scalar(select(AuditEntry).where(AuditEntry.table_name == "privacy", AuditEntry.row_id == "purge"))
    assert entry.after["reports"] == 1


def test_export_then_erase_by_email(session, territory, make_user, photo_dir, make_image):
    admin = make_user("admin")
    created = _closed_report(session, admin, photo_dir, make_image, email="Sujet@Example.org", closed_days_ago=1)
    session.execute(text("INSERT INTO subscriptions (token, email, kind, category, confirmed_at) "
                         "VALUES ('gdpr-sub', 'sujet@example.org', 'category', 'graffiti', now())"))
    data = privacy.export(session, "sujet@example.org ")
    assert [r["incident_id"] for r in data["reports"]] == [created.incident.id]
    assert data["reports"][0]["description_original"] == NAMED
    assert {s["kind"] for s in data["subscriptions"]} == {"incident", "category"} and data["messages"]
    json.dumps(data)  # plain JSON
    counts = privacy.erase(session, "sujet@example.org", photo_dir=photo_dir)
    assert counts["reports"] == 1 and counts["subscriptions"] == 2 and counts["messages"] >= 1
    session.expire_all()
    assert session.get(IncidentReport, created.incident.id).email is None
    assert session.get(Incident, created.incident.id).description == "Mon voisin [nom] [téléphone] jette ses poubelles"
    after = privacy.export(session, "sujet@example.org")
    assert after["reports"] == [] and after["subscriptions"] == [] and after["messages"] == []
    logged = session.scalars(select(AuditEntry).where(AuditEntry.table_name == "privacy")).all()
    assert {e.action for e in logged} == {"create", "delete"}
    assert all(e.row_id == privacy.email_digest("sujet@example.org") for e in logged)
    assert not any("sujet@example.org" in json.dumps([e.before, e.after]) for e in logged)


def test_commands(runner, session, territory, make_user, photo_dir, make_image, app, tmp_path):
    app.config["PHOTO_DIR"] = str(photo_dir)
    _closed_report(session, make_user("admin"), photo_dir, make_image, email="cli@example.org")
    result = runner.invoke(args=["privacy", "export", "--email", "cli@example.org"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["reports"][0]["email"] == "cli@example.org"
    out = tmp_path / "export.json"
    assert runner.invoke(args=["privacy", "export", "--email", "cli@example.org", "--output", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["email"] == "cli@example.org"
    result = runner.invoke(args=["privacy", "purge", "--months", "12"])
    assert result.exit_code == 0 and "reports 1" in result.output, result.output
    result = runner.invoke(args=["privacy", "erase", "--email", "cli@example.org", "--yes"])
    assert result.exit_code == 0 and "erased" in result.output, result.output
    assert runner.invoke(args=["privacy", "purge", "--months", "0"]).exit_code != 0
