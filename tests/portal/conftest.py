"""Rows for the portal's page tests, created with plain SQL on the rolled-back connection."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tests.conftest import add_central_quartier

#: A 1 km square in central Paris (Lambert-93), and a second one east of it.
SQUARE = "ST_Multi(ST_MakeEnvelope(:x0, :y0, :x0 + :size, :y0 + :size, 2154))"


def add_quartier(conn, code: str, name: str, *, x0: float = 651000, y0: float = 6862000,
                 size: float = 1000, commune: str = "Paris") -> int:
    """Insert a square quartier and return its id."""
    return conn.execute(text(f"""
        INSERT INTO quartiers (code, name, commune_insee, commune_name, source, geom)
        VALUES (:code, :name, '75056', :commune, 'test', {SQUARE}) RETURNING id
    """), {"code": code, "name": name, "commune": commune, "x0": x0, "y0": y0, "size": size}).scalar_one()


def add_incident(conn, quartier_id: int, *, category: str = "graffiti", status: str = "new",
                 description: str | None = "Tag sur la façade", address: str | None = "1 rue de Test",
                 x: float = 651500, y: float = 6862500, hours_ago: float = 10,
                 resolved_after_hours: float | None = None, expected_in_hours: float | None = None,
                 simulated: bool = False) -> int:
    """Insert one incident (reported ``hours_ago``) and return its id."""
    return conn.execute(text("""
        INSERT INTO incidents (source, external_id, category, description, address, reported_at,
                               resolved_at, expected_at, times_simulated, status, quartier_id, geom)
        VALUES ('test', gen_random_uuid()::text, :category, :description, :address,
                now() - make_interval(secs => :ago * 3600),
                CASE WHEN CAST(:res AS float) IS NULL THEN NULL
                     ELSE now() - make_interval(secs => (:ago - CAST(:res AS float)) * 3600) END,
                CASE WHEN CAST(:exp AS float) IS NULL THEN NULL
                     ELSE now() - make_interval(secs => (:ago - CAST(:exp AS float)) * 3600) END,
                :sim, :status, :qid, ST_SetSRID(ST_MakePoint(:x, :y), 2154))
        RETURNING id
    """), {"category": category, "description": description, "address": address, "ago": hours_ago,
           "res": resolved_after_hours, "exp": expected_in_hours, "sim": simulated, "status": status,
           "qid": quartier_id, "x": x, "y": y}).scalar_one()


def add_establishment(conn, quartier_id: int, name: str, *, x: float = 651400, y: float = 6862400) -> int:
    """Insert one open establishment placed at its address."""
    return conn.execute(text("""
        INSERT INTO establishments (source, external_id, siret, siren, name, naf_code, quartier_id, geom)
        VALUES ('test', gen_random_uuid()::text, '12345678900011', '123456789', :name, '56.10C', :qid,
                ST_SetSRID(ST_MakePoint(:x, :y), 2154)) RETURNING id
    """), {"name": name, "qid": quartier_id, "x": x, "y": y}).scalar_one()


def add_norm(conn, code: str, tache: str, label: str, *, scope: str = "territory", quartier_id: int | None = None,
             categories: tuple[str, ...] = ("graffiti",), delay_value: int = 48, producer: str = "proprete") -> int:
    """Insert a response-delay norm valid since 2020."""
    return conn.execute(text("""
        INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, quartier_id, category_codes,
                           delay_value, target_rate, producer_id, valid_from)
        VALUES (:code, :tache, :label, :label_en, 'response_delay', :scope, :qid, :cats, :delay, 0.9,
                (SELECT id FROM producers WHERE slug = :producer), '2020-01-01') RETURNING id
    """), {"code": code, "tache": tache, "label": label, "label_en": label + " (en)", "scope": scope, "qid": quartier_id,
           "cats": list(categories), "delay": delay_value, "producer": producer}).scalar_one()


@pytest.fixture
def quartier(connection):
    """One quartier ``Q1`` « Les Halles-Test » with no data."""
    return add_quartier(connection, "Q1", "Les Halles-Test")


# --- shared by the incident and Open311 tests -------------------------------------------------

@pytest.fixture
def territory(connection):
    """One quartier covering central Paris (WGS 84 box 2.33–2.37 E, 48.84–48.87 N)."""
    return add_central_quartier(connection, "T-CITE", "Cité (test)")


@pytest.fixture
def graffiti_norm(connection):
    """A territory-wide norm: graffiti removed within 72 hours."""
    return connection.scalar(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, category_codes, "
        "delay_value, valid_from) VALUES ('graffiti-72h', 'EP2', 'Graffitis enlevés en 72 h', "
        "'Graffiti removed within 72 h', 'response_delay', 'territory', ARRAY['graffiti'], 72, "
        ":vf) RETURNING id"), {"vf": dt.date(2020, 1, 1)})
