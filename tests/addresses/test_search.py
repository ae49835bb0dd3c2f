"""Address search on the shipped BAN file: the ways people type, filters, reverse search."""
import pytest

from addresses import search as geocoder
from ova.errors import InvalidInput

SEBASTOPOL_8 = "75104_8894_00008"


def _first(conn, q, **kwargs):
    found = geocoder.search(conn, q, recheck=0, **kwargs)["features"]
    assert found, f"nothing found for {q!r}"
    return found[0]["properties"]


@pytest.mark.parametrize("q", [
    "8 Boulevard de Sébastopol 75004 Paris",     # the label
    "8 boulevard de sebastopol",                 # lower case, no accents, no postcode nor city
    "8 BD DE SEBASTOPOL",                        # upper case, abbreviated
    "8 bd sebastopol paris",                     # "de" left out, city typed
    "8, bd. de Sébastopol, 75004",               # punctuation
    "8 bd de sebastopol 75003 paris",            # a wrong postcode (the street crosses 4)
    "8 boulevard de sebastpol",                  # one typo (a letter dropped)
    "8 boulevard de sébastoopol",                # one typo (a letter doubled)
    "8 boulevadr de sebastopol",                 # one typo (letters swapped) in the type
    "8 bd de sebast",                            # the last word being typed
    "008 bd de sebastopol",                      # leading zeros
    "bureau 3, 8 bd de sebastopol 75004 paris cedex 04",  # what La Poste adds
])
def test_the_house_number_is_found_however_typed(ban, q):
    props = _first(ban, q)
    assert (props["id"], props["type"], props["housenumber"]) == (SEBASTOPOL_8, "housenumber", "8"), props


@pytest.mark.parametrize("q,label", [
    ("100 rue du fg st antoine", "100 Rue du Faubourg Saint-Antoine 75012 Paris"),
    ("10 av des champs elysees", "10 Avenue des Champs Elysées 75008 Paris"),
    ("1 pl du pantheon", "1 Place du Panthéon 75005 Paris"),
    ("194 bis rue de rivoli", "194b Rue de Rivoli 75001 Paris"),   # bis spelt out, Paris writes b
    ("194b r de rivoli", "194b Rue de Rivoli 75001 Paris"),
    ("194 r rivoli", "194 Rue de Rivoli 75001 Paris"),            # no suffix: the plain number
])
def test_abbreviations_and_suffixes(ban, q, label):
    assert _first(ban, q)["label"] == label


def test_a_missing_house_number_gives_the_street(ban):
    props = _first(ban, "9999 rue de rivoli")
    assert (props["type"], props["street"]) == ("street", "Rue de Rivoli")
    assert "housenumber" not in props
    assert _first(ban, "rue de la paix")["label"] == "Rue de la Paix 75002 Paris"


def test_ban_properties_and_geojson(ban):
    answer = geocoder.search(ban, "8 bd de sebastopol", limit=3, recheck=0)
    assert (answer["type"], answer["limit"], answer["query"]) == ("FeatureCollection", 3, "8 bd de sebastopol")
    assert len(answer["features"]) == 3
    best = answer["features"][0]
    lon, lat = best["geometry"]["coordinates"]
    assert (best["geometry"]["type"], round(lon, 4), round(lat, 4)) == ("Point", 2.3488, 48.8591)
    props = best["properties"]
    assert {k: props[k] for k in ("label", "housenumber", "street", "postcode", "citycode", "city", "district",
                                  "type", "name")} == {
        "label": "8 Boulevard de Sébastopol 75004 Paris", "housenumber": "8", "street": "Boulevard de Sébastopol",
        "postcode": "75004", "citycode": "75104", "city": "Paris", "district": "Paris 4e Arrondissement",
        "type": "housenumber", "name": "8 Boulevard de Sébastopol"}
    scores = [f["properties"]["score"] for f in answer["features"]]
    assert 0.8 < scores[0] <= 1 and scores == sorted(scores, reverse=True)


