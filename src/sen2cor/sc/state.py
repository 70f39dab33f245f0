"""The working state a scene classification carries from step to step.

Sen2Cor keeps three arrays: the classification mask (with working labels 100/50/13 besides the SCL
codes), the cloud confidence and the snow confidence (facts §6).  :class:`ScState` bundles them for the
duration of one :func:`sen2cor.sc.classify.classify` call; every step function receives it and updates
it in place (the arrays of a 5490² tile are too large to copy at every step).  Nothing here is global.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sen2cor.sc.classes import NOT_CLASSIFIED

BoolArray = NDArray[np.bool_]
Float32Array = NDArray[np.float32]


@dataclass
class ScState:
    """Mutable per-call state of the classification.

    Attributes
    ----------
    scl : ndarray of uint8, shape (rows, cols)
        Working classification: SCL codes 0–11 plus the working labels of :mod:`sen2cor.sc.classes`.
    cloud : ndarray of float32, shape (rows, cols)
        Cloud confidence 0–1 ("confidenceMaskCloud").
    snow : ndarray of float32, shape (rows, cols)
        Snow confidence 0–1 ("confidenceMaskSnow").
    valid : ndarray of bool, shape (rows, cols)
        Pixels that are neither NO_DATA nor SATURATED_DEFECTIVE; fixed after pre-processing.
    b10_land_threshold : float
        B10 land threshold found by the cirrus recovery, re-used by the parallax false-cloud test
        (defaults to ``T1_B10`` when the recovery does not run; facts §6.3).
    diagnostics : dict
        Scalars a reader may want (cloud-height statistics, shadow threshold, …).
    """

    scl: NDArray[np.uint8]
    cloud: Float32Array
    snow: Float32Array
    valid: BoolArray
    b10_land_threshold: float
    diagnostics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def start(cls, shape: tuple[int, int], b10_land_threshold: float) -> ScState:
        """A state with every pixel ``NOT_CLASSIFIED`` and zero confidences."""
        return cls(
            scl=np.full(shape, NOT_CLASSIFIED, dtype=np.uint8),
            cloud=np.zeros(shape, dtype=np.float32),
            snow=np.zeros(shape, dtype=np.float32),
            valid=np.ones(shape, dtype=bool),
            b10_land_threshold=b10_land_threshold,
        )

    def rows(self, strip: slice) -> ScState:
        """A state whose arrays are views of the rows ``strip`` of this one (same diagnostics dict).

        Steps that only look at each pixel on its own can run on such views one strip of rows at a time
        (see :mod:`sen2cor.sc.strips`); what they write lands in this state.
        """
        return ScState(
            scl=self.scl[strip],
            cloud=self.cloud[strip],
            snow=self.snow[strip],
            valid=self.valid[strip],
            b10_land_threshold=self.b10_land_threshold,
            diagnostics=self.diagnostics,
        )

    def is_(self, *classes: int) -> BoolArray:
        """Mask of pixels whose working class is one of ``classes``."""
        out = self.scl == classes[0]
        for c in classes[1:]:
            out |= self.scl == c
        return out

    def assign(
        self, mask: BoolArray, label: int, cloud: float | None = None, snow: float | None = None
    ) -> None:
        """Set ``label`` (and optionally the cloud/snow confidences) on ``mask``; never on invalid pixels."""
        m = mask & self.valid
        self.scl[m] = label
        if cloud is not None:
            self.cloud[m] = cloud
        if snow is not None:
            self.snow[m] = snow

    @property
    def unclassified(self) -> BoolArray:
        """Pixels still ``NOT_CLASSIFIED`` (working label 100)."""
        return self.scl == NOT_CLASSIFIED

    def count(self, label: int) -> int:
        """Number of pixels currently labelled ``label``."""
        return int(np.count_nonzero(self.scl == label))
