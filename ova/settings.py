"""Runtime settings read from the environment (never at import time), and the one list of them.

Every environment variable the project reads is declared once in :data:`VARIABLES` (the README's
"Configuration" table is checked against it) and read through :func:`env`; nothing else reads
``os.environ`` for them. :func:`portal_settings` turns the ones set into portal settings.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Storage CRS of every geometry in the database: RGF93 / Lambert-93.
STORAGE_SRID = 2154
#: CRS served to web clients: WGS 84 longitude/latitude.
WEB_SRID = 4326

DEFAULT_DATABASE_URL = "postgresql://ova:ova@127.0.0.1:5432/ova"


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Variable:
    """An environment variable: what it means, its default as documented, the settings it fills."""

    name: str
    meaning: str
    default: str = ""
    #: Portal settings (``app.config`` keys) it sets when given; none when read directly.
    keys: tuple[str, ...] = ()
    parse: Callable[[str], Any] = str
    #: True when an empty value is a value (an empty basemap URL: no basemap), not "unset".
    empty_allowed: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("DATABASE_URL", "PostgreSQL/PostGIS URL of the portal (used as given by setup)",
             f"`{DEFAULT_DATABASE_URL}`"),
    Variable("TEST_DATABASE_URL", "database of the test suite", "`DATABASE_URL` with `_test` appended"),
    Variable("SECRET_KEY", "session and CSRF signing key", "random, kept in `var/instance/secret_key`",
             keys=("SECRET_KEY",)),
    Variable("OVA_BASEMAP_URL", "XYZ tile URL template of a basemap (e.g. your OSM tile server)",
             "none: outlines only", keys=("BASEMAP_URL",), empty_allowed=True),
    Variable("OVA_BASEMAP_ATTRIBUTION", "attribution shown for the basemap", keys=("BASEMAP_ATTRIBUTION",),
             empty_allowed=True),
    Variable("OVA_MAX_UPLOAD_MB", "upload size limit", "20", keys=("MAX_UPLOAD_MB",), parse=int),
    Variable("OVA_SETTINGS", "Python file of settings loaded over the defaults"),
    Variable("OVA_INSTANCE_PATH", "folder for the generated secret key and uploads", "`var/instance`"),
    Variable("OVA_PHOTO_DIR", "store of the reports' photos", "`$OVA_INSTANCE_PATH/photos`"),
    Variable("OVA_DOWNLOAD_CACHE_DIR",
             "built GeoPackage/Shapefile downloads, one file per layer data version (safe to delete)",
             "`$OVA_INSTANCE_PATH/downloads`"),
    Variable("OVA_SECURE_COOKIES", "1 to send the session and remember-me cookies over HTTPS only (behind TLS)",
             "0", keys=("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"), parse=_flag, empty_allowed=True),
    Variable("OVA_TRUSTED_PROXIES",
             "reverse proxies in front of the portal whose `X-Forwarded-*` are trusted (ProxyFix)", "0",
             keys=("TRUSTED_PROXIES",), parse=int),
    Variable("OVA_API_REQUESTS_PER_MINUTE",
             "OGC API, tiles and downloads: requests per minute per client address (0: none)", "600",
             keys=("API_REQUESTS_PER_MINUTE",), parse=int),
    Variable("OVA_REPORTS_PER_HOUR",
             "incident reports per hour per client address through the form, counted in the database (0: none)",
             "10", keys=("REPORTS_PER_HOUR",), parse=int),
    Variable("OVA_OPEN311_REPORTS_PER_HOUR", "Open311 POSTs per hour per API key (0: none)", "60",
             keys=("OPEN311_REPORTS_PER_HOUR",), parse=int),
    Variable("OVA_TIMEZONE", "time zone of local days, months and deadlines (IANA name)", "`Europe/Paris`"),
    Variable("OVA_HOLIDAYS",
             "public holidays of working-day delays, a `holidays` code (`FR`, `FR-57`, `FR-RE`, `DE-SN`, `US-MA`)",
             "`FR`"),
)
_BY_NAME = {v.name: v for v in VARIABLES}


def env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of the declared variable ``name``, or None when unset (or empty, unless allowed)."""
    variable = _BY_NAME[name]  # a KeyError here: declare the variable in VARIABLES first
    value = (os.environ if environ is None else environ).get(name)
    if value is None or (value == "" and not variable.empty_allowed):
        return None
    return value


def portal_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Portal settings from the variables that are set (read when the app is created)."""
    settings: dict[str, Any] = {"DATABASE_URL": database_url(environ)}
    for variable in VARIABLES:
        value = env(variable.name, environ) if variable.keys else None
        if value is not None:
            settings.update(dict.fromkeys(variable.keys, variable.parse(value)))
    return settings


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """Return the demo/production database URL (``DATABASE_URL`` or the local default)."""
    return env("DATABASE_URL", environ) or DEFAULT_DATABASE_URL


def test_database_url(environ: Mapping[str, str] | None = None) -> str:
    """Return the URL of the test database, never the demo one.

    ``TEST_DATABASE_URL`` when set, else ``DATABASE_URL`` (or the default) with ``_test``
    appended to the database name.
    """
    explicit = env("TEST_DATABASE_URL", environ)
    if explicit:
        return explicit
    base, _, name = database_url(environ).rpartition("/")
    name, sep, query = name.partition("?")
    return f"{base}/{name}_test{sep}{query}"


#: Default time zone of local days, months and deadlines.
DEFAULT_TIMEZONE = "Europe/Paris"


def timezone_name() -> str:
    """The territory's IANA time zone (``OVA_TIMEZONE``, default Europe/Paris)."""
    return (env("OVA_TIMEZONE") or DEFAULT_TIMEZONE).strip()


def holidays_setting() -> str:
    """The public holidays of the territory as a `holidays` code (``OVA_HOLIDAYS``: FR, FR-57, DE-SN…).

    Defaults to France's (``FR``).
    """
    return (env("OVA_HOLIDAYS") or "FR").strip()
