"""``ova load …`` and ``ova simulate resolutions`` through the click runner."""
from sqlalchemy import text

from tests.etl.conftest import PARIS_QUARTIERS, write_csv


def test_load_quartiers_command_reports_detection_and_counts(runner, connection, tmp_path):
    result = runner.invoke(args=["load", "quartiers", str(PARIS_QUARTIERS), "--preset", "paris-quartiers",
                                 "--producer", "sig", "--reject-file", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output
    assert "format=geojson crs=EPSG:4326 rows=80" in result.output
    assert "quartiers: read 80, inserted 80, updated 0, unchanged 0, rejected 0" in result.output
    assert connection.scalar(text("SELECT count(*) FROM quartiers q JOIN producers p ON p.id = q.producer_id "
                                  "WHERE p.slug = 'sig'")) == 80


def test_load_errors_are_clean_messages(runner, connection, tmp_path, dansmarue_rows):
    header, rows = dansmarue_rows
    path = write_csv(tmp_path / "d.csv", header, rows)
    result = runner.invoke(args=["load", "incidents", str(path), "--preset", "nope"])
    assert result.exit_code != 0 and "unknown preset 'nope'" in result.output
    result = runner.invoke(args=["load", "incidents", str(path), "--preset", "dansmarue", "--dry-run",
                                 "--reject-file", str(tmp_path / "r.csv")])
    assert result.exit_code == 0 and "dry run: rolled back" in result.output
    assert connection.scalar(text("SELECT count(*) FROM incidents")) == 0
    result = runner.invoke(args=["load", "incidents", str(path), "--preset", "dansmarue", "--producer", "nobody"])
    assert result.exit_code != 0 and "unknown producer 'nobody'" in result.output


def test_simulate_resolutions_command(runner, connection, tmp_path, dansmarue_rows):
    header, rows = dansmarue_rows
    runner.invoke(args=["load", "incidents", str(write_csv(tmp_path / "d.csv", header, rows)), "--preset", "dansmarue",
                        "--reject-file", str(tmp_path / "r.csv")])
    result = runner.invoke(args=["simulate", "resolutions", "--seed", "42"])
    assert result.exit_code == 0, result.output
    assert "incidents: 60" in result.output


def test_the_ova_command_loads_without_building_the_web_application(db_url, tmp_path):
    """``ova load`` connects to DATABASE_URL itself; the portal's blueprints are never imported."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = ("import sys\nfrom portal.cli import main\n"
              "try:\n    main(prog_name='ova')\nexcept SystemExit as end:\n"
              "    print('app built:', 'portal.home.views' in sys.modules)\n    raise\n")
    done = subprocess.run(
        [sys.executable, "-c", script, "load", "quartiers", str(PARIS_QUARTIERS), "--preset", "paris-quartiers",
         "--dry-run", "--reject-file", str(tmp_path / "r.csv")],
        env=dict(os.environ, DATABASE_URL=db_url, CI="true"), capture_output=True, text=True,
        cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert done.returncode == 0, done.stderr
    assert "quartiers: read 80, inserted 80" in done.stdout and "dry run: rolled back" in done.stdout
    assert "app built: False" in done.stdout


def test_load_command_spreadsheet_sheet_and_overlaps(runner, connection, tmp_path):
    """``--sheet``, ``--allow-overlaps`` and the diagnosis as a clean message (no traceback, no raw warning)."""
    import json

    from tests.etl.conftest import DANSMARUE_CSV, gdal, read_rows

    header, rows = read_rows(DANSMARUE_CSV, 40)
    sheet = gdal(write_csv(tmp_path / "d.csv", header, rows), tmp_path / "d.xlsx", "-f", "XLSX",
                 "-oo", "AUTODETECT_TYPE=YES", "-nln", "Signalements")
    result = runner.invoke(args=["load", "incidents", str(sheet), "--preset", "dansmarue", "--sheet", "Signalements",
                                 "--reject-file", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output
    assert "format=xlsx layer=Signalements rows=40 header=row 1" in result.output
    document = json.loads(PARIS_QUARTIERS.read_text(encoding="utf-8"))
    twin = json.loads(json.dumps(document["features"][0]))
    twin["properties"]["c_quinsee"] = 7599901
    document["features"].append(twin)
    dup = tmp_path / "dup.geojson"
    dup.write_text(json.dumps(document), encoding="utf-8")
    args = ["load", "quartiers", str(dup), "--preset", "paris-quartiers", "--reject-file", str(tmp_path / "q.csv")]
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "overlap(s) between quartiers of one commune above 100.0 m²" in result.output
    result = runner.invoke(args=[*args, "--allow-overlaps"])
    assert result.exit_code == 0, result.output
    assert "topology: overlaps: 1 (above 100.0 m²: 1; allowed by --allow-overlaps" in result.output
    result = runner.invoke(args=["load", "incidents", str(sheet), "--preset", "dansmarue", "--allow-overlaps"])
    assert result.exit_code != 0 and "for quartiers only" in result.output
