"""Shared fixtures: the location of the real test data in ../shared (CI has it beside the clone)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
SHARED_DATA = SHARED / "data"
SHARED_REFERENCE = SHARED / "reference"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests needing it are skipped (with this reason) when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"missing resource: real test data not found at {SHARED_DATA} (clone the project beside shared/)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """``../shared/reference`` (schemas, facts)."""
    if not SHARED_REFERENCE.is_dir():
        pytest.skip(f"missing resource: reference material not found at {SHARED_REFERENCE}")
    return SHARED_REFERENCE
