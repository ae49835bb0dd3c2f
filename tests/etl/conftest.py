"""Small fixtures built from the real shipped files, written to tmp_path."""
from __future__ import annotations

import csv

import pytest
from sqlalchemy import text

from tests.builders import GEODATA

DANSMARUE_CSV = GEODATA / "incidents" / "paris_dansmarue_2023-2024_extrait.csv"
DANSMARUE_GEOJSON = GEODATA / "incidents" / "paris_dansmarue_18-19-20e_extrait.geojson"
PARIS_QUARTIERS = GEODATA / "paris" / "paris_quartiers_administratifs.geojson"
NANTES_QUARTIERS = GEODATA / "nantes" / "nantes_metropole_quartiers.geojson"
SIRENE = GEODATA / "etablissements" / "sirene_restauration_rapide_56.10C_dep44-59-69-75.csv"
SUPPLIERS = GEODATA / "etablissements" / "decp_titulaires_sirene2022_commune.csv"
DECP = GEODATA / "commande_publique" / "decp_2019_marches_titulaires.csv"


def read_rows(path, n=None):
    """Header and the first ``n`` rows of a shipped CSV, as lists of strings."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for _, row in zip(range(n) if n else iter(int, 1), reader)]
    return header, rows


def write_csv(path, header, rows, *, sep=",", encoding="utf-8", decimal_comma=False):
    """Write rows as a French-style CSV (separator, encoding, optional decimal comma)."""
    if decimal_comma:
        rows = [[v.replace(".", ",") if _is_float(v) else v for v in row] for row in rows]
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=sep)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return "." in value


@pytest.fixture
def dansmarue_rows():
    """Header and the first 60 rows of the DansMaRue CSV."""
    return read_rows(DANSMARUE_CSV, 60)


def count(conn, table):
    return conn.scalar(text(f"SELECT count(*) FROM {table}"))


def gdal(source, target, *options):
    """Convert ``source`` to ``target`` with GDAL's ogr2ogr (installed by scripts/setup.sh for the tests).

    The test fails loudly when ogr2ogr is missing or the conversion fails: nothing is skipped.
    """
    import shutil
    import subprocess

    tool = shutil.which("ogr2ogr")
    assert tool, "ogr2ogr (GDAL command-line tools) is required by the tests: run scripts/setup.sh test"
    done = subprocess.run([tool, *options, str(target), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and target.exists(), f"ogr2ogr failed: {done.stderr}"
    return target
