"""Runtime settings read from the environment (never at import time), and the one list of them.

Every environment variable the project reads is declared once in :data:`VARIABLES` (the README's
"Configuration" table is checked against it) and read through :func:`env`; nothing else reads
``os.environ`` for them. :func:`portal_settings` turns the ones set into portal settings.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: Default storage CRS of every geometry in the database: RGF93 / Lambert-93 (``OVA_STORAGE_CRS``
#: chooses another when the database is created; read it with :func:`storage_srid`).
STORAGE_SRID = 2154
DEFAULT_STORAGE_CRS = f"EPSG:{STORAGE_SRID}"
#: CRS served to web clients: WGS 84 longitude/latitude.
WEB_SRID = 4326

#: Font of the street names on the portal's basemap (Debian/Ubuntu package fonts-dejavu-core).
DEFAULT_BASEMAP_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

DEFAULT_DATABASE_URL = "postgresql://ova:ova@127.0.0.1:5432/ova"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"


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
    Variable("DATABASE_REPLICA_URLS",
             "PostgreSQL hot standbys of `DATABASE_URL` (comma-separated URLs) serving the reads of OGC items, tiles "
             "and public pages; one down or lagging is skipped", "none: every read on the primary",
             keys=("DATABASE_REPLICA_URLS",), parse=lambda v: [u.strip() for u in v.split(",") if u.strip()]),
    Variable("OVA_REPLICA_MAX_LAG", "seconds a standby may lag behind the primary and still serve reads", "5",
             keys=("REPLICA_MAX_LAG",), parse=float),
    Variable("SECRET_KEY", "session and CSRF signing key", "random, kept in `var/instance/secret_key`",
             keys=("SECRET_KEY",)),
    Variable("OVA_BASEMAP_URL", "XYZ or WMTS (KVP, `{z}/{x}/{y}` placeholders) tile URL template replacing the "
             "portal's own street map (Plan IGN, your OSM tile server)",
             "none: the portal's own tiles (`/basemap/…`)", keys=("BASEMAP_URL",), empty_allowed=True),
    Variable("OVA_BASEMAP_ATTRIBUTION", "attribution shown for the `OVA_BASEMAP_URL` tiles",
             keys=("BASEMAP_ATTRIBUTION",), empty_allowed=True),
    Variable("OVA_BASEMAP_FONT", "TrueType font of the street names on the portal's own tiles",
             "`/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf` (`fonts-dejavu-core`, installed by setup)"),
    Variable("OVA_MAX_UPLOAD_MB", "upload size limit", "20", keys=("MAX_UPLOAD_MB",), parse=int),
    Variable("OVA_TILE_MAX_BYTES",
             "bytes a vector tile of a point layer may weigh; a tile over it carries grid aggregates",
             "512000", keys=("TILE_MAX_BYTES",), parse=int),
    Variable("OVA_TILE_MAX_FEATURES",
             "points a vector tile may carry; a tile over it carries grid aggregates (count, category)",
             "20000", keys=("TILE_MAX_FEATURES",), parse=int),
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
             "OGC API, tiles, downloads and `/api/adresse/`: requests per minute per client address (0: none)", "600",
             keys=("API_REQUESTS_PER_MINUTE",), parse=int),
    Variable("OVA_REPORTS_PER_HOUR",
             "incident reports per hour per client address through the form, counted in the database (0: none)",
             "10", keys=("REPORTS_PER_HOUR",), parse=int),
    Variable("OVA_OPEN311_REPORTS_PER_HOUR", "Open311 POSTs per hour per API key (0: none)", "60",
             keys=("OPEN311_REPORTS_PER_HOUR",), parse=int),
    Variable("OVA_SMTP_URL",
             "mail server of `ova notify send`: `smtp://user:pass@host:587` (STARTTLS when offered; a password is "
             "never sent in clear except to a loopback server) or `smtps://user:pass@host:465`",
             "none: messages stay in the outbox, shown at `/admin/outbox`"),
    Variable("OVA_MAIL_FROM", "sender of the messages (`Portail OVA <ne-pas-repondre@ville.fr>`); its domain names "
             "the `Message-ID`s", "`Portail OVA <ne-pas-repondre@localhost>`"),
    Variable("OVA_MAIL_PER_HOUR", "messages per recipient per hour; more wait and leave as one digest", "6"),
    Variable("OVA_STORAGE_CRS",
             "projected CRS in metres every geometry is stored in, chosen when the database is created and recorded "
             "in it (`EPSG:2975` La Réunion, `EPSG:5490` Antilles, `EPSG:25833` Leipzig, `EPSG:26986` Massachusetts)",
             "`EPSG:2154` (Lambert-93)"),
    Variable("OVA_TERRITORY_NAME", "name of the territory, in pages and in the messages of the checks",
             "none: pages say `Paris`, checks `France métropolitaine`", keys=("TERRITORY_NAME",)),
    Variable("OVA_COUNTRY", "ISO 3166 country code of the territory: French identifier checks (SIRET, SIREN, NAF, "
             "INSEE commune codes) apply only for `FR`; `DE` checks 8-digit AGS commune codes", "`FR`"),
    Variable("OVA_COMMUNE_CODE", "commune code of a territory that is one city (given to rows that have none)",
             "none"),
    Variable("OVA_TIMEZONE", "time zone of local days, months and deadlines (IANA name)", "`Europe/Paris`"),
    Variable("OVA_HOLIDAYS",
             "public holidays of working-day delays, a `holidays` code (`FR`, `FR-57`, `FR-RE`, `DE-SN`, `US-MA`)",
             "`FR`"),
    Variable("OVA_ACCESSIBILITY_ENTITY", "body publishing the portal, named in the accessibility statement",
             "“L’exploitant du Portail OVA”", keys=("ACCESSIBILITY_ENTITY",)),
    Variable("OVA_ACCESSIBILITY_CONTACT", "e-mail address or URL where users report an accessibility problem",
             "none (the statement says so)", keys=("ACCESSIBILITY_CONTACT",)),
    Variable("OVA_ACCESSIBILITY_AUDIT_RATE", "% of RGAA 4.1 criteria met at the last conformity audit (0–100)",
             "none: “non conforme”", keys=("ACCESSIBILITY_AUDIT_RATE",), parse=lambda v: accessibility_rate(v)),
    Variable("OVA_ACCESSIBILITY_AUDIT_DATE", "date of that audit, as written in the statement",
             keys=("ACCESSIBILITY_AUDIT_DATE",)),
    Variable("OVA_ACCESSIBILITY_AUDITOR", "who made that audit", keys=("ACCESSIBILITY_AUDITOR",)),
    Variable("OVA_PUBLIC_URL",
             "canonical base URL (e.g. `https://ova.ville.fr`, a path prefix allowed): every absolute link in "
             "DCAT, ISO 19139/CSW, Atom, OGC API, TileJSON, follow-up links and e-mails is built from it, whatever "
             "the request's `Host`", "none: links follow the request; e-mails link to `http://127.0.0.1:5000`",
             keys=("PUBLIC_URL",),
             parse=lambda value: value.strip().rstrip("/")),
    Variable("OVA_RETENTION_MONTHS",
             "months after an incident's closure before `ova privacy purge` deletes the reporter's e-mail, "
             "original words and original photo (the moderated public text stays)", "12",
             keys=("RETENTION_MONTHS",), parse=int),
    Variable("OVA_PRIVACY_CONTACT", "who answers questions on personal data (the data protection officer's "
             "e-mail address or URL), named on `/confidentialite`", "none (the page says to ask the service)",
             keys=("PRIVACY_CONTACT",)),
    Variable("OVA_CATALOGUE_PUBLISHER",
             "organisation publishing the catalogue (DCAT `dct:publisher`, CSW service provider)",
             "`Portail OVA — <territory>`", keys=("CATALOGUE_PUBLISHER",), parse=str.strip),
)
_BY_NAME = {v.name: v for v in VARIABLES}


def accessibility_rate(raw: Any, name: str = "OVA_ACCESSIBILITY_AUDIT_RATE") -> float | None:
    """An audit's rate of RGAA criteria met, from 0 to 100 (``"87,5"``, ``"87.5 %"``), None when empty.

    Anything else raises ValueError naming the setting.
    """
    if raw is None or str(raw).strip() == "":
        return None
    try:
        rate = float(str(raw).strip().rstrip("%").strip().replace(",", "."))
    except ValueError as err:
        raise ValueError(f"{name}: {raw!r} is not a rate from 0 to 100") from err
    if not 0 <= rate <= 100:
        raise ValueError(f"{name}: {raw!r} is not a rate from 0 to 100")
    return rate


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
    return suffixed_url(database_url(environ), "_test")


def suffixed_url(url: str, suffix: str) -> str:
    """``url`` with ``suffix`` appended to the database name (its query string kept)."""
    base, _, name = url.rpartition("/")
    name, sep, query = name.partition("?")
    return f"{base}/{name}{suffix}{sep}{query}"


#: The suite's other territories: database suffix → (OVA_STORAGE_CRS, OVA_TIMEZONE), each in a test
#: database of its own (``<test database>_reunion``…) that ``scripts/setup.sh test`` creates.
TEST_TERRITORIES = {
    "reunion": ("EPSG:2975", "Indian/Reunion"),
    "leipzig": ("EPSG:25833", "Europe/Berlin"),
}


#: Default time zone of local days, months and deadlines.
DEFAULT_TIMEZONE = "Europe/Paris"


def timezone_name() -> str:
    """The territory's IANA time zone (``OVA_TIMEZONE``, default Europe/Paris)."""
    return (env("OVA_TIMEZONE") or DEFAULT_TIMEZONE).strip()


