"""Dashboard queries: the month /normes opens on."""
import datetime as dt

from norms.engine import compute_all
from norms.queries import default_month
from tests.norms.conftest import Fixtures

UTC = dt.timezone.utc


def test_default_month_skips_a_trailing_month_with_a_handful_of_reports(connection):
    """An extract ending on the 2nd of a month must not open the dashboard on that nearly empty month."""
    fx = Fixtures(connection)
    q = fx.quartier("Q-DM")
    fx.norm("g48", hours=48, min_sample=1)
    for month, count in ((3, 10), (4, 8), (5, 1)):
        for day in range(1, count + 1):
            t0 = dt.datetime(2024, month, day, 10, tzinfo=UTC)
            fx.incident(t0, t0 + dt.timedelta(hours=1), quartier_id=q)
    compute_all(connection, as_of=dt.datetime(2024, 6, 1, tzinfo=UTC))
    assert default_month(connection) == dt.date(2024, 4, 1)


def test_default_month_is_the_only_month_when_there_is_one(connection):
    fx = Fixtures(connection)
    q = fx.quartier("Q-DM")
    fx.norm("g48", hours=48, min_sample=1)
    t0 = dt.datetime(2024, 3, 5, 10, tzinfo=UTC)
    fx.incident(t0, t0 + dt.timedelta(hours=1), quartier_id=q)
    compute_all(connection, as_of=dt.datetime(2024, 6, 1, tzinfo=UTC))
    assert default_month(connection) == dt.date(2024, 3, 1)
