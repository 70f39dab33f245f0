"""Fixtures of the scene-classification tests (paths to ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO / "../shared/data"


@pytest.fixture()
def parity_a() -> Path:
    path = SHARED_DATA / "parity-a"
    if not path.exists():
        pytest.skip(f"missing resource: shared data not found: {path}")
    return path
