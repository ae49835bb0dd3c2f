"""Runtime settings read from the environment (never at import time)."""
from __future__ import annotations

import os

#: Storage CRS of every geometry in the database: RGF93 / Lambert-93.
STORAGE_SRID = 2154
#: CRS served to web clients: WGS 84 longitude/latitude.
WEB_SRID = 4326

DEFAULT_DATABASE_URL = "postgresql://ova:ova@127.0.0.1:5432/ova"


def database_url() -> str:
    """Return the demo/production database URL (``DATABASE_URL`` or the local default)."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def test_database_url() -> str:
    """Return the URL of the test database, never the demo one.

    ``TEST_DATABASE_URL`` when set, else ``DATABASE_URL`` (or the default) with ``_test``
    appended to the database name.
    """
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    base, _, name = database_url().rpartition("/")
    name, sep, query = name.partition("?")
    return f"{base}/{name}_test{sep}{query}"


#: Default time zone of local days, months and deadlines.
DEFAULT_TIMEZONE = "Europe/Paris"


def timezone_name() -> str:
    """The territory's IANA time zone (``OVA_TIMEZONE``, default Europe/Paris)."""
    return (os.environ.get("OVA_TIMEZONE") or DEFAULT_TIMEZONE).strip()


def holidays_setting() -> str:
    """The public holidays of the territory as a `holidays` code (``OVA_HOLIDAYS``: FR, FR-57, DE-SN…).

    Defaults to the territory's country (``OVA_COUNTRY``, default FR).
    """
    return (os.environ.get("OVA_HOLIDAYS") or os.environ.get("OVA_COUNTRY") or "FR").strip()
