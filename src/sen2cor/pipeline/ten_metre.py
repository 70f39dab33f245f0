"""The 10 m run in row strips: a full tile in bounded memory (facts §5 item 1; issue 8).

The four 10 m bands are decoded strip by strip (each JPEG 2000 tile once, several bands at a time),
corrected with :mod:`sen2cor.ac.strips` and streamed into the product through
:meth:`sen2cor.io.l2a.writer.L2AWriter.strip_images`.  Step 2 needs whole-tile means of the step-1
reflectance, so step 1 is spilled to an uncompressed scratch file between the two passes instead of being
kept in memory (1.9 GB for a full tile).  The AOT and WVP images (the 20 m maps up-sampled) are written
on a thread of their own while step 1 runs, and step 2 runs band after band, so that each finished image
(AOT and WVP first, the TCI once B04 is in) is JPEG 2000 encoded on a background thread while the next band
is corrected, one encoding at a time, the largest complete image first; the 60 m images a 20 m run left to
this one fill the cores at the end.  Rugged terrain (a DEM that is not quasi-flat) is corrected as a
whole frame by :func:`sen2cor.pipeline.correction.correct_10m`.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from sen2cor.ac import strips as st
from sen2cor.ac.correct import REQUIRED_BANDS
from sen2cor.ac.setup import cell_grid, prepare_terrain
from sen2cor.config.settings import L2ASettings
from sen2cor.io.l1c_bands import BandReader
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a import encode
from sen2cor.io.l2a.results import ProcessingInfo, ResolutionResult
from sen2cor.io.l2a.stream import StripImages
from sen2cor.io.l2a.writer import L2AWriter
from sen2cor.io.scratch import RowFile, remove_in_background
from sen2cor.physics.geometry import AngleImage
from sen2cor.physics.toa_image import ToaImage
from sen2cor.pipeline import inputs as inp
from sen2cor.pipeline.aux_inputs import load_aux
from sen2cor.pipeline.correction import ac_parameters, correct_10m, load_tables
from sen2cor.pipeline.resolution import timed
from sen2cor.pipeline.roi import sun_angles
from sen2cor.pipeline.stages import RunOutcome, dem_output
from sen2cor.sc.strips import concurrent_threads, ordered_map

log = logging.getLogger(__name__)

STRIP_ROWS: Final[int] = 1024
"""Rows per strip: one row of 10 m JPEG 2000 tiles (input and output, facts §9); even, so that each strip
holds whole 20 m pixels."""

MAX_STRIPS_AT_ONCE: Final[int] = 2
"""Most step-2 strips corrected at once (GeoTIFF/ENVI output): each holds ≈ 250 MB of temporaries."""

WRITES_IN_FLIGHT: Final[int] = 2
"""Corrected step-2 strips handed to the writing thread and not yet written (≈ 35 MB each with the TCI
channel)."""

TEN_M_BANDS: Final[tuple[str, ...]] = ("B02", "B03", "B04", "B08")
"""The 10 m bands, in the order they are corrected and encoded (the TCI is complete after B04)."""
TCI_CHANNELS: Final[tuple[str, ...]] = ("B04", "B03", "B02")
"""Bands of the TCI's red, green and blue channels (facts §3)."""


def strips(rows: int, size: int | None = None) -> Iterator[tuple[int, int]]:
    """``(row0, row1)`` of consecutive strips of ``size`` (default :data:`STRIP_ROWS`) covering ``rows``."""
    size = size or STRIP_ROWS
    for r0 in range(0, rows, size):
        yield r0, min(r0 + size, rows)


