"""Shared fixtures of the physics tests: the Sen2Cor 2.8 LUTs from ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "../shared/data"
LUT_DIR = SHARED_DATA / "sen2cor-2.8-luts"
SRF_DIR = SHARED_DATA / "s2-srf"


@pytest.fixture(scope="session")
def esa_lib_dir() -> Path:
    if not (LUT_DIR / "lib_S2A" / "20_60").is_dir():
        pytest.skip(f"missing resource: Sen2Cor 2.8 LUTs not found at {LUT_DIR.resolve()} (shared test data absent)")
    return LUT_DIR
