"""ova norms seed, ova compliance compute, ova publish."""
import datetime as dt

from sqlalchemy import text

UTC = dt.timezone.utc


def test_norms_seed_is_idempotent(runner, connection):
    first = runner.invoke(args=["norms", "seed"])
    assert first.exit_code == 0, first.output
    count = connection.scalar(text("SELECT count(*) FROM norms"))
    assert count >= 10
    assert runner.invoke(args=["norms", "seed"]).exit_code == 0
    assert connection.scalar(text("SELECT count(*) FROM norms")) == count
    metrics = dict(connection.execute(text("SELECT code, metric FROM norms")).all())
    assert metrics["graffiti-48h-zcp"] == "response_delay" and metrics["guide-services"] == "document"
    assert metrics["balayage-2-semaine"] == "frequency"


def test_compute_then_publish(runner, connection, fx):
    q = fx.quartier("Q1")
    fx.norm("g48", hours=48, min_sample=1)
    fx.incident(dt.datetime(2024, 3, 4, tzinfo=UTC), dt.datetime(2024, 3, 5, tzinfo=UTC), quartier_id=q)
    result = runner.invoke(args=["compliance", "compute", "--since", "2024-03"])
    assert result.exit_code == 0, result.output
    assert "computed" in result.output
    result = runner.invoke(args=["publish", "--month", "2024-03"])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    again = runner.invoke(args=["publish", "--month", "2024-03"])
    assert again.exit_code != 0 and "already published" in again.output
    ok = runner.invoke(args=["publish", "--month", "2024-03", "--supersede", "--reason", "fix"])
    assert ok.exit_code == 0 and "version 2" in ok.output
    bad = runner.invoke(args=["publish", "--month", "2024-13"])
    assert bad.exit_code != 0
