"""The two aerosol models of our 6S tables, fitted to Sen2Cor's rural and maritime LUTs.

Numbers printed by ``tools/luts/fit_aerosol.py RURAL|MARITIME`` (ESA Sen2Cor 2.8 tables, S2A,
mid-latitude summer, 331 DU, wv04, 0 km; path-radiance ratio residuals ≤ 1.3 % in VNIR and ≤ 5.5 % in SWIR,
spherical-albedo ratio residuals ≤ 18 % at 2.25 µm — see docs/luts.md).  Changing a number here changes
the model hash recorded in every generated chunk, so ``make luts`` regenerates them.
"""

from __future__ import annotations

from typing import Final

from sen2cor.physics.sixs.aerosol import TabulatedAerosol

RURAL: Final[TabulatedAerosol] = TabulatedAerosol(
    name='RURAL',
    extinction=(
        1.69285, 1.45513, 1.4072, 1.29615, 1.2121, 1.16156, 1.08612, 1.0, 0.91868, 0.84482, 0.78869,
        0.75251, 0.68547, 0.59505, 0.33284, 0.23662, 0.21063, 0.15897, 0.12492, 0.05284
    ),
    ssa=(
        0.96186, 0.96186, 0.96186, 0.92453, 0.92661, 0.92829, 0.92866, 0.93126, 0.92772, 0.92409,
        0.92523, 0.92718, 0.90256, 0.88168, 0.8042, 0.8216, 0.84076, 0.89831, 0.97608, 0.97608
    ),
    asymmetry=(
        0.58023, 0.58023, 0.58023, 0.60922, 0.61617, 0.62072, 0.62483, 0.63229, 0.63032, 0.62771,
        0.63287, 0.63965, 0.62568, 0.62242, 0.65693, 0.68911, 0.69786, 0.71995, 0.73872, 0.73872
    ),
    backscatter=(
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.00156, 0.00096, 0.00071, 0.00025,
        0.00039, 0.00024, 0.00027, 0.00027
    ),
    backscatter_g=0.5,
    aot_nodes=(
        0.07869, 0.11125, 0.2011, 0.32259, 0.46472, 0.65702, 0.89097, 1.18758
    ),
    aot_scale=(
        0.97506, 0.95895, 0.97743, 1.0211, 1.056, 1.0999, 1.09519, 1.10581
    ),
)
"""Sen2Cor ``Aerosol_Type`` RURAL (libRadtran rural) as tabulated 6S optics."""

MODELS: Final[dict[str, TabulatedAerosol]] = {"RURAL": RURAL}
"""Models by Sen2Cor ``Aerosol_Type`` name."""
