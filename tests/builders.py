"""Test data builders: rows of the schema with sensible defaults, one function per kind of row.

Each takes the test's connection (or session) and returns the new row's id (or object); tests
say only what matters to them. Shared constants of the tests live here too, so no test imports
a conftest module.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import inspect, text

from ova.migrate import upgrade
from ova.models import ROLES, User
from ova.seed import seed_all
from portal.auth.services import hash_password

GEODATA = Path(__file__).resolve().parent.parent / "geodata"
#: The shipped BAN file (Paris, 158 048 addresses): loaded once per session by the ``ban_load`` fixture.
BAN_FILE = GEODATA / "basemap" / "paris_ban_adresses-75.csv"
#: The password of every user the builders create.
PASSWORD = "correct horse battery"
__all__ = ["BAN_FILE", "GEODATA", "PASSWORD", "ROLES", "add_central_quartier", "add_quartier", "add_incident",
           "add_establishment", "add_norm", "add_zone", "add_graffiti_norm", "add_user"]

#: A 1 km square in central Paris (Lambert-93), and a second one east of it.
SQUARE = "ST_Multi(ST_MakeEnvelope(:x0, :y0, :x0 + :size, :y0 + :size, 2154))"


def add_central_quartier(conn, code: str, name: str) -> int:
    """Insert a quartier covering central Paris (WGS 84 box 2.33–2.37 E, 48.84–48.87 N); return its id."""
    return conn.scalar(text(
        "INSERT INTO quartiers (code, name, source, geom) VALUES (:code, :name, 'test', "
        "ST_Multi(ST_Transform(ST_MakeEnvelope(2.33, 48.84, 2.37, 48.87, 4326), 2154))) RETURNING id"),
        {"code": code, "name": name})


def add_quartier(conn, code: str, name: str, *, x0: float = 651000, y0: float = 6862000,
                 size: float = 1000, commune: str = "Paris") -> int:
    """Insert a square quartier and return its id."""
    return conn.execute(text(f"""
        INSERT INTO quartiers (code, name, commune_insee, commune_name, source, geom)
        VALUES (:code, :name, '75056', :commune, 'test', {SQUARE}) RETURNING id
    """), {"code": code, "name": name, "commune": commune, "x0": x0, "y0": y0, "size": size}).scalar_one()


def add_incident(conn, quartier_id: int | None, *, category: str = "graffiti", status: str = "new",
                 description: str | None = "Tag sur la façade", address: str | None = "1 rue de Test",
                 x: float = 651500, y: float = 6862500, hours_ago: float = 10,
                 reported_at: dt.datetime | None = None, external_id: str | None = None,
                 resolved_after_hours: float | None = None, expected_in_hours: float | None = None,
                 simulated: bool = False, zone_id: int | None = None, producer_id: int | None = None,
                 moderated: bool = True) -> int:
    """Insert one incident at Lambert-93 ``x``/``y``, reported ``hours_ago`` (or at ``reported_at``);
    return its id. ``moderated``: its description is already published as written (else pending)."""
    if reported_at is not None:
        reported = "CAST(:at AS timestamptz)"
        resolved = "CAST(:at AS timestamptz) + make_interval(secs => CAST(:res AS float) * 3600)"
        expected = "CAST(:at AS timestamptz) + make_interval(secs => CAST(:exp AS float) * 3600)"
    else:
        reported = "now() - make_interval(secs => :ago * 3600)"
        resolved = "now() - make_interval(secs => (:ago - CAST(:res AS float)) * 3600)"
        expected = "now() - make_interval(secs => (:ago - CAST(:exp AS float)) * 3600)"
    return conn.execute(text(f"""
        INSERT INTO incidents (source, external_id, category, description, public_description, description_state,
                               address, reported_at, resolved_at, expected_at, times_simulated, status,
                               quartier_id, zone_id, producer_id, geom)
        VALUES ('test', coalesce(:ext, gen_random_uuid()::text), :category, :description,
                CASE WHEN :moderated THEN CAST(:description AS text) END,
                CASE WHEN :moderated THEN 'published' ELSE 'pending' END, :address, {reported},
                CASE WHEN CAST(:res AS float) IS NULL THEN NULL ELSE {resolved} END,
                CASE WHEN CAST(:exp AS float) IS NULL THEN NULL ELSE {expected} END,
                :sim, :status, :qid, :zid, :pid, ST_SetSRID(ST_MakePoint(:x, :y), 2154))
        RETURNING id
    """), {"category": category, "description": description, "address": address, "ago": hours_ago,
           "at": reported_at, "ext": external_id, "res": resolved_after_hours, "exp": expected_in_hours,
           "sim": simulated, "status": status, "qid": quartier_id, "zid": zone_id, "pid": producer_id,
           "x": x, "y": y, "moderated": moderated}).scalar_one()


def add_zone(conn, code: str, quartier_id: int | None, *, valid_from: dt.date | str, valid_to: dt.date | str | None = None,
             name: str | None = None, status: str = "approved", x0: float = 651000, y0: float = 6862000,
             size: float = 500) -> int:
    """Insert a square priority-zone version and return its id."""
    return conn.execute(text(f"""
        INSERT INTO priority_zones (code, name, quartier_id, valid_from, valid_to, status, geom)
        VALUES (:code, :name, :qid, :vf, :vt, :status, {SQUARE}) RETURNING id
    """), {"code": code, "name": name or code, "qid": quartier_id, "vf": valid_from, "vt": valid_to,
           "status": status, "x0": x0, "y0": y0, "size": size}).scalar_one()


def add_establishment(conn, quartier_id: int, name: str, *, x: float = 651400, y: float = 6862400) -> int:
    """Insert one open establishment placed at its address."""
    return conn.execute(text("""
        INSERT INTO establishments (source, external_id, siret, siren, name, naf_code, quartier_id, geom)
        VALUES ('test', gen_random_uuid()::text, '12345678900011', '123456789', :name, '56.10C', :qid,
                ST_SetSRID(ST_MakePoint(:x, :y), 2154)) RETURNING id
    """), {"name": name, "qid": quartier_id, "x": x, "y": y}).scalar_one()


def add_norm(conn, code: str, tache: str, label: str, *, scope: str = "territory", quartier_id: int | None = None,
             zone_code: str | None = None, categories: tuple[str, ...] = ("graffiti",), delay_hours: int = 48,
             producer: str | None = "proprete", valid_from: dt.date | str = "2020-01-01",
             valid_to: dt.date | str | None = None, min_sample: int | None = None, delay_unit: str = "hours") -> int:
    """Insert a response-delay norm (valid since 2020 unless told) and return its id.

    ``delay_hours`` is the delay in ``delay_unit`` (hours unless told: working_days, working_hours).
    """
    return conn.execute(text("""
        INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, quartier_id, zone_code, category_codes,
                           delay_value, delay_unit, target_rate, producer_id, valid_from, valid_to, min_sample)
        VALUES (:code, :tache, :label, :label_en, 'response_delay', :scope, :qid, :zone, :cats, :delay, :unit, 0.9,
                (SELECT id FROM producers WHERE slug = :producer), :vf, :vt, :min) RETURNING id
    """), {"code": code, "tache": tache, "label": label, "label_en": label + " (en)", "scope": scope, "qid": quartier_id,
           "zone": zone_code, "cats": list(categories), "delay": delay_hours, "unit": delay_unit,
           "producer": producer, "vf": valid_from,
           "vt": valid_to, "min": min_sample}).scalar_one()


def add_graffiti_norm(conn) -> int:
    """A territory-wide norm valid since 2020: graffiti removed within 72 hours."""
    return conn.scalar(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, category_codes, "
        "delay_value, valid_from) VALUES ('graffiti-72h', 'EP2', 'Graffitis enlevés en 72 h', "
        "'Graffiti removed within 72 h', 'response_delay', 'territory', ARRAY['graffiti'], 72, "
        "'2020-01-01') RETURNING id"))


def add_user(session, role: str, *, email: str | None = None, producer_id: int | None = None) -> User:
    """A user of ``role`` with :data:`PASSWORD` (agents belong to ``producer_id``)."""
    user = User(email=(email or f"{role}@example.org").lower(), name=f"Test {role}", role=role,
                password_hash=hash_password(PASSWORD), producer_id=producer_id)
    session.add(user)
    session.flush()
    return user


def publish_as_written(conn, incident_id: int) -> None:
    """Moderation done: the incident's description, comment and photo published as they are."""
    conn.execute(text("UPDATE incidents SET public_description = description, description_state = 'published' "
                      "WHERE id = :id"), {"id": incident_id})
    conn.execute(text("UPDATE incident_reports SET public_comment = confirmation_comment, photo_state = 'published' "
                      "WHERE incident_id = :id"), {"id": incident_id})


def reset_schema(engine) -> None:
    """Drop every table of ours, then build the schema with the migrations (tests them too)."""
    with engine.begin() as conn:
        for table in inspect(conn).get_table_names(schema="public"):
            if table != "spatial_ref_sys":
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    upgrade(engine.url.render_as_string(hide_password=False))
    seed_all(engine)
