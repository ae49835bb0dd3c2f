"""Fixtures of the Open311 tests: a small territory around central Paris and a graffiti norm."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text


@pytest.fixture
def territory(connection):
    """One quartier covering central Paris (WGS 84 box 2.33–2.37 E, 48.84–48.87 N)."""
    return connection.scalar(text(
        "INSERT INTO quartiers (code, name, source, geom) VALUES ('T-CITE', 'Cité (test)', 'test', "
        "ST_Multi(ST_Transform(ST_MakeEnvelope(2.33, 48.84, 2.37, 48.87, 4326), 2154))) RETURNING id"))


@pytest.fixture
def graffiti_norm(connection):
    """A territory-wide norm: graffiti removed within 72 hours."""
    return connection.scalar(text(
        "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, category_codes, "
        "delay_hours, valid_from) VALUES ('graffiti-72h', 'EP2', 'Graffitis enlevés en 72 h', "
        "'Graffiti removed within 72 h', 'response_delay', 'territory', ARRAY['graffiti'], 72, "
        ":vf) RETURNING id"), {"vf": dt.date(2020, 1, 1)})
