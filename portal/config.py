"""Default settings of the portal; override with a file named by OVA_SETTINGS or env variables."""
from __future__ import annotations

import os

from ova.settings import database_url

#: Environment variables read at app creation, with their meaning (documented in the README).
ENV_VARIABLES = {
    "DATABASE_URL": "PostgreSQL/PostGIS URL of the portal database",
    "SECRET_KEY": "session and CSRF signing key (generated in the instance folder when absent)",
    "OVA_BASEMAP_URL": "XYZ tile URL template of the basemap; empty for none (outlines only)",
    "OVA_BASEMAP_ATTRIBUTION": "attribution of the basemap tiles",
    "OVA_MAX_UPLOAD_MB": "maximum size of an uploaded file, in MB",
    "OVA_SECURE_COOKIES": "1 to send the session cookie over HTTPS only (set it behind TLS)",
    "OVA_TRUSTED_PROXIES": "number of reverse proxies in front of the portal whose X-Forwarded-* headers are "
                           "trusted (0: none, the default; 1 behind one nginx)",
    "OVA_API_REQUESTS_PER_MINUTE": "requests per minute and client address to the OGC API, tiles and downloads "
                                   "(0: no limit)",
    "OVA_REPORTS_PER_HOUR": "incident reports per hour and client address through the form (0: no limit)",
    "OVA_OPEN311_REPORTS_PER_HOUR": "Open311 POSTs per hour and API key (0: no limit)",
    "OVA_DOWNLOAD_CACHE_DIR": "folder of the built GeoPackage and Shapefile downloads, one file per layer "
                              "data version (default: downloads/ in the instance folder)",
    "OVA_SETTINGS": "path of a Python settings file loaded over the defaults",
}


class DefaultConfig:
    """Safe defaults for a local demo."""

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ("fr", "en")
    # No tile server by default: the portal must work on an intranet with no internet.
    BASEMAP_URL = ""
    BASEMAP_ATTRIBUTION = ""
    MAX_UPLOAD_MB = 20
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Off for the local http demo; OVA_SECURE_COOKIES=1 in production behind TLS.
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    TERRITORY_NAME = "Paris"
    # Failed logins allowed per account and per client address within the window (then 429).
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    LOGIN_MAX_FAILURES_PER_CLIENT = 20
    LOGIN_WINDOW_MINUTES = 15
    # Reverse proxies whose X-Forwarded-For/Proto/Host/Port/Prefix are trusted (werkzeug ProxyFix).
    TRUSTED_PROXIES = 0
    # Requests per client address per minute to the OGC API, tiles and downloads (then 429).
    # A map view loads a few dozen tiles at once: keep it well above that.
    API_REQUESTS_PER_MINUTE = 600
    # Reports per hour: per client address through the form, per API key through Open311.
    REPORTS_PER_HOUR = 10
    OPEN311_REPORTS_PER_HOUR = 60


def from_environment() -> dict:
    """Settings taken from environment variables, read when the app is created."""
    settings = {"DATABASE_URL": database_url()}
    if os.environ.get("SECRET_KEY"):
        settings["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if "OVA_BASEMAP_URL" in os.environ:
        settings["BASEMAP_URL"] = os.environ["OVA_BASEMAP_URL"]
    if "OVA_BASEMAP_ATTRIBUTION" in os.environ:
        settings["BASEMAP_ATTRIBUTION"] = os.environ["OVA_BASEMAP_ATTRIBUTION"]
    if os.environ.get("OVA_MAX_UPLOAD_MB"):
        settings["MAX_UPLOAD_MB"] = int(os.environ["OVA_MAX_UPLOAD_MB"])
    if "OVA_SECURE_COOKIES" in os.environ:
        secure = os.environ["OVA_SECURE_COOKIES"].strip().lower() in ("1", "true", "yes", "on")
        settings["SESSION_COOKIE_SECURE"] = settings["REMEMBER_COOKIE_SECURE"] = secure
    for name in ("TRUSTED_PROXIES", "API_REQUESTS_PER_MINUTE", "REPORTS_PER_HOUR", "OPEN311_REPORTS_PER_HOUR"):
        if os.environ.get(f"OVA_{name}"):
            settings[name] = int(os.environ[f"OVA_{name}"])
    return settings
