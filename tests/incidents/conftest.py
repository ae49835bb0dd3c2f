"""Fixtures of the incident tests: photos and the voirie producer (territory and norm: tests/conftest.py)."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from ova.models import Producer


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