class _Spill:
    """Step-1 reflectance of each band in a scratch file (float32, row-major,
    :class:`~sen2cor.io.scratch.RowFile`), written and read by row ranges, so that several threads can
    write parts and read strips at once; a band's file is removed (in the background) once its step 2 is
    done."""

    def __init__(self, folder: Path, bands: tuple[str, ...], cols: int) -> None:
        self.files = {b: RowFile(folder / f"{b}.f32", cols, np.float32) for b in bands}
        self._removals: list[threading.Thread] = []

    def write_rows(self, band_id: str, row0: int, rows: NDArray[np.float32]) -> None:
        """Write ``rows`` (float32, ``cols`` wide) from row ``row0`` on."""
        self.files[band_id].write_rows(row0, rows)

    def rows(self, band_id: str, row0: int, row1: int) -> NDArray[np.float32]:
        return self.files[band_id].rows(row0, row1)

    def drop(self, band_id: str) -> None:
        """Close and remove the file of ``band_id`` (no more reads of it)."""
        f = self.files.pop(band_id)
        f.close()
        self._removals.append(remove_in_background([f.path]))

    def close(self) -> None:
        """Close the remaining files and wait for the removals (the folder is removed next)."""
        for f in self.files.values():
            f.close()
        for t in self._removals:
            t.join()


def cell_sun_means(product: L1CProduct, threads: int) -> tuple[st.CellSunMeans, AngleImage]:
    """The per-cell sun-angle means of the 10 m grid and its (lazy) per-pixel sun zenith.

    They depend on the product's angle grids only, so the 20 m run can have them computed beside its
    atmospheric correction (:func:`process_10m`'s ``sun_means``): ≈ 3 CPU-s on a full tile, most of it
    the per-pixel interpolation.
    """
    shape = product.tile.grid.shape(10)
    sun = st.CellSunMeans(cell_grid(shape))
    zenith, azimuth = sun_angles(product, 10)  # interpolated strip by strip (also for a region of interest)

    def strip_angles(span: tuple[int, int]) -> tuple[int, NDArray[np.float32], NDArray[np.float32]]:
        return span[0], zenith[span[0]:span[1]], azimuth[span[0]:span[1]]

    # strips interpolated on threads, summed in order (the same float64 sums)
    for r0, z, a in ordered_map(strip_angles, strips(shape[0]), max(1, min(threads, MAX_STRIPS_AT_ONCE))):
        sun.add(r0, z, a)
    return sun, zenith


class Handover:
    """The 20 m outcome passed to :func:`process_10m` together with its last reference.

    The 10 m run takes it (:meth:`take`) and lets go of the 20 m maps (AOT, WV, visibility index, DDV mask:
    ≈ 0.3 GB for a full tile) as soon as step 1 has used them, so that step 2 works with that much less
    memory: the resident size then stays below the soft limit, and the heap is not returned to the system
    and faulted back strip after strip (issue 8).
    """

    def __init__(self, outcome: RunOutcome) -> None:
        self._outcome: RunOutcome | None = outcome

    def take(self) -> RunOutcome:
        """The outcome; the hand-over keeps no reference to it."""
        outcome, self._outcome = self._outcome, None
        if outcome is None:
            raise RuntimeError("the 20 m outcome was taken already")
        return outcome