def storage_crs() -> str:
    """The storage CRS as given (``OVA_STORAGE_CRS``, default ``EPSG:2154``)."""
    return (env("OVA_STORAGE_CRS") or DEFAULT_STORAGE_CRS).strip()


def storage_srid() -> int:
    """SRID of every stored geometry: the EPSG code of ``OVA_STORAGE_CRS`` (a projected CRS in metres).

    Read on each call (a test switches territory by its environment); raises ValueError naming the
    setting when the CRS is unknown, geographic or not in metres.
    """
    return _srid_of(storage_crs())


@lru_cache(maxsize=16)
def _srid_of(value: str) -> int:
    import pyproj

    if value.isdigit():
        value = f"EPSG:{value}"
    try:
        crs = pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as err:
        raise ValueError(f"OVA_STORAGE_CRS: unknown CRS {value!r}") from err
    epsg = crs.to_epsg()
    if epsg is None:
        raise ValueError(f"OVA_STORAGE_CRS: {value!r} has no EPSG code")
    units = {axis.unit_name for axis in crs.axis_info}
    if not crs.is_projected or units - {"metre"}:
        raise ValueError(f"OVA_STORAGE_CRS: {value!r} ({crs.name}) is not a projected CRS in metres")
    return epsg


#: Default name of the territory (the default storage CRS covers metropolitan France).
DEFAULT_TERRITORY_NAME = "France métropolitaine"


