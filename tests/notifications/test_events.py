"""Events → outbox rows, in the transaction of the change (rolled back after each test)."""
import datetime as dt
import json

import pytest
from sqlalchemy import text

from notifications import events, outbox, subscriptions
from notifications.subscriptions import Selection
from norms.publication import due_date, publish_month
from incidents import reports, workflow
from incidents.reports import NewReport
from tests.notifications.conftest import INSIDE
from tests.builders import add_quartier


def _messages(conn, template=None):
    rows = conn.execute(text(
        "SELECT * FROM outbox WHERE (CAST(:t AS text) IS NULL OR template = :t) ORDER BY id"),
        {"t": template}).mappings().all()
    return [dict(r) for r in rows]


def _report(session, **kw):
    values = {"category": "graffiti", "lat": INSIDE[0], "lon": INSIDE[1],
              "description": "Tag <b>injurieux</b> signé Jean Dupont, 06 12 34 56 78",
              "address": "12 rue Privée, chez M. Dupont", "email": "Reporter@Example.org"}
    values.update(kw)
    return reports.create_report(session, NewReport(**values))


def _subscribe(conn, kind, value, email, *, confirmed=True, **kw):
    sub = subscriptions.subscribe(conn, Selection(kind, value), email=email, **kw)
    if confirmed:
        subscriptions.confirm(conn, sub["token"])
    return sub


@pytest.fixture
def agent(make_user):
    return make_user("agent", "agent@example.org")


def test_new_report_messages_reporter_agents_and_subscribers(session, connection, territory, graffiti_norm, agent):
    _subscribe(connection, "quartier", "T-CITE", "voisin@example.org")
    _subscribe(connection, "category", "graffiti", "voisin@example.org")  # same address: one message
    _subscribe(connection, "category", "graffiti", "en@example.org", locale="en")
    _subscribe(connection, "quartier", "T-CITE", "pas.confirme@example.org", confirmed=False)
    connection.execute(text("DELETE FROM outbox"))  # the confirmation messages

    created = _report(session, locale="en")
    by_template = {}
    for m in _messages(connection):
        by_template.setdefault(m["template"], []).append(m)

    accepted, = by_template["report_accepted"]
    assert accepted["recipient"] == "reporter@example.org" and accepted["locale"] == "en"
    assert accepted["key"] == f"report_accepted:{created.incident.id}"
    assert accepted["context"]["follow_up_path"] == f"/incidents/{created.incident.id}/suivi/{created.token}"
    queue, = by_template["queue_new"]
    assert queue["recipient"] == "agent@example.org"
    alerts = sorted(by_template["area_new_report"], key=lambda m: m["recipient"])
    assert [(m["recipient"], m["locale"]) for m in alerts] == [("en@example.org", "en"), ("voisin@example.org", "fr")]
    for message in alerts + [queue]:
        dumped = json.dumps(message["context"])
        # No free text of the citizen, no one else's address.
        assert "Dupont" not in dumped and "injurieux" not in dumped and "Privée" not in dumped
        assert "reporter@example.org" not in dumped
        assert message["context"]["quartier"] == "Cité (test)"
        assert message["context"]["incident_path"] == f"/incidents/{created.incident.id}"


def test_a_rolled_back_report_queues_nothing(session, connection, territory, agent):
    _subscribe(connection, "quartier", "T-CITE", "voisin@example.org")
    before = len(_messages(connection))
    nested = connection.begin_nested()
    _report(session)
    assert len(_messages(connection)) > before
    nested.rollback()
    assert len(_messages(connection)) == before


def test_the_reporter_hears_of_each_step_with_the_reason(session, connection, territory, agent):
    created = _report(session, email="moi@example.org")
    incident_id = created.incident.id
    workflow.change_status(session, incident_id, "acknowledged", actor=agent)
    workflow.change_status(session, incident_id, "in_progress", actor=agent)  # not announced
    workflow.change_status(session, incident_id, "resolved", actor=agent, note="Nettoyé au Kärcher")
    workflow.change_status(session, incident_id, "in_progress", actor=agent, note="Le tag est revenu")
    workflow.change_status(session, incident_id, "rejected", actor=agent, note="Hors domaine <public>")
    statuses = [(m["context"]["to_status"], m["context"]["reopened"], m["context"]["note"])
                for m in _messages(connection, "report_status")]
    assert statuses == [("acknowledged", False, None), ("resolved", False, "Nettoyé au Kärcher"),
                        ("in_progress", True, "Le tag est revenu"), ("rejected", False, "Hors domaine <public>")]
    assert {m["recipient"] for m in _messages(connection, "report_status")} == {"moi@example.org"}


def test_an_unsubscribed_reporter_gets_no_more(session, connection, territory, agent):
    created = _report(session, email="moi@example.org")
    accepted, = _messages(connection, "report_accepted")
    subscriptions.unsubscribe_by_message(connection, accepted["token"])
    workflow.change_status(session, created.incident.id, "acknowledged", actor=agent)
    assert _messages(connection, "report_status") == []


def test_the_reporter_answer_goes_to_the_agents(session, connection, territory, agent):
    created = _report(session, email="moi@example.org")
    workflow.change_status(session, created.incident.id, "acknowledged", actor=agent)
    workflow.change_status(session, created.incident.id, "in_progress", actor=agent)
    workflow.change_status(session, created.incident.id, "resolved", actor=agent, note="fait")
    workflow.answer_resolution(session, created.incident.id, confirmed=False, comment="Toujours là, signé Dupont",
                               token=created.token)
    answer, = _messages(connection, "queue_answer")
    assert answer["recipient"] == "agent@example.org" and answer["context"]["confirmed"] is False
    assert "Dupont" not in json.dumps(answer["context"])


