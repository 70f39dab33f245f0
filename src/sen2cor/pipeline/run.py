"""The processing chain of one Level-1C product: read → classify → correct → write (facts §5).

``run(options, settings)`` is what ``L2A_Process`` calls for each input.  It returns the path of the
Level-2A product.  Everything is built in a temporary folder by :class:`~sen2cor.io.l2a.writer.L2AWriter`
and renamed into place at the end, so a failed or killed run leaves no partial product; the input is only
read.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from sen2cor.ac.strips import CellSunMeans
from sen2cor.config.logsetup import run_log_file
from sen2cor.config.settings import L2ASettings, RunOptions
from sen2cor.errors import ConfigError
from sen2cor.io.l1c import read_l1c
from sen2cor.io.l1c_bands import BandReader
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.reread import read_resolution
from sen2cor.io.l2a.results import ProcessingInfo, ResolutionResult
from sen2cor.io.l2a.writer import L2AWriter
from sen2cor.physics.geometry import AngleImage
from sen2cor.pipeline import roi, stages, ten_metre
from sen2cor.pipeline.plan import plan_resolutions

log = logging.getLogger(__name__)


def base_info(settings: L2ASettings, product: L1CProduct) -> ProcessingInfo:
    """Product settings known before processing (names, formats, GIPP list)."""
    o = settings.options
    psd = None if settings.user.psd_version == "DEFAULT" else float(settings.user.psd_version)
    return ProcessingInfo(
        processing_baseline=settings.processing_baseline,
        processing_centre=o.processing_centre,
        archiving_centre=o.archiving_centre,
        psd_version=psd,
        output_format=settings.output_format,
        sc_cog=o.sc_cog,
        generate_tci=settings.user.generate_tci_output,
        product_doi=settings.user.product_doi,
        file_class="OPER" if o.mode else "USER",
        average_solar_zenith_deg=product.tile.angles.mean_sun_zenith,
        start_visibility_km=abs(settings.user.visibility_km),
        gipp_files={
            "GIP_L2ACSC": settings.files.sc.stem,
            "GIP_L2ACAC": settings.files.ac.stem,
            "GIP_PROBA2": settings.files.pb.stem,
        },
    )


def _log_path(output_dir: Path) -> Path:
    """A timestamped per-run log file (copied into the product's HTML/ folder at the end)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    fd, name = tempfile.mkstemp(prefix=f"L2A_{stamp}_", suffix=".log", dir=tempfile.gettempdir())
    os.close(fd)
    return Path(name)


def run(options: RunOptions, settings: L2ASettings) -> Path:
    """Process one Level-1C product (toolbox mode) and return the Level-2A product path.

    Raises
    ------
    Sen2CorError
        Any user-facing failure (bad input, unreadable auxiliary data, …); no product is left behind.
    """
    if options.mode is not None:  # PDGS mode: datastrip, then tile by tile (user manual §3.3.1)
        from sen2cor.pipeline.pdgs import run_pdgs

        return run_pdgs(options, settings)
    if options.input_dir is None:
        raise ConfigError("no input product given")
    product = read_l1c(options.input_dir)
    output_dir = Path(options.output_dir) if options.output_dir else product.path.parent
    plan = plan_resolutions(options.resolution, settings.user.downsample_20_to_60)
    writer = L2AWriter(product, output_dir, base_info(settings, product), threads=settings.nr_threads)
    if not options.cr_only and writer.existing is not None and _already_done(writer, plan, options.sc_only):
        log.info("%s already holds the requested resolutions; nothing to do", writer.existing)
        return writer.existing

    log_file = _log_path(output_dir)
    try:
        with run_log_file(log_file), writer:
            log.info("processing %s (%s, baseline %s, tile T%s)", product.path.name, product.spacecraft,
                     product.processing_baseline, product.tile.tile_number)
            if options.cr_only:
                log.info("--cr_only: creating the product tree and metadata only")
                writer.write_metadata()
                return writer.finalise(log_file=log_file)
            info = process_planned(product, settings, writer, plan)
            writer.write_metadata(info)
            path = writer.finalise(log_file=log_file)
            _summary(path, info)
            return path
    finally:
        log_file.unlink(missing_ok=True)


def _already_done(writer: L2AWriter, plan, sc_only: bool) -> bool:
    """Sen2Cor stops when the product already holds what was asked (an SCL for ``--sc_only``)."""
    assert writer.existing is not None
    if sc_only:
        res = plan.classification_resolution
        return any((writer.existing / "GRANULE").glob(f"L2A_*/IMG_DATA/R{res}m/*_SCL_{res}m.*"))
    return all(writer.has_resolution(r) for r in plan.products)


def process_planned(product: L1CProduct, settings: L2ASettings, writer: L2AWriter, plan) -> ProcessingInfo:
    """Run the planned resolutions and write their images; returns the final processing info.

    Scratch files (the base-resolution DN while that run works, the 10 m bands' DN between the 20 m and
    the 10 m run) live in a folder inside the temporary product, removed at the end.
    """
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=writer.layout.root) as scratch, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="sen2cor-10m-sun") as background:
        spill = Path(scratch) if 10 in plan.runs else None
        return _process_in(product, settings, writer, plan, spill, Path(scratch), background)