def territory_name() -> str:
    """The territory's name (``OVA_TERRITORY_NAME``)."""
    return (env("OVA_TERRITORY_NAME") or DEFAULT_TERRITORY_NAME).strip()


def country() -> str:
    """The territory's ISO 3166 country code, upper case (``OVA_COUNTRY``, default ``FR``)."""
    return (env("OVA_COUNTRY") or "FR").strip().upper()


def commune_code() -> str | None:
    """The commune code of a one-city territory (``OVA_COMMUNE_CODE``), or None."""
    value = env("OVA_COMMUNE_CODE")
    return value.strip() if value and value.strip() else None


def sql_timezone() -> str:
    """The territory's time zone as an SQL string literal (``'Europe/Paris'``), for SQL built at call time.

    The name is checked against the IANA database first (ValueError naming ``OVA_TIMEZONE``), so it
    never carries anything but a zone name.
    """
    import zoneinfo

    name = timezone_name()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"OVA_TIMEZONE: unknown time zone {name!r}") from err
    return "'" + name.replace("'", "''") + "'"


def holidays_setting() -> str:
    """The public holidays of the territory as a `holidays` code (``OVA_HOLIDAYS``: FR, FR-57, DE-SN…).

    Defaults to France's (``FR``).
    """
    return (env("OVA_HOLIDAYS") or "FR").strip()


def public_url() -> str:
    """Return the portal's public address, used in links sent by e-mail (``OVA_PUBLIC_URL``)."""
    return (env("OVA_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")


def basemap_font() -> str:
    """Path of the TrueType font of the basemap's street names (``OVA_BASEMAP_FONT``)."""
    return env("OVA_BASEMAP_FONT") or DEFAULT_BASEMAP_FONT