def test_agents_choose_a_daily_digest(session, connection, territory, agent):
    subscriptions.ensure_role_subscriptions(connection)
    subscriptions.set_preference(connection, agent.id, "queue", frequency="daily", producer_id=agent.producer_id)
    _report(session)
    queue, = _messages(connection, "queue_new")
    assert queue["due_at"] == events.next_digest_time()
    subscriptions.set_preference(connection, agent.id, "queue", frequency=None, producer_id=agent.producer_id)
    _report(session, lat=INSIDE[0] + 0.001)
    assert len(_messages(connection, "queue_new")) == 1


def test_next_digest_time_is_seven_in_the_territory():
    # 06:30 Paris time (winter: UTC+1) → 07:00 the same day; 07:30 → 07:00 the next day.
    assert events.next_digest_time(dt.datetime(2026, 1, 5, 5, 30, tzinfo=dt.timezone.utc)) == \
        dt.datetime(2026, 1, 5, 6, 0, tzinfo=dt.timezone.utc)
    assert events.next_digest_time(dt.datetime(2026, 1, 5, 6, 30, tzinfo=dt.timezone.utc)) == \
        dt.datetime(2026, 1, 6, 6, 0, tzinfo=dt.timezone.utc)


def test_overdue_reports_are_announced_once(session, connection, territory, agent):
    created = _report(session)
    connection.execute(text("UPDATE incidents SET expected_at = now() - interval '1 hour' WHERE id = :id"),
                       {"id": created.incident.id})
    assert events.scan(connection)["overdue"] == 1
    assert events.scan(connection)["overdue"] == 0
    overdue, = _messages(connection, "queue_overdue")
    assert overdue["recipient"] == "agent@example.org"
    # A backlog older than the look-back is not announced (no flood on a first run).
    connection.execute(text("UPDATE incidents SET expected_at = now() - interval '30 days' WHERE id = :id"),
                       {"id": created.incident.id})
    assert events.scan(connection)["overdue"] == 0


def test_publication_reminder_then_overdue_notice(connection, make_user, graffiti_norm):
    make_user("urbaniste", "urba@example.org")
    make_user("citizen", "citoyen@example.org")
    quartier = add_quartier(connection, "QP", "Publication-Test")
    connection.execute(text(
        "INSERT INTO compliance_results (norm_id, quartier_id, month, cases, compliant, rate, open_overdue, status) "
        "VALUES (:n, :q, '2026-11-01', 10, 5, 0.5, 0, 'not_met')"), {"n": graffiti_norm, "q": quartier})
    paris = dt.timezone(dt.timedelta(hours=1))
    assert events.scan(connection, now=dt.datetime(2026, 12, 1, 12, tzinfo=paris), publication_due=due_date) == \
        {"overdue": 0, "publication": 0}
    assert events.scan(connection, now=dt.datetime(2026, 12, 3, 12, tzinfo=paris),
                       publication_due=due_date)["publication"] == 1
    assert events.scan(connection, now=dt.datetime(2026, 12, 4, 12, tzinfo=paris),
                       publication_due=due_date)["publication"] == 0  # once
    assert events.scan(connection, now=dt.datetime(2026, 12, 6, 9, tzinfo=paris),
                       publication_due=due_date)["publication"] == 1
    messages = _messages(connection, "publication_due")
    assert [(m["recipient"], m["context"]["overdue"]) for m in messages] == \
        [("urba@example.org", False), ("urba@example.org", True)]
    assert messages[0]["context"]["due_on"] == "2026-12-05"


def test_compliance_published_lists_the_norms_not_met_of_the_quartier(connection, graffiti_norm):
    quartier = add_quartier(connection, "QC", "Conformité-Test")
    norm_id = graffiti_norm
    connection.execute(text(
        "INSERT INTO compliance_results (norm_id, quartier_id, month, cases, compliant, rate, open_overdue, status) "
        "VALUES (:n, :q, '2026-10-01', 10, 5, 0.5, 0, 'not_met')"), {"n": norm_id, "q": quartier})
    _subscribe(connection, "quartier", "QC", "commercant@example.org")
    _subscribe(connection, "area", json.dumps({"type": "Polygon", "coordinates": [[
        [2.33, 48.84], [2.37, 48.84], [2.37, 48.87], [2.33, 48.87], [2.33, 48.84]]]}), "zone@example.org")
    publish_month(connection, dt.date(2026, 10, 1))
    messages = {m["recipient"]: m for m in _messages(connection, "compliance_published")}
    assert set(messages) == {"commercant@example.org", "zone@example.org"}
    failure, = messages["commercant@example.org"]["context"]["failures"]
    assert failure["place"] == "Conformité-Test" and float(failure["rate"]) == 0.5
    assert messages["commercant@example.org"]["context"]["month_start"] == "2026-10-01"


def test_the_same_key_queues_one_message(connection):
    assert outbox.enqueue(connection, "a@example.org", "digest", {"count": 0}, "k:1") is not None
    assert outbox.enqueue(connection, "a@example.org", "digest", {"count": 0}, "k:1") is None
    assert len(_messages(connection)) == 1
