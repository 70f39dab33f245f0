"""The stages of a run at each resolution, returning results for the writer (facts §5).

* :func:`process_base_resolution` — the 20 m (or native 60 m) run: scene classification, then the
  atmospheric correction (unless ``--sc_only``);
* :func:`reuse` — wrap a 20 m result read back from an existing product.

The 10 m run, which re-uses the 20 m SCL, AOT map and water vapour, is :mod:`sen2cor.pipeline.ten_metre`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from sen2cor.config.settings import L2ASettings
from sen2cor.io.l1c_bands import BandReader
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.resolution_images import ResolutionImages
from sen2cor.io.l2a.results import ProcessingInfo, ResolutionResult
from sen2cor.physics.radiometry import has_nonzero
from sen2cor.physics.toa_image import ToaImage
from sen2cor.pipeline import inputs as inp
from sen2cor.pipeline.aux_inputs import AuxInputs, load_aux, merge_info
from sen2cor.pipeline.resolution import classify_scene, timed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    """Result of one resolution run: arrays for the writer, updated info, and what the next run re-uses."""

    result: ResolutionResult
    info: ProcessingInfo
    ac: Any | None = field(default=None, repr=False)
    """The atmospheric-correction result (``sen2cor.ac.correct.AcResult``) or None (``--sc_only``)."""
    b09_60m: NDArray[np.float32] | None = field(default=None, repr=False)
    timings: dict[str, float] = field(default_factory=dict)


def _quality_mask(product: L1CProduct, settings: L2ASettings, resolution: int) -> NDArray[np.bool_] | None:
    if not settings.user.handle_l1c_qlt_mask:
        return None
    from sen2cor.io.masks import quality_mask

    return quality_mask(product.tile, resolution)


def process_base_resolution(
    product: L1CProduct, settings: L2ASettings, reader: BandReader, resolution: int, info: ProcessingInfo,
    encode_boa: Callable[[NDArray, NDArray], NDArray] | None = None,
    boa_images: ResolutionImages | None = None,
    before_correction: Callable[[], object] | None = None,
) -> RunOutcome:
    """Scene classification and (unless ``--sc_only``) atmospheric correction at 20 or 60 m.

    ``encode_boa``: the writer's encoder, to keep the surface reflectance as product DN; ``boa_images``:
    the writer's images of this resolution, to write each band as soon as it is corrected instead (see
    :func:`sen2cor.pipeline.correction.correct`), and the classification's images as soon as they are made;
    ``before_correction``: called when the classification is done and the correction starts (to start
    background work for a later run).
    """
    timings: dict[str, float] = {}
    with timed(f"read/decode {resolution} m", timings):
        data = inp.load_toa(reader, resolution)
    if not has_data(data.toa.values(), product.tile.grid.shape(resolution)[0]):
        log.warning("the tile holds no valid pixel (black tile): writing an empty classification")
    with timed(f"DEM/terrain/ESA-CCI {resolution} m", timings):
        aux = load_aux(product, settings, resolution)
    with timed(f"scene classification {resolution} m", timings):
        scene = classify_scene(product, settings, data,
                               quality_mask=_quality_mask(product, settings, resolution),
                               terrain=aux.sc_terrain(), esacci=aux.sc_esacci(), psd15=False)
    sc = scene.sc
    data = dataclasses.replace(data, b08=None)  # B08 at 20 m only serves the parallax step
    info = merge_info(dataclasses.replace(info, scene_percentages=scene.percentages), aux, settings)
    result = ResolutionResult(resolution=resolution, scl=sc.scl, cloud_probability=sc.cloud_probability,
                              snow_probability=sc.snow_probability, dem=dem_output(settings, aux))
    if boa_images is not None:  # encoded during the retrievals
        boa_images.add_classification(result)
    if settings.options.sc_only:
        return RunOutcome(result, dataclasses.replace(info, ac_enabled=False), timings=timings)
    from sen2cor.pipeline.correction import correct

    if before_correction is not None:
        before_correction()
    return correct(product, settings, reader, data, scene, info, timings, aux=aux, encode_boa=encode_boa,
                   boa_images=boa_images)


DATA_CHECK_STRIP_ROWS: Final[int] = 512
"""Rows of one band read at a time by :func:`has_data` (a 20 m tile: 5.6 MB of DN)."""


def has_data(bands: Iterable[ToaImage | NDArray[np.float32]], rows: int) -> bool:
    """Whether any band has a pixel with data (DN > 0, reflectance > 0), band after band and strip after
    strip, stopping at the first one: the bands' DN wait in scratch files
    (:class:`~sen2cor.io.scratch.RawImage`), and the mask of every pixel with data that this used to
    build took 0.5 CPU-s of a full 20 m tile, only to be asked whether it held one (session 25).  Negative
    reflectance cannot occur (DN 0 is 0, any other DN ≥ 1/quantification, facts §3), so non-zero is data."""
    for image in bands:
        values = image.dn if isinstance(image, ToaImage) else image
        for r0 in range(0, rows, DATA_CHECK_STRIP_ROWS):
            if has_nonzero(np.asarray(values[r0:r0 + DATA_CHECK_STRIP_ROWS])):
                return True
    return False


def dem_output(settings: L2ASettings, aux: AuxInputs) -> NDArray[np.float32] | None:
    """The DEM image of the product (``Generate_DEM_Output`` TRUE and a DEM available), else None."""
    if not settings.user.generate_dem_output or aux.dem is None:
        return None
    return aux.dem.elevation


def reuse(result: ResolutionResult, info: ProcessingInfo, product: L1CProduct, settings: L2ASettings,
          aot_method: str) -> RunOutcome:
    """A 20 m result read back from an existing product, as the base of a 10 m run.

    The scene percentages are recomputed from its SCL so that the rewritten metadata keep them.
    """
    from sen2cor.pipeline.correction import ac_from_product
    from sen2cor.sc.quality import scene_percentages

    if result.scl is not None:
        full = int(np.prod(product.tile.grid.shape(result.resolution)))
        info = dataclasses.replace(info, scene_percentages=scene_percentages(result.scl, full_tile_pixels=full))
    ac = ac_from_product(result, product, settings, aot_method)
    info = dataclasses.replace(info, aot_method=aot_method, granule_mean_aot=ac.info.mean_aot or None,
                               granule_mean_wv=ac.info.mean_wv_cm or None)
    return RunOutcome(result, info, ac=ac)
