"""Shared fixtures of the batch tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Own SEN2COR_HOME; restore the package logger's handlers and level afterwards."""
    monkeypatch.setenv("SEN2COR_HOME", str(tmp_path / "home"))
    package = logging.getLogger("sen2cor")
    handlers, level = list(package.handlers), package.level
    yield
    package.handlers[:] = handlers
    package.setLevel(level)
