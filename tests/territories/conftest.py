"""The suite's spatial core on two more territories, each in a test database of its own CRS.

``scripts/setup.sh test`` creates ``<test database>_reunion`` (EPSG:2975, Indian/Reunion) and
``<test database>_leipzig`` (EPSG:25833, Europe/Berlin) (``ova.settings.TEST_TERRITORIES``); the
schema is rebuilt here with the migrations under the territory's settings, as for the main one.
A test takes ``place`` (parametrised over both): the territory's settings are in the environment
for the test, and its connection is rolled back afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from ova.db import make_engine
from ova.settings import TEST_TERRITORIES, suffixed_url
from tests.builders import GEODATA, reset_schema

TERRITORIES = GEODATA / "territories"


@dataclass(frozen=True)
class Place:
    """A test territory: its settings, its shipped quartiers and their preset, what they measure."""

    key: str
    name: str
    country: str
    commune_code: str | None
    quartiers: str
    preset: str
    count: int
    #: Sum of the quartiers' areas in km² (the real territory's, see the tests).
    area_km2: float
    #: A quartier (code as loaded) and a place inside it (lon, lat).
    inside: tuple[str, float, float]
    env: dict = field(default_factory=dict)

    @property
    def crs(self) -> str:
        return TEST_TERRITORIES[self.key][0]

    @property
    def srid(self) -> int:
        return int(self.crs.split(":")[1])

    @property
    def timezone(self) -> str:
        return TEST_TERRITORIES[self.key][1]

    def settings(self) -> dict[str, str]:
        values = {"OVA_STORAGE_CRS": self.crs, "OVA_TIMEZONE": self.timezone, "OVA_TERRITORY_NAME": self.name,
                  "OVA_COUNTRY": self.country}
        if self.commune_code:
            values["OVA_COMMUNE_CODE"] = self.commune_code
        return values


PLACES = {
    # La Réunion: 2 512 km² (INSEE); Saint-Denis' préfecture is in the commune 97411.
    "reunion": Place("reunion", "La Réunion", "FR", None, "reunion_communes_974.geojson", "reunion-communes", 24,
                     2512, ("97411", 55.4481, -20.8789)),
    # Leipzig: 297.8 km² (the Ortsteil Zentrum, not in the file, is under 1 km²); Gohlis-Süd is Ortsteil 90.
    "leipzig": Place("leipzig", "Leipzig", "DE", "14713000", "leipzig_ortsteile_62.geojson", "leipzig-ortsteile", 62,
                     297.8, ("LE-90", 12.3662, 51.3560)),
}


@pytest.fixture(scope="session")
def territory_engines(db_url):
    """One engine per test territory, its schema built with the migrations under its settings."""
    engines = {}
    for key, place in PLACES.items():
        url = suffixed_url(db_url, f"_{key}")
        engine = make_engine(url, application_name="portail-ova-tests")
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT postgis_version()"))
        except Exception as err:  # never skipped: the suite's set-up creates them
            pytest.exit(f"no PostGIS database at {url}: {err}. Run `make test` (scripts/setup.sh test creates it).",
                        returncode=3)
        with pytest.MonkeyPatch.context() as mp:
            for name, value in place.settings().items():
                mp.setenv(name, value)
            reset_schema(engine)
        engines[key] = (engine, url)
    yield engines
    for engine, _ in engines.values():
        engine.dispose()


@dataclass
class Here:
    """The test's territory: its description, connection and database URL."""

    place: Place
    conn: object
    url: str


@pytest.fixture(params=sorted(PLACES))
def place(request, territory_engines, monkeypatch):
    """The test's territory (La Réunion, Leipzig): settings in the environment, a rolled-back connection."""
    spec = PLACES[request.param]
    for name, value in spec.settings().items():
        monkeypatch.setenv(name, value)
    engine, url = territory_engines[request.param]
    with engine.connect() as conn:
        outer = conn.begin()
        yield Here(spec, conn, url)
        outer.rollback()


@pytest.fixture
def reunion(territory_engines, monkeypatch):
    """La Réunion alone (a test of its own data): as ``place``."""
    spec = PLACES["reunion"]
    for name, value in spec.settings().items():
        monkeypatch.setenv(name, value)
    engine, url = territory_engines["reunion"]
    with engine.connect() as conn:
        outer = conn.begin()
        yield Here(spec, conn, url)
        outer.rollback()


@pytest.fixture
def place_app(place, tmp_path):
    """The portal on the territory's database, its sessions bound to the test's connection."""
    from portal import create_app, database

    application = create_app({"TESTING": True, "DATABASE_URL": place.url, "SECRET_KEY": "test-secret",
                              "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost",
                              "DOWNLOAD_CACHE_DIR": str(tmp_path / "downloads")})
    database.bind(application, place.conn)
    yield application
    database.dispose(application)


@pytest.fixture
def loaded(place):
    """The territory's shipped quartiers, loaded with their preset."""
    from etl.targets import load

    summary = load(place.conn, "quartiers", TERRITORIES / place.place.quartiers, preset=place.place.preset)
    return summary