def process_10m(product: L1CProduct, settings: L2ASettings, reader: BandReader, handover: Handover,
                writer: L2AWriter, *, offset: tuple[int, int] = (0, 0),
                embed: Callable[[ResolutionResult], ResolutionResult] = lambda r: r,
                sun_means: Future[tuple[st.CellSunMeans, AngleImage]] | None = None) -> ProcessingInfo:
    """Correct and write the 10 m bands, AOT, WVP (and TCI) from the 20 m result in ``handover``.

    ``offset`` is where the product grid starts in the written frame (a region of interest, in 10 m
    pixels); ``embed`` puts a whole-frame fallback result into that frame; ``sun_means``: the result of
    :func:`cell_sun_means` computed in the background (else computed here).
    """
    base = handover.take()
    timings: dict[str, float] = {}
    with timed("DEM/terrain 10 m", timings):
        aux = load_aux(product, settings, 10)
    prev = base.ac
    info = base.info
    missing = [b for b in REQUIRED_BANDS[10] if b not in product.tile.band_files]
    scl20 = base.result.scl
    if prev is None or not prev.info.ac_enabled or scl20 is None or missing or not (scl20 > 1).any():
        reason = f"bands {', '.join(missing)} missing at 10 m" if missing else "no 20 m atmospheric correction"
        log.warning("atmospheric correction skipped at 10 m: %s", reason)
        dem = dem_output(settings, aux)
        if dem is not None:
            writer.write_resolution(embed(ResolutionResult(10, dem=dem)))
        return info
    shape = product.tile.grid.shape(10)
    params = ac_parameters(settings)
    angles = product.tile.angles
    terrain_scl = scl20 if aux.elevation_km is None else inp.upsample_nearest(scl20, 2, shape)
    terrain = prepare_terrain(shape, angles.mean_sun_zenith, angles.mean_sun_azimuth, terrain_scl, params, 10,
                              aux.elevation_km, aux.ac_terrain())
    if not terrain.flat:
        log.info("rugged terrain: the 10 m correction runs on the whole frame")
        ten = correct_10m(product, settings, reader, base)
        writer.write_resolution(embed(ten.result))
        return ten.info

    sun, zenith = sun_means.result() if sun_means is not None else cell_sun_means(product, reader.threads)
    cells = sun.cells
    ozone = inp.ozone(product, settings)
    lut = next(iter(load_tables(settings, product, 10, prev.info.season, ozone.du,
                                (prev.info.aerosol_type or "RURAL",)).values()))
    bands = tuple(b for b in TEN_M_BANDS if b in product.tile.band_files and b in lut.bands)
    setup = st.prepare_strips(prev, scl20, shape=shape, bands=bands, lut=lut, params=params,
                              solar_irradiance=dict(product.solar_irradiance), cells=cells,
                              geometries=sun.geometries(angles.mean_view_zenith, angles.mean_view_azimuth),
                              terrain=terrain)
    keys = list(bands) + ["AOT", "WVP"]
    tci = writer.info.generate_tci and all(b in bands for b in TCI_CHANNELS)
    keys += ["TCI"] if tci else []
    keys += ["DDVPXL"] if settings.user.generate_ddv_output else []
    with tempfile.TemporaryDirectory(prefix=".scratch-10m-", dir=writer.layout.root) as tmp, \
            writer.strip_images(10, keys) as images:
        spill = _Spill(Path(tmp), bands, shape[1])
        dropped: threading.Thread | None = None
        try:
            with timed("read/decode + step 1 10 m", timings), \
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix="sen2cor-10m-maps") as maps:
                # the AOT/WVP images first, written and then encoded in the background while step 1
                # corrects (a core of step 1 waits for each strip's decoding now and then)
                maps_written = maps.submit(_write_maps, images, _map_writer(images, prev, scl20, shape, offset),
                                           shape[0])
                sums = _pass1(reader, setup, prev, scl20, spill, zenith)
                maps_written.result()
            del prev, base  # the 20 m maps are written and used: step 2 needs the SCL alone
            dropped = remove_in_background(reader.scratch_files())  # no band is read any more
            with timed("step 2 + write 10 m", timings):
                _pass2(writer, images, setup, scl20, spill, sums, offset)
                images.finish_all()
        finally:
            spill.close()
            if dropped is not None:
                dropped.join()
    dem = dem_output(settings, aux)
    if dem is not None:
        writer.write_resolution(embed(ResolutionResult(10, dem=dem)))
    return info


