"""Fixtures of the atmospheric-correction tests: Sen2Cor's LUTs and synthetic forward-simulated scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sen2cor.physics import atm
from sen2cor.physics.lut import AtmosphericLut

LUT_DIR_NAME = "sen2cor-2.8-luts"


def _lut_dir(shared_data: Path) -> Path:
    d = shared_data / LUT_DIR_NAME
    if not d.is_dir():
        pytest.skip(f"missing resource: Sen2Cor LUTs not found at {d}")
    return d


@pytest.fixture(scope="session")
def lut_dir(shared_data: Path) -> Path:
    return _lut_dir(shared_data)


@pytest.fixture(scope="session")
def lut_rural(lut_dir: Path) -> AtmosphericLut:
    """S2A 20/60 m, summer, 331 DU, rural, all WV tables."""
    return atm.load_sen2cor_lut(lut_dir, platform="S2A", resolution=20, season="SUMMER", ozone_du=331.0,
                                aerosol="RURAL")


@pytest.fixture(scope="session")
def lut_maritime(lut_dir: Path) -> AtmosphericLut:
    return atm.load_sen2cor_lut(lut_dir, platform="S2A", resolution=20, season="SUMMER", ozone_du=331.0,
                                aerosol="MARITIME")


@pytest.fixture(scope="session")
def lut_rural_10m(lut_dir: Path) -> AtmosphericLut:
    return atm.load_sen2cor_lut(lut_dir, platform="S2A", resolution=10, season="SUMMER", ozone_du=331.0,
                                aerosol="RURAL")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
