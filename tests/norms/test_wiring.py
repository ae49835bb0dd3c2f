"""Compliance follows the data: a status change and an ETL load recompute the affected months."""

from sqlalchemy import text

from incidents.workflow import change_status
from tests.builders import add_incident, add_norm, add_quartier


def _setup(session, producer):
    conn = session.connection()
    quartier = add_quartier(conn, "W", "Wiring")
    add_norm(conn, "w-graffiti-48h", "EP2", "g", producer=None, min_sample=1)
    incident = add_incident(conn, quartier, external_id="w1", hours_ago=3, producer_id=producer.id)
    return conn, quartier, incident


def test_resolving_an_incident_recomputes_its_quartier_month(session, producer, make_user):
    conn, quartier, incident = _setup(session, producer)
    agent = make_user("agent")
    for status in ("acknowledged", "in_progress", "resolved"):
        change_status(session, [incident], status, actor=agent, note="fait")
    row = conn.execute(text(
        "SELECT cases, compliant, status FROM compliance_results WHERE quartier_id = :q"), {"q": quartier}).one()
    assert tuple(row) == (1, 1, "met")


def test_indicators_take_the_share_of_norms_met(session, producer, make_user):
    from indicators.territory import compute

    conn, quartier, incident = _setup(session, producer)
    change_status(session, [incident], "acknowledged", actor=make_user("agent"))
    change_status(session, [incident], "in_progress", actor=make_user("admin"))
    change_status(session, [incident], "resolved", actor=make_user("admin", email="a2@example.org"))
    compute(conn)
    share = conn.scalar(text(
        "SELECT norms_met_share FROM territory_indicators WHERE unit_kind = 'quartier' AND unit_id = :q "
        "AND period_kind = '12m'"), {"q": quartier})
    assert share == 1