def test_filters(ban):
    assert _first(ban, "rue de rivoli", citycode="75104")["citycode"] == "75104"
    assert _first(ban, "rue de rivoli", postcode="75001")["postcode"] == "75001"
    streets = geocoder.search(ban, "8 bd de sebastopol", type="street", recheck=0)["features"]
    assert streets and {f["properties"]["type"] for f in streets} == {"street"}
    numbers = geocoder.search(ban, "8 bd de sebastopol", type="housenumber", recheck=0)["features"]
    assert [f["properties"]["id"] for f in numbers] == [SEBASTOPOL_8]
    assert geocoder.search(ban, "rue de rivoli", citycode="44109", recheck=0)["features"] == []
    # Communes and lieux-dits are not indexed: a BAN client asking for them gets nothing, not an error.
    assert geocoder.search(ban, "paris", type="municipality", recheck=0)["features"] == []


def test_lat_lon_favour_what_is_near(ban):
    # Rue de Rivoli is in the 1st and the 4th: a point near the Hôtel de Ville picks the 4th.
    near = _first(ban, "rue de rivoli", lat=48.8566, lon=2.3540)
    assert near["citycode"] == "75104" and near["distance"] < 500
    assert _first(ban, "rue de rivoli", lat=48.8625, lon=2.3336)["citycode"] == "75101"


@pytest.mark.parametrize("kwargs,message", [
    ({"q": "ab"}, "at least 3 characters"), ({"q": "..."}, "at least 3 characters"),
    ({"q": "rue de rivoli", "limit": 0}, "limit"), ({"q": "rue de rivoli", "limit": 51}, "limit"),
    ({"q": "rue de rivoli", "type": "city"}, "type must be one of"),
])
def test_bad_search_parameters(ban, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        geocoder.search(ban, **kwargs)


def test_nothing_found_is_an_empty_collection(ban):
    assert geocoder.search(ban, "zzzzqqqq xxyyzz", recheck=0)["features"] == []


def test_reverse_gives_the_nearest_address_with_its_distance(ban):
    answer = geocoder.reverse(ban, 2.348766, 48.859081)
    props = answer["features"][0]["properties"]
    assert (props["id"], props["type"], props["label"]) == (SEBASTOPOL_8, "housenumber",
                                                            "8 Boulevard de Sébastopol 75004 Paris")
    assert props["distance"] == 0 and props["score"] > 0.99
    several = geocoder.reverse(ban, 2.348766, 48.859081, limit=3)["features"]
    distances = [f["properties"]["distance"] for f in several]
    assert len(several) == 3 and distances == sorted(distances)
    street = geocoder.reverse(ban, 2.348766, 48.859081, type="street")["features"][0]["properties"]
    assert street["type"] == "street" and "housenumber" not in street


def test_reverse_refuses_points_off_the_earth(ban):
    with pytest.raises(InvalidInput, match="lon must be in"):
        geocoder.reverse(ban, 200.0, 48.0)


def test_locate_and_nearest_for_the_report_form(ban):
    assert geocoder.locate(ban, "8 bd de sebastopol")["properties"]["id"] == SEBASTOPOL_8
    assert geocoder.locate(ban, "rue de rivoli") is None  # a street alone places nothing
    assert geocoder.locate(ban, "zzzzqqqq") is None
    assert geocoder.nearest(ban, 2.348766, 48.859081)["properties"]["id"] == SEBASTOPOL_8
    assert geocoder.nearest(ban, -1.55, 47.21) is None  # Nantes: no address file


def test_the_street_index_follows_the_database(ban):
    from sqlalchemy import text

    before = geocoder.search(ban, "rue imaginaire test", recheck=0)["features"]
    assert not before or before[0]["properties"]["street"] != "Rue Imaginaire du Test"
    ban.execute(text(
        "INSERT INTO address_streets (street, street_key, postcode, citycode, city, search, address_count, geom) "
        "SELECT 'Rue Imaginaire du Test', 'rue imaginaire test', '75001', '75101', 'Paris 1er Arrondissement', "
        "'rue imaginaire test paris 1er', 1, geom FROM address_streets LIMIT 1"))
    assert _first(ban, "rue imaginaire test")["street"] == "Rue Imaginaire du Test"
