"""Builders of test and demo products (no real metadata file is ever copied)."""

from sen2cor.testing.l1c_builder import L1CSpec, make_l1c
from sen2cor.testing.scene import synthetic_toa

__all__ = ["L1CSpec", "make_l1c", "synthetic_toa"]
