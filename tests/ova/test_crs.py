"""ova.crs: which CRS coordinates fit, told from the EPSG areas of use and the territory."""
import numpy as np
import pyproj
import pytest

from ova import crs

#: Real places (lon, lat): Paris, Hôtel de Ville; Nantes, Château des ducs; Saint-Denis de La Réunion, Barachois.
PARIS = (np.array([2.3522, 2.30, 2.40]), np.array([48.8566, 48.83, 48.89]))
NANTES = (np.array([-1.5497]), np.array([47.2161]))
SAINT_DENIS = (np.array([55.4481, 55.47]), np.array([-20.8789, -20.89]))


def _in(epsg, lonlat):
    x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(*lonlat)
    return np.asarray(x), np.asarray(y)


@pytest.mark.parametrize("epsg", [2154, 3948, 3949, 27572])
def test_metropolitan_crs_recognised_from_paris_coordinates(epsg):
    fits = crs.fitting_crs(*_in(epsg, PARIS))
    assert fits[0].epsg == epsg and fits[0].in_territory


def test_nantes_in_cc47():
    assert crs.fitting_crs(*_in(3947, NANTES))[0].epsg == 3947


def test_the_loaded_quartiers_tell_web_mercator_from_lambert93():
    """Paris in Web Mercator also reads as Lambert-93 (off Biarritz): the loaded quartiers' extent decides."""
    x, y = _in(3857, PARIS)
    assert [f.epsg for f in crs.fitting_crs(x, y)][:2] == [2154, 3857]
    paris = (2.12, 48.71, 2.57, 49.0)
    assert crs.diagnosis(x, y, declared="EPSG:4326", extent=paris).endswith("pass --crs EPSG:3857")


def test_overseas_utm_outside_and_inside_the_territory():
    x, y = _in(2975, SAINT_DENIS)
    message = crs.diagnosis(x, y, declared="EPSG:4326")  # storage CRS Lambert-93: another territory
    assert "they fit EPSG:2975 (RGR92 / UTM zone 40S), outside the territory; pass --crs EPSG:2975" in message
    reunion = crs.territory_extent(2975)  # a territory stored in RGR92 / UTM 40S
    assert crs.diagnosis(x, y, extent=reunion).endswith("they fit EPSG:2975 (RGR92 / UTM zone 40S); pass --crs EPSG:2975")


def test_degrees_in_a_projected_file_and_nonsense():
    assert crs.diagnosis(*PARIS, declared="EPSG:2154").endswith("they fit EPSG:4326 (WGS 84); pass --crs EPSG:4326")
    assert "fit none of the usual CRSs" in crs.diagnosis([1e9], [1e9])


def test_resolve_lets_crs_override_an_impossible_file_crs(tmp_path):
    x, y = _in(2154, PARIS)
    assert crs.resolve(tmp_path, "EPSG:4326", "EPSG:2154", x, y)[0] == "EPSG:2154"
    with pytest.raises(Exception, match="declares EPSG:4326 but --crs says EPSG:2154"):
        crs.resolve(tmp_path, "EPSG:4326", "EPSG:2154", *PARIS)
    with pytest.raises(Exception, match="unknown CRS 'EPSG:99999'"):
        crs.resolve(tmp_path, None, "EPSG:99999", x, y)
    assert crs.resolve(tmp_path, None, None, *PARIS, default="EPSG:4326") == ("EPSG:4326", None)