def _pass1(reader: BandReader, setup: st.StripSetup, prev, scl20, spill: _Spill, zenith: AngleImage
           ) -> st.FillSums:
    """Decode each strip of the 10 m bands, step-1 correct it, spill it and sum it (see the module doc).

    Step 1 is per pixel: each strip is corrected in ``Nr_Threads`` row parts at once (one part under numba's
    ``workqueue`` layer; the parts share the strip's SZA fill, :func:`~sen2cor.ac.strips.strip_sza`), which
    gives the whole strip's values.  Each part is spilled and summed on its thread; the next strip's parts
    are queued before this strip's are collected, so that the threads never wait for the main thread.
    """
    sums = st.FillSums(setup.bands)
    shape = setup.shape
    n_parts = min(reader.threads, concurrent_threads())

    def part(row0: int, toa: dict[str, ToaImage], sza, vis, scl) -> dict[str, NDArray[np.float64]]:
        rho = st.step1_strip(setup, row0, toa, sza, vis, scl)
        for b, r in rho.items():
            spill.write_rows(b, row0, r)
        return st.FillSums.of(rho, scl)

    with ThreadPoolExecutor(max_workers=max(1, min(reader.threads, len(setup.bands)))) as pool, \
            ThreadPoolExecutor(max_workers=n_parts) as workers:
        spans = list(strips(shape[0]))

        def fetch(r0: int, r1: int) -> tuple[dict[str, Future[ToaImage]], Future[NDArray[np.float32]]]:
            """The strip's band rows and its SZA (angle interpolation), in the background."""
            return ({b: pool.submit(reader.toa_rows, b, r0, r1) for b in setup.bands},
                    pool.submit(lambda: st.strip_sza(zenith[r0:r1])))

        pending = None
        queued: list[Future[dict[str, NDArray[np.float64]]]] = []
        for i, (r0, r1) in enumerate(spans):
            current, sza_done = pending or fetch(r0, r1)
            toa = {b: f.result() for b, f in current.items()}
            scl = st.upsample_rows(scl20, shape, r0, r1)
            vis = st.upsample_rows(prev.vis_index, shape, r0, r1)
            sza = sza_done.result()
            parts = list(strips(r1 - r0, -(-(r1 - r0) // n_parts)))
            done = [workers.submit(part, r0 + a,
                                   {k: ToaImage(t.dn[a:b], t.offset, t.quantification) for k, t in toa.items()},
                                   sza[a:b], vis[a:b], scl[a:b]) for a, b in parts]
            del toa, scl, vis, sza
            for f in queued:  # the previous strip: done before the next one is read (bounded memory)
                sums.add(f.result())
            queued = done
            # read the next strip (and interpolate its sun zenith) while this one is corrected
            pending = fetch(*spans[i + 1]) if i + 1 < len(spans) else None
        for f in queued:
            sums.add(f.result())
    return sums


def _write_maps(images: StripImages, write: Callable[[int, int], None], rows: int) -> None:
    """Write the AOT/WVP (and DDV) images strip by strip with ``write`` (:func:`_map_writer`) and hand
    them to their encoder."""
    for r0, r1 in strips(rows):
        write(r0, r1)
    for key in ("AOT", "WVP", "DDVPXL"):
        if key in images:
            images.finish(key)


def _map_writer(images: StripImages, prev, scl20, shape: tuple[int, int], offset: tuple[int, int]
                ) -> Callable[[int, int], None]:
    """A writer of rows ``row0:row1`` of AOT, WVP (and the DDV mask) at 10 m: the 20 m maps up-sampled
    (facts §5 item 1), each encoded on its 20 m rows before the up-sampling (the encodings are per pixel)."""
    ro, co = offset

    def aot(rows: slice) -> NDArray[np.uint16]:
        return encode.encode_aot(prev.aot550[rows])

    def wvp(rows: slice) -> NDArray[np.uint16]:
        return encode.encode_wvp(np.where(scl20[rows] > 1, prev.wv_cm[rows], np.float32(0.0)))

    def write(r0: int, r1: int) -> None:
        images["AOT"].write(ro + r0, st.upsample_rows_of(aot, prev.aot550.shape, shape, r0, r1), co)
        images["WVP"].write(ro + r0, st.upsample_rows_of(wvp, scl20.shape, shape, r0, r1), co)  # same grid
        if "DDVPXL" in images:
            images["DDVPXL"].write(ro + r0, st.upsample_rows(prev.ddv_mask, shape, r0, r1).astype(np.uint8), co)

    return write


def _pass2(writer: L2AWriter, images: StripImages, setup: st.StripSetup, scl20, spill: _Spill,
           sums: st.FillSums, offset: tuple[int, int]) -> None:
    """Step 2 band by band, strip by strip with its halo (facts §3, §7.7): each band image (and the TCI once
    its three bands are in) is encoded in the background while the next band is corrected.

    With JPEG 2000 output the strips of a band are corrected one at a time (the background encoding keeps
    the other cores busy); with GeoTIFF or ENVI output, which encode quickly, up to :data:`MAX_STRIPS_AT_ONCE`
    (``Nr_Threads``) strips at once.
    The strips are written in order either way.
    """
    shape, halo = setup.shape, setup.halo
    ro, co = offset
    tci_done: set[str] = set()
    borders: dict[int, tuple[NDArray[np.uint8], tuple[int, int]] | None] = {}  # bit-packed, per strip
    spans = list(strips(shape[0]))
    workers = 1 if writer.info.output_format == "JP2" else min(writer.threads, concurrent_threads(),
                                                                MAX_STRIPS_AT_ONCE)

    def band_strip(b: str, span: tuple[int, int]) -> tuple[NDArray[np.uint16], NDArray[np.uint8] | None]:
        r0, r1 = span
        h0, h1 = max(0, r0 - halo), min(shape[0], r1 + halo)
        known = borders.get(r0)  # set by the first band's strip (jobs start in order, at most a few at once)
        border = None if known is None else np.unpackbits(known[0], count=known[1][0] * known[1][1]
                                                          ).reshape(known[1]).view(np.bool_)
        adj = st.step2_masks(setup, scl20, shape, h0, h1, border)
        if r0 not in borders:  # the border's box mean once per strip, not once per band
            borders[r0] = None if adj.border is None else (np.packbits(adj.border), adj.border.shape)
        v = st.step2_band(setup, adj, b, spill.rows(b, h0, h1), sums, rows=(r0 - h0, r1 - h0))
        del adj
        dn = encode.encode_boa(v, offset=writer.offset, nodata=v == 0)
        del v
        tci = encode.tci_channel(dn, offset=writer.offset) if "TCI" in images and b in TCI_CHANNELS else None
        return dn, tci

    def write_strip(b: str, r0: int, dn: NDArray[np.uint16], tci: NDArray[np.uint8] | None) -> None:
        images[b].write(ro + r0, dn, co)
        if tci is not None:
            images["TCI"].write(ro + r0, tci, co, band=TCI_CHANNELS.index(b) + 1)

    def finish_band(b: str) -> None:
        images.finish(b)
        if "TCI" in images and b in TCI_CHANNELS:
            tci_done.add(b)
            if tci_done == set(TCI_CHANNELS):
                images.finish("TCI")

    # one queue of (band, strip) jobs: the next band's first strips start while this band's last ones end;
    # the strips are written (and compressed) in order on a thread of their own, so that the workers do
    # not wait for the writing of a strip before they start the next ones
    jobs = [(b, span) for b in setup.bands for span in spans]
    last = spans[-1][0]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sen2cor-10m-write") as out:
        pending: collections.deque[Future[None]] = collections.deque()

        def put(fn: Callable[..., None], *args: object) -> None:
            while len(pending) >= WRITES_IN_FLIGHT:
                pending.popleft().result()
            pending.append(out.submit(fn, *args))

        for (b, (r0, _)), (dn, tci) in zip(jobs, ordered_map(lambda job: band_strip(*job), jobs, workers)):
            put(write_strip, b, r0, dn, tci)
            del dn, tci
            if r0 == last:
                spill.drop(b)  # its strips are all corrected (results come in job order)
                put(finish_band, b)
        while pending:
            pending.popleft().result()


def drop_images(outcome: RunOutcome) -> RunOutcome:
    """``outcome`` with what the 10 m run uses of its result (the SCL) and AC maps, without the arrays
    already written (surface reflectance, probabilities), to free memory for the 10 m run."""
    result = ResolutionResult(outcome.result.resolution, scl=outcome.result.scl)
    ac = dataclasses.replace(outcome.ac, boa={}) if outcome.ac is not None else None
    return dataclasses.replace(outcome, result=result, ac=ac, b09_60m=None)
