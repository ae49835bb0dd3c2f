"""The territory: storage CRS setting, extent, clipping, and the CRS recorded in the database."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from ova import settings, territory
from ova.territory import TerritoryMismatch, check_database, clip_box, clip_lonlat


def test_default_territory_is_lambert93_in_paris_time(monkeypatch):
    for name in ("OVA_STORAGE_CRS", "OVA_TIMEZONE", "OVA_COUNTRY", "OVA_TERRITORY_NAME"):
        monkeypatch.delenv(name, raising=False)
    here = territory.current()
    assert (here.srid, here.timezone, here.country, here.is_french) == (2154, "Europe/Paris", "FR", True)
    west, south, east, north = here.extent
    assert west < -5 and east > 9.5 and south < 41.5 and north > 51


@pytest.mark.parametrize("value,srid", [("EPSG:2975", 2975), ("2975", 2975), (" epsg:25833 ", 25833)])
def test_storage_crs_setting(monkeypatch, value, srid):
    monkeypatch.setenv("OVA_STORAGE_CRS", value)
    assert settings.storage_srid() == srid


@pytest.mark.parametrize("value,words", [("EPSG:4326", "not a projected CRS in metres"),
                                         ("EPSG:2249", "not a projected CRS in metres"),  # US survey feet
                                         ("nowhere", "unknown CRS")])
def test_storage_crs_must_be_projected_in_metres(monkeypatch, value, words):
    monkeypatch.setenv("OVA_STORAGE_CRS", value)
    with pytest.raises(ValueError, match=f"OVA_STORAGE_CRS: .*{words}"):
        settings.storage_srid()


def test_world_boxes_are_clipped_to_the_area_of_use():
    assert clip_lonlat((-180, -90, 180, 90), 2975) == territory.area_of_use(2975)
    assert clip_lonlat((-75, 40, -73, 41), 2154) is None  # New York is no part of Lambert-93's area
    m = 20037508.34
    west, south, east, north = clip_box((-m, -m, m, m), 3857, 2154)
    assert -1.2e6 < west < -1.0e6 and 1.1e6 < east < 1.2e6 and 5.0e6 < south < north < 6.8e6
    x0, y0, x1, y1 = clip_box((-1e7, -1e8, 1e7, 1e8), 2975, 2975)
    assert 150_000 < x0 < x1 < 650_000 and 7_200_000 < y0 < y1 < 8_000_000  # RGR92 / UTM 40S's area


def test_outside_message_names_the_territory(monkeypatch):
    monkeypatch.setenv("OVA_STORAGE_CRS", "EPSG:2975")
    monkeypatch.setenv("OVA_TERRITORY_NAME", "La Réunion")
    assert territory.current().outside() == ("outside the territory (La Réunion, extent lon 54.00 … 58.24, "
                                         "lat -24.72 … -18.28)")


def test_database_records_its_crs(connection):
    row = territory.recorded(connection)
    assert (row["srid"], row["crs_name"]) == (2154, "RGF93 v1 / Lambert-93")


def test_portal_on_a_database_of_another_crs_is_refused(connection, monkeypatch):
    check_database(connection)  # the configured CRS: accepted
    monkeypatch.setenv("OVA_STORAGE_CRS", "EPSG:2975")
    with pytest.raises(TerritoryMismatch, match=r"created with the storage CRS EPSG:2154 \(RGF93 v1 / Lambert-93\) "
                       r"but OVA_STORAGE_CRS is EPSG:2975 \(RGR92 / UTM zone 40S\)"):
        check_database(connection)


def test_create_app_refuses_a_database_of_another_crs(db_url, monkeypatch):
    from portal import create_app

    monkeypatch.setenv("OVA_STORAGE_CRS", "EPSG:25833")
    with pytest.raises(TerritoryMismatch, match="EPSG:2154.*EPSG:25833"):
        create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "x"})


def test_one_territory_row(connection):
    with pytest.raises(Exception, match="ck_territory_one_row"):
        connection.execute(text("INSERT INTO territory (id, srid, crs_name, timezone, name, country) "
                                "VALUES (2, 2975, 'x', 'Indian/Reunion', 'x', 'FR')"))
