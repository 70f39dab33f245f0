"""One resolution run: scene classification and atmospheric correction on arrays (facts §5 items 6–8).

:func:`classify_scene` and :func:`correct` are where :mod:`sen2cor.sc` and :mod:`sen2cor.ac` meet the data
loaded by :mod:`sen2cor.pipeline.inputs`; they return plain results for :mod:`sen2cor.pipeline.run`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sen2cor.config.settings import L2ASettings
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.pipeline.inputs import ResolutionInputs
from sen2cor.sc.classify import ScResult, classify
from sen2cor.sc.quality import scene_percentages

log = logging.getLogger(__name__)


@contextmanager
def timed(step: str, timings: dict[str, float] | None = None) -> Iterator[None]:
    """Log the duration of ``step`` at INFO and add it to ``timings``."""
    start = time.perf_counter()
    yield
    dt = time.perf_counter() - start
    log.info("%s: %.2f s", step, dt)
    if timings is not None:
        timings[step] = timings.get(step, 0.0) + dt


@dataclass(frozen=True)
class SceneOutcome:
    """Scene classification of one run and its quality percentages (facts §8)."""

    sc: ScResult = field(repr=False)
    percentages: dict[str, float] = field(default_factory=dict)


def classify_scene(
    product: L1CProduct,
    settings: L2ASettings,
    inputs: ResolutionInputs,
    *,
    quality_mask: NDArray[np.bool_] | None = None,
    terrain: dict[str, Any] | None = None,
    esacci: dict[str, Any] | None = None,
    psd15: bool = False,
) -> SceneOutcome:
    """Run the scene classification on the working grid (20 or 60 m)."""
    angles = product.tile.angles
    mode = "classic" if settings.options.sc_classic else "evolution"
    terrain = terrain or {}
    esacci = esacci or {}
    sc = classify(
        inputs.toa,
        resolution=inputs.resolution,
        thresholds=settings.sc_thresholds,
        mode=mode,
        sun_zenith=angles.mean_sun_zenith,
        sun_azimuth=angles.mean_sun_azimuth,
        b08_toa=inputs.b08,
        quality_mask=quality_mask,
        dem=terrain.get("dem"),
        slope=terrain.get("slope"),
        cast_shadow=terrain.get("cast_shadow"),
        illumination=terrain.get("illumination"),
        esacci_lcm=esacci.get("lcm"),
        wbi=esacci.get("wbi"),
        snc=esacci.get("snc"),
        snow_map=esacci.get("snow_map"),
        altitude_km=settings.user.altitude_km,
        median_filter=settings.user.median_filter,
    )
    full = int(np.prod(product.tile.grid.shape(inputs.resolution)))
    pct = scene_percentages(sc.scl, full_tile_pixels=full, wbi=esacci.get("wbi"), psd15=psd15)
    return SceneOutcome(sc, pct)
