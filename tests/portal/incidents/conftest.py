"""Fixtures of the incident tests: a small territory around central Paris, photos, a norm."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import select, text

from ova.models import Producer


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


@pytest.fixture
def voirie(session):
    return session.scalar(select(Producer).where(Producer.slug == "voirie"))


def _make_image(fmt: str = "JPEG", size=(64, 48), gps: bool = True) -> bytes:
    """A small image; JPEGs carry EXIF with a GPS block when ``gps``."""
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if fmt == "JPEG" and gps:
        exif = Image.Exif()
        exif[0x010F] = "TestCam"  # Make
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 10.0), 3: "E", 4: (2.0, 21.0, 0.0)}  # GPSInfo
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


@pytest.fixture
def photo_dir(tmp_path):
    return tmp_path / "photos"


@pytest.fixture
def make_image():
    """Factory of small test images (see ``_make_image``)."""
    return _make_image
