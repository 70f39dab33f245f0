"""Fixtures for the Level-2A writer tests: small L1C products and synthetic processing results."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from sen2cor.bands import L2A_BANDS
from sen2cor.io.l1c import read_l1c
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a import ProcessingInfo, ResolutionResult
from sen2cor.testing import L1CSpec, make_l1c

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = (REPO / ".." / "shared" / "reference" / "schemas" / "psd-14.5").resolve()
PARITY_INPUT = (REPO / ".." / "shared" / "data" / "parity-a" / "input").resolve()
ESA_L2A = (REPO / ".." / "shared" / "data" / "s2-l2a-t29unu-esa").resolve()
NOW = datetime(2026, 1, 2, 3, 4, 5)


def synthetic_result(l1c: L1CProduct, resolution: int, seed: int = 0, *, extra_bands: tuple[str, ...] = ()
                     ) -> ResolutionResult:
    """Random but plausible arrays on the L1C grid: reflectance incl. negatives and NaN no-data."""
    rng = np.random.default_rng(seed)
    shape = l1c.tile.grid.shape(resolution)
    boa = {}
    for band in (*L2A_BANDS[resolution], *extra_bands):
        rho = rng.uniform(-0.02, 0.8, shape).astype(np.float32)
        rho[0, 0] = np.nan
        boa[band] = rho
    if resolution == 10:
        return ResolutionResult(10, boa=boa, aot=np.full(shape, 0.123, np.float32),
                                wvp=rng.uniform(0.5, 3.0, shape).astype(np.float32))
    scl = rng.integers(1, 12, shape).astype(np.uint8)
    scl[0, 0] = 0
    return ResolutionResult(
        resolution, boa=boa, scl=scl,
        aot=rng.uniform(0.05, 0.6, shape).astype(np.float32),
        wvp=rng.uniform(0.5, 3.0, shape).astype(np.float32),
        cloud_probability=rng.integers(0, 101, shape).astype(np.uint8),
        snow_probability=rng.integers(0, 101, shape).astype(np.uint8),
        ddv_mask=rng.random(shape) > 0.9,
        dem=rng.uniform(0, 1500, shape).astype(np.float32),
    )


def full_info(**kw: object) -> ProcessingInfo:
    """A ProcessingInfo as a completed run fills it."""
    values = dict(
        aot_method="SEN2COR_DDV", ozone_source="AUX_ECMWFT", ozone_du=277.14, ddv_visibility_km=15.12,
        final_visibility_km=15.12, ddv_pixel_percentage=2.02, lut_files=("g99000_wv20_rura.atm",),
        gipp_files={"GIP_L2ACSC": "L2A_CAL_SC_GIPP", "GIP_L2ACAC": "L2A_CAL_AC_GIPP"},
        negative_boa_percentages={"B02": 0.13, "B12": 0.0},
        scene_percentages={"CLOUDY_PIXEL_PERCENTAGE": 12.5, "VEGETATION_PERCENTAGE": 40.0,
                           "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE": 10.0},
    )
    values.update(kw)
    return ProcessingInfo(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def small_l1c_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated L1C (PB 05.10, 120 × 180 px at 10 m), made read-only like a user's input."""
    root = tmp_path_factory.mktemp("l1c")
    safe = make_l1c(root, L1CSpec(shape10=(120, 180)))
    for p in sorted(safe.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    safe.chmod(0o555)
    yield safe
    for p in safe.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    safe.chmod(0o755)


@pytest.fixture(scope="session")
def small_l1c(small_l1c_path: Path) -> L1CProduct:
    return read_l1c(small_l1c_path)


@pytest.fixture(scope="session")
def schema_dir() -> Path:
    if not (SCHEMAS / "S2_User_Product_Level-2A_Metadata.xsd").is_file():
        pytest.skip(f"missing resource: PSD 14.5 schemas not found at {SCHEMAS}")
    return SCHEMAS


@pytest.fixture(scope="session")
def parity_l1c_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copy of the parity-a L1C (real ESA metadata); images are symbolic links to the shared files."""
    safes = sorted(PARITY_INPUT.glob("*.SAFE")) if PARITY_INPUT.is_dir() else []
    if not safes:
        pytest.skip(f"missing resource: parity-a input not found at {PARITY_INPUT}")
    dst = tmp_path_factory.mktemp("parity") / safes[0].name

    def link_images(src: str, target: str) -> str:
        if src.endswith(".jp2"):
            os.symlink(src, target)
        else:
            shutil.copyfile(src, target)
        return target

    shutil.copytree(safes[0], dst, copy_function=link_images)
    return dst


@pytest.fixture(scope="session")
def parity_l1c(parity_l1c_path: Path) -> L1CProduct:
    return read_l1c(parity_l1c_path)
