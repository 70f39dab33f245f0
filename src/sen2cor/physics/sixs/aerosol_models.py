"""The aerosol models of our 6S tables, fitted to Sen2Cor's rural and maritime LUTs.

Numbers printed by ``tools/luts/fit_aerosol.py RURAL|MARITIME`` and formatted by
``tools/luts/format_model.py`` (reference: ESA Sen2Cor 2.8 tables, S2A, mid-latitude summer, 331 DU,
wv04, 0 km; residuals per wavelength in docs/luts.md).  Below 0.443 µm (no ESA band to fit) the
optics of 0.443 µm are used.  Changing a number changes the model hash
recorded in every generated chunk, so ``make luts`` then regenerates the chunks of that model.
"""

from __future__ import annotations

from typing import Final

from sen2cor.physics.sixs.aerosol import TabulatedAerosol

RURAL: Final[TabulatedAerosol] = TabulatedAerosol(
    name='RURAL',
    extinction=(
        1.69285, 1.45513, 1.4072, 1.29615, 1.2121, 1.16156, 1.08612, 1.0, 0.91868, 0.84482, 0.78869,
        0.75251, 0.68547, 0.59505, 0.33284, 0.23662, 0.21063, 0.15897, 0.12492, 0.05284,
    ),
    ssa=(
        0.9388, 0.9388, 0.9388, 0.9388, 0.93571, 0.93567, 0.93092, 0.92848, 0.9227, 0.91919, 0.91858,
        0.91479, 0.90776, 0.89198, 0.7971, 0.8395, 0.90073, 0.98451, 0.96463, 0.96463,
    ),
    asymmetry=(
        0.64164, 0.64164, 0.64164, 0.64164, 0.63612, 0.63717, 0.63317, 0.63447, 0.62947, 0.6266,
        0.63014, 0.63354, 0.63124, 0.63274, 0.62665, 0.67265, 0.7086, 0.74692, 0.7591, 0.7591,
    ),
    backscatter=(
        0.01818, 0.01818, 0.01818, 0.01818, 0.01246, 0.01061, 0.00755, 0.00616, 0.00438, 0.00289,
        0.00262, 0.00285, 0.00251, 0.00251, 0.00144, 0.00199, 0.00474, 0.0, 0.00539, 0.00539,
    ),
    backscatter_g=0.5,
    aot_nodes=(
        0.07869, 0.11125, 0.2011, 0.32259, 0.46472, 0.65702, 0.89097, 1.18758,
    ),
    aot_scale=(
        0.97506, 0.95895, 0.97743, 1.0211, 1.056, 1.0999, 1.09519, 1.10581,
    ),
)

"""Sen2Cor ``Aerosol_Type`` RURAL (libRadtran rural) as tabulated 6S optics."""

MARITIME: Final[TabulatedAerosol] = TabulatedAerosol(
    name='MARITIME',
    extinction=(
        1.30051, 1.20459, 1.18434, 1.13605, 1.09814, 1.07471, 1.04047, 1.0, 0.96084, 0.92391, 0.89491,
        0.87657, 0.83997, 0.78965, 0.62704, 0.54771, 0.52118, 0.45515, 0.40527, 0.26781,
    ),
    ssa=(
        0.94702, 0.94702, 0.94702, 0.94702, 0.94293, 0.9428, 0.93914, 0.93937, 0.93876, 0.94274,
        0.94879, 0.95131, 0.9587, 0.97104, 0.99427, 1.0, 1.0, 0.99998, 1.0, 1.0,
    ),
    asymmetry=(
        0.64294, 0.64294, 0.64294, 0.64294, 0.63657, 0.63763, 0.63463, 0.64013, 0.64328, 0.65147,
        0.66444, 0.67472, 0.68573, 0.70682, 0.72041, 0.71273, 0.71274, 0.71611, 0.72572, 0.72572,
    ),
    backscatter=(
        0.01712, 0.01712, 0.01712, 0.01712, 0.01101, 0.00872, 0.00584, 0.00409, 0.00308, 0.00293,
        0.00288, 0.00366, 0.00434, 0.00546, 0.0128, 1e-05, 2e-05, 0.0, 0.0, 0.0,
    ),
    backscatter_g=0.5,
    aot_nodes=(
        0.07869, 0.11125, 0.2011, 0.32259, 0.46472, 0.65702, 0.89097, 1.18758,
    ),
    aot_scale=(
        0.83509, 0.85577, 0.91342, 0.97484, 1.02423, 1.07781, 1.07926, 1.09426,
    ),
)

"""Sen2Cor ``Aerosol_Type`` MARITIME (libRadtran maritime) as tabulated 6S optics."""

MODELS: Final[dict[str, TabulatedAerosol]] = {"RURAL": RURAL, "MARITIME": MARITIME}
"""Models by Sen2Cor ``Aerosol_Type`` name."""
