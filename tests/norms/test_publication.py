"""Monthly publication: frozen, versioned, refused twice unless superseded with a reason, a layer."""
import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from norms.engine import compute_all
from norms.publication import due_date, list_publications, publish_month
from ova.errors import Conflict, InvalidInput

UTC = dt.timezone.utc


@pytest.fixture
def march(connection, fx):
    q = fx.quartier("Q1")
    n = fx.norm("g48", hours=48, min_sample=1)
    t0 = dt.datetime(2024, 3, 4, 10, tzinfo=UTC)
    fx.incident(t0, t0 + dt.timedelta(hours=1), quartier_id=q)
    fx.incident(t0, t0 + dt.timedelta(hours=100), quartier_id=q)
    compute_all(connection, as_of=dt.datetime(2024, 4, 1, tzinfo=UTC))
    return q, n


def test_due_date_is_the_fifth_of_the_following_month():
    assert due_date(dt.date(2024, 12, 1)) == dt.date(2025, 1, 5)
    assert due_date(dt.date(2024, 2, 1), due_day=10) == dt.date(2024, 3, 10)


def test_publish_freezes_rows_and_creates_a_layer(connection, march):
    pub = publish_month(connection, dt.date(2024, 3, 1), published_by="test")
    assert (pub.version, pub.row_count, pub.layer_slug) == (1, 1, "conformite-2024-03-v1")
    assert not pub.on_time  # published in 2026 for March 2024
    layer = connection.execute(text("SELECT source_table, geometry_type FROM layers WHERE slug = :s"),
                               {"s": pub.layer_slug}).one()
    row = connection.execute(text(
        f"SELECT id, quartier_code, rate, status, ST_SRID(geom) AS srid FROM {layer.source_table}")).mappings().one()
    assert (row["quartier_code"], float(row["rate"]), row["status"], row["srid"]) == ("Q1", 0.5, "not_met", 2154)
    # Later changes to live results do not touch the frozen rows, and frozen rows refuse updates.
    connection.execute(text("UPDATE compliance_results SET rate = 1"))
    assert float(connection.scalar(text(f"SELECT rate FROM {layer.source_table}"))) == 0.5
    with pytest.raises(DBAPIError, match="frozen"), connection.begin_nested():
        connection.execute(text("UPDATE published_results SET rate = 1"))


def test_publishing_again_needs_supersede_and_a_reason(connection, march):
    month = dt.date(2024, 3, 1)
    first = publish_month(connection, month)
    with pytest.raises(Conflict, match="already published"):
        publish_month(connection, month)
    with pytest.raises(InvalidInput, match="reason"):
        publish_month(connection, month, supersede=True)
    second = publish_month(connection, month, supersede=True, reason="late resolutions loaded")
    assert second.version == 2
    pubs = list_publications(connection)
    assert [(p["version"], p["superseded_by"]) for p in pubs] == [(2, None), (1, second.id)]
    assert pubs[1]["superseded_by_version"] == 2 and pubs[0]["reason"] == "late resolutions loaded"
    # The superseded version and its layer are kept.
    assert connection.scalar(text("SELECT count(*) FROM published_results WHERE publication_id = :p"),
                             {"p": first.id}) == 1
    assert connection.scalar(text("SELECT count(*) FROM layers WHERE slug LIKE 'conformite-2024-03-%'")) == 2


def test_month_without_results_is_refused(connection):
    with pytest.raises(InvalidInput, match="no compliance results"):
        publish_month(connection, dt.date(2019, 1, 1))