def _process_in(product: L1CProduct, settings: L2ASettings, writer: L2AWriter, plan,
                spill: Path | None, scratch: Path, background: ThreadPoolExecutor) -> ProcessingInfo:
    options = settings.options
    # the DN of the base-resolution bands wait in the scratch folder, read back by the rows in use
    reader = BandReader(product, threads=settings.nr_threads, spill_dir=spill, dn_dir=scratch)
    info = writer.info
    res_sc = plan.classification_resolution
    win = roi.resolve_window(product, settings, reader)
    full_sizes = dict(product.tile.grid.sizes)
    if win is not None:  # Region_Of_Interest: work on the window, write full-frame images
        product = roi.crop_product(product, win)
        reader = roi.WindowReader(product, threads=settings.nr_threads, spill_dir=spill, dn_dir=scratch)

    def full(result: ResolutionResult) -> ResolutionResult:
        return result if win is None else roi.embed(result, win, full_sizes)

    previous: stages.RunOutcome | None = None
    sun_10m: list[Future[tuple[CellSunMeans, AngleImage]]] = []

    def start_10m_sun() -> None:
        """The 10 m sun-angle means (angle grids only) computed while the 20 m correction runs: one thread,
        in phases that leave a core idle (the aerosol and water-vapour retrievals)."""
        if 10 in plan.runs:
            sun_10m.append(background.submit(ten_metre.cell_sun_means, product, 1))

    if writer.existing is not None and writer.has_resolution(res_sc) and 10 in plan.runs:
        log.info("re-using the %d m results of %s", res_sc, writer.existing.name)
        existing = read_resolution(writer.existing, res_sc, offset=writer.offset, boa=False)
        previous = stages.reuse(existing if win is None else roi.crop(existing, win), info, product, settings,
                                _existing_aot_method(writer.existing))
    else:
        aggregate_60 = plan.aggregate_60 and res_sc == 20
        # whole tile: each corrected band goes to the encoder at once (a ROI is embedded in the frame first)
        images = (writer.resolution_images(res_sc, aggregate_to_60=aggregate_60, background=True)
                  if win is None else None)
        try:
            previous = stages.process_base_resolution(product, settings, reader, res_sc, info,
                                                      encode_boa=writer.encode_boa, boa_images=images,
                                                      before_correction=start_10m_sun)
        except BaseException:
            if images is not None:
                images.finish()  # let running encoders end before the temporary product is removed
            raise
        b09 = previous.b09_60m if win is None else roi.embed_b09(previous.b09_60m, win, full_sizes)
        # a 10 m run follows: its encoders do the 60 m aggregates (the writer writes them anyway if it
        # does not come); the 20 m images are all encoded before it starts (memory, writer docs)
        defer = 10 in plan.runs and not options.sc_only and previous.ac is not None
        writer.write_resolution(full(previous.result), aggregate_to_60=aggregate_60, b09_60m=b09, release=True,
                                images=images, defer=defer)
        images = b09 = None  # written (with the 60 m aggregates): free the memory before the 10 m run
        previous = ten_metre.drop_images(previous)
    info = previous.info
    if options.sc_only:
        return dataclasses.replace(info, ac_enabled=False)
    if 10 in plan.runs and previous.ac is not None:
        offset = win.at(10)[:2] if win is not None else (0, 0)
        handover = ten_metre.Handover(previous)
        del previous  # the 10 m run frees the 20 m maps once it has used them
        info = ten_metre.process_10m(product, settings, reader, handover, writer, offset=offset, embed=full,
                                     sun_means=sun_10m[0] if sun_10m else None)
    return info


def _existing_aot_method(product: Path) -> str:
    """``AOT_RETRIEVAL_METHOD`` of an existing product's quality report (NA if absent)."""
    for report in product.glob("GRANULE/L2A_*/QI_DATA/L2A_QUALITY.xml"):
        m = re.search(r'AOT_RETRIEVAL_METHOD">([A-Z0-9_]+)<', report.read_text(encoding="utf-8"))
        if m:
            return m.group(1)
    return "NA"


def _summary(path: Path, info: ProcessingInfo) -> None:
    pct = info.scene_percentages
    log.info("AOT method %s, mean AOT550 %s, mean WV %s cm; cloudy %.1f %%, vegetation %.1f %%, water %.1f %%",
             info.aot_method, _fmt(info.granule_mean_aot), _fmt(info.granule_mean_wv),
             pct.get("CLOUDY_PIXEL_PERCENTAGE", 0.0), pct.get("VEGETATION_PERCENTAGE", 0.0),
             pct.get("WATER_PERCENTAGE", 0.0))
    log.info("Level-2A product: %s", path)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


__all__ = ["base_info", "process_planned", "run"]
