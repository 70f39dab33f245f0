import pytest

from sen2cor.errors import ConfigError
from sen2cor.physics import lut_selection as sel


@pytest.mark.parametrize(
    ("season", "du", "letter"),
    [("SUMMER", 331, "h"), ("SUMMER", 300, "g"), ("SUMMER", 700, "k"), ("SUMMER", 100, "f"),
     ("WINTER", 377, "w"), ("WINTER", 340, "v"), ("WINTER", 440, "x"), ("SUMMER", None, "h"),
     ("WINTER", 0, "w")],
)
def test_ozone_letter_nearest(season, du, letter):
    assert sel.ozone_letter(season, du) == letter


def test_file_names():
    assert sel.atm_file_name("SUMMER", 331, 2.0, "RURAL") == "h99000_wv20_rura.atm"
    assert sel.atm_file_name("WINTER", 250, 0.4, "maritime") == "t99000_wv04_mari.atm"
    with pytest.raises(ConfigError):
        sel.aerosol_tag("AUTO")


@pytest.mark.parametrize(
    ("lat", "doy", "year", "season"),
    [(10.0, 10, 2021, "SUMMER"), (-30.0, 10, 2021, "SUMMER"), (30.0, 10, 2021, "WINTER"),
     (45.0, 90, 2021, "WINTER"), (45.0, 91, 2021, "SUMMER"), (45.0, 273, 2021, "SUMMER"),
     (45.0, 274, 2021, "WINTER"), (45.0, 91, 2020, "WINTER"), (45.0, 274, 2020, "SUMMER"),
     (-45.0, 200, 2021, "WINTER"), (-45.0, 20, 2021, "SUMMER")],
)
def test_auto_season(lat, doy, year, season):
    assert sel.resolve_season("AUTO", lat, doy, year) == season


def test_explicit_and_bad_season():
    assert sel.resolve_season("winter", 0.0, 180) == "WINTER"
    with pytest.raises(ConfigError, match="Mid_Latitude"):
        sel.resolve_season("SPRING", 0.0, 180)
