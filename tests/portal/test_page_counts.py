"""Home and quartier pages read quartier_incident_counts: the same figures as aggregating incidents.

Each test computes the pages' figures the old way (the aggregates over ``incidents`` the pages ran
before migration pages_01, copied here, medians included) and the new way on the same data, after every kind of
write: builder inserts, a citizen's report, status changes, an ETL load (plain and bulk) and its
reload, a move to another quartier, a delete and a truncate.
"""
from sqlalchemy import text

from etl.targets import load
from incidents import reports, workflow
from incidents.reports import NewReport
from ova.models import OPEN_STATUSES
from portal.home import services as home
from portal.quartiers import services as quartier
from tests.builders import add_incident, add_quartier
from tests.etl.conftest import DANSMARUE_GEOJSON, PARIS_QUARTIERS

OLD_HOME_SQL = """
    SELECT q.code, coalesce(inc.total, 0) AS incidents, coalesce(inc.open, 0) AS open_incidents,
           round((coalesce(inc.total, 0) / nullif(ST_Area(q.geom) / 1e6, 0))::numeric, 1)::float
               AS incident_density
    FROM quartiers q LEFT JOIN (
        SELECT quartier_id, count(*) AS total, count(*) FILTER (WHERE status = ANY (:open)) AS open
        FROM incidents WHERE quartier_id IS NOT NULL GROUP BY quartier_id) inc ON inc.quartier_id = q.id
"""
OLD_COUNTS_SQL = """
    SELECT category, status, count(*) AS total,
           count(*) FILTER (WHERE expected_at < now()) AS past_deadline,
           count(*) FILTER (WHERE resolved_at > expected_at) AS resolved_late,
           count(*) FILTER (WHERE times_simulated) AS simulated,
           max(reported_at) AS last_reported_at
    FROM incidents WHERE quartier_id = :qid GROUP BY category, status
"""
OLD_MEDIANS_SQL = """
    SELECT GROUPING(category) AS overall, category,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM resolved_at - reported_at) / 3600.0) AS median_delay_hours
    FROM incidents WHERE quartier_id = :qid AND resolved_at IS NOT NULL
    GROUP BY ROLLUP (category)
"""


def old_home(conn) -> dict:
    return {r["code"]: dict(r) for r in conn.execute(text(OLD_HOME_SQL), {"open": list(OPEN_STATUSES)}).mappings()}


def new_home(session) -> dict:
    return {r["code"]: {k: r[k] for k in ("code", "incidents", "open_incidents", "incident_density")}
            for r in home.quartier_indicators(session)}


def old_figures(conn, qid: int) -> dict:
    """incident_figures as the page computed it before pages_01 (establishments aside)."""
    figures = {"total": 0, "open": 0, "overdue": 0, "resolved_late": 0, "simulated": 0,
               "median_delay_hours": None, "last_reported_at": None}
    by_status, cats = {}, {}
    for r in conn.execute(text(OLD_COUNTS_SQL), {"qid": qid}).mappings():
        is_open = r["status"] in OPEN_STATUSES
        cat = cats.setdefault(r["category"], {"category": r["category"], "total": 0, "open": 0, "overdue": 0,
                                              "median_delay_hours": None})
        for target in (figures, cat):
            target["total"] += r["total"]
            if is_open:
                target["open"] += r["total"]
                target["overdue"] += r["past_deadline"]
        figures["resolved_late"] += r["resolved_late"]
        figures["simulated"] += r["simulated"]
        if figures["last_reported_at"] is None or r["last_reported_at"] > figures["last_reported_at"]:
            figures["last_reported_at"] = r["last_reported_at"]
        by_status[r["status"]] = by_status.get(r["status"], 0) + r["total"]
    for r in conn.execute(text(OLD_MEDIANS_SQL), {"qid": qid}).mappings():
        if r["overall"]:
            figures["median_delay_hours"] = r["median_delay_hours"]
        elif r["category"] in cats:
            cats[r["category"]]["median_delay_hours"] = r["median_delay_hours"]
    return {"figures": figures, "by_status": by_status,
            "by_category": sorted(cats.values(), key=lambda c: (-c["total"], c["category"]))}


