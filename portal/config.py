"""Default settings of the portal; override with a file named by OVA_SETTINGS or env variables.

The environment variables, and the settings each one sets, are listed in ``ova.settings.VARIABLES``.
"""
from __future__ import annotations


class DefaultConfig:
    """Safe defaults for a local demo."""

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ("fr", "en")
    # No tile server by default: the portal must work on an intranet with no internet.
    BASEMAP_URL = ""
    BASEMAP_ATTRIBUTION = ""
    MAX_UPLOAD_MB = 20
    # Hot standbys serving reads (DATABASE_REPLICA_URLS), skipped past REPLICA_MAX_LAG seconds of lag.
    DATABASE_REPLICA_URLS: list[str] = []
    REPLICA_MAX_LAG = 5.0
    # A point tile over more features or bytes than this carries grid aggregates instead.
    TILE_MAX_BYTES = 500 * 1024
    TILE_MAX_FEATURES = 20_000
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
    # Requests per client address per minute to the OGC API, tiles, downloads and the address API (then 429).
    # A map view loads a few dozen tiles at once: keep it well above that.
    API_REQUESTS_PER_MINUTE = 600
    # Reports per hour: per client address through the form, per API key through Open311.
    REPORTS_PER_HOUR = 10
    OPEN311_REPORTS_PER_HOUR = 60
    # Accessibility statement (/accessibilite): without an audit rate the RGAA mention is "non conforme".
    ACCESSIBILITY_ENTITY = ""
    ACCESSIBILITY_CONTACT = ""
    ACCESSIBILITY_AUDIT_RATE = None
    ACCESSIBILITY_AUDIT_DATE = ""
    ACCESSIBILITY_AUDITOR = ""
    # Privacy (/confidentialite, ova privacy purge): retention after closure, and who to ask.
    RETENTION_MONTHS = 12
    PRIVACY_CONTACT = ""
    # Canonical base URL of every absolute link (OVA_PUBLIC_URL); empty: the request's host.
    PUBLIC_URL = ""
    # Organisation publishing the catalogue (OVA_CATALOGUE_PUBLISHER); empty: named after the territory.
    CATALOGUE_PUBLISHER = ""

