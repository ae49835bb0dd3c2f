"""Compliance follows the data: a status change and an ETL load recompute the affected months."""

from sqlalchemy import text

from incidents.workflow import change_status


def _setup(session, producer):
    conn = session.connection()
    quartier = conn.scalar(text(
        "INSERT INTO quartiers (code, name, source, geom) VALUES ('W', 'Wiring', 'test', "
        "ST_Multi(ST_MakeEnvelope(651000, 6862000, 652000, 6863000, 2154))) RETURNING id"))
    conn.execute(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, category_codes, delay_value, "
        "valid_from, min_sample, target_rate) VALUES ('w-graffiti-48h', 'EP2', 'g', 'g', 'response_delay', "
        "'territory', '{graffiti}', 48, '2020-01-01', 1, 0.9)"))
    incident = conn.scalar(text(
        "INSERT INTO incidents (source, external_id, category, reported_at, status, producer_id, quartier_id, geom) "
        "VALUES ('test', 'w1', 'graffiti', now() - interval '3 hours', 'new', :p, :q, "
        "ST_SetSRID(ST_MakePoint(651500, 6862500), 2154)) RETURNING id"), {"p": producer.id, "q": quartier})
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