def new_figures(session, qid: int) -> dict:
    stats = quartier.incident_figures(session, qid)
    figures = {k: v for k, v in stats["figures"].items() if k != "establishments"}
    return {"figures": figures, "by_status": stats["by_status"], "by_category": stats["by_category"]}


def assert_same(session, *, expect_incidents: bool = True) -> None:
    conn = session.connection()
    session.flush()
    old = old_home(conn)
    assert new_home(session) == old
    if expect_incidents:
        assert sum(r["incidents"] for r in old.values()) > 0, "the test data must have incidents in quartiers"
    for qid in conn.execute(text("SELECT id FROM quartiers ORDER BY id")).scalars():
        assert new_figures(session, qid) == old_figures(conn, qid), f"quartier {qid}"


def test_builder_inserts_updates_moves_deletes_and_truncate(session):
    conn = session.connection()
    a = add_quartier(conn, "A", "Alpha")
    b = add_quartier(conn, "B", "Bêta", x0=653000)
    add_incident(conn, a, status="new", expected_in_hours=-5)          # overdue
    add_incident(conn, a, status="acknowledged", expected_in_hours=48)  # open, not yet due
    add_incident(conn, a, status="resolved", resolved_after_hours=5, expected_in_hours=2)  # late
    add_incident(conn, a, status="resolved", resolved_after_hours=1, expected_in_hours=2, simulated=True)
    for hours in (0.3, 7.25, 11, 2.5, 1 / 3):  # medians of odd and even counts, interpolated
        add_incident(conn, a, category="encombrants", status="resolved", resolved_after_hours=hours, hours_ago=50)
        assert_same(session)
    add_incident(conn, a, category="eclairage", status="in_progress", expected_in_hours=-1, hours_ago=200)
    moved = add_incident(conn, b, category="encombrants", status="rejected")
    add_incident(conn, None, status="new")
    assert_same(session)
    conn.execute(text("UPDATE incidents SET quartier_id = :a WHERE id = :id"), {"a": a, "id": moved})
    assert_same(session)
    assert conn.scalar(text("SELECT total FROM quartier_incident_counts WHERE quartier_id = :b"), {"b": b}) == 0
    conn.execute(text("UPDATE incidents SET expected_at = resolved_at - interval '1 hour' "
                      "WHERE resolved_at IS NOT NULL"))  # every resolved incident becomes late
    conn.execute(text("UPDATE incidents SET times_simulated = NOT times_simulated, status = 'new' "
                      "WHERE category = 'eclairage'"))
    assert_same(session)
    conn.execute(text("DELETE FROM incidents WHERE status = 'resolved'"))
    assert_same(session)
    conn.execute(text("TRUNCATE incidents CASCADE"))
    assert conn.scalar(text("SELECT count(*) FROM quartier_incident_counts")) == 0
    assert_same(session, expect_incidents=False)
    add_incident(conn, b)
    assert_same(session)


def test_a_report_and_status_changes(session, territory, graffiti_norm, make_user):
    conn = session.connection()
    add_incident(conn, territory, status="new", expected_in_hours=-3)
    first = reports.create_report(session, NewReport(category="graffiti", lat=48.8530, lon=2.3499,
                                                     description="Tag sur le mur")).incident
    session.flush()
    assert_same(session)
    agent = make_user("admin")
    for status in ("acknowledged", "in_progress", "resolved"):
        workflow.change_status(session, [first.id], status, actor=agent, note="fait")
        assert_same(session)
    assert new_figures(session, territory)["by_status"] == {"new": 1, "resolved": 1}


def test_an_etl_load_bulk_and_plain_and_its_reload(session):
    conn = session.connection()
    load(conn, "quartiers", PARIS_QUARTIERS, preset="paris-quartiers")
    load(conn, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson", bulk=True)
    assert_same(session)
    conn.execute(text("UPDATE incidents SET status = 'resolved', resolved_at = reported_at + interval '9 days' "
                      "WHERE id % 3 = 0"))
    assert_same(session)
    load(conn, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson", bulk=False)  # reload: back as loaded
    assert_same(session)
    conn.execute(text("TRUNCATE incidents CASCADE"))
    load(conn, "incidents", DANSMARUE_GEOJSON, preset="dansmarue-geojson", bulk=False)
    assert_same(session)
