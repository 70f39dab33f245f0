"""The Level-2A product writer: tree, rasters, metadata and the atomic product life cycle.

Usage by the pipeline (one L1C, one or more resolution runs)::

    writer = L2AWriter(l1c, output_dir, info, threads=2)
    if writer.has_resolution(20):           # Sen2Cor: "already processed" → exit 0
        return writer.existing
    with writer:                             # builds in a hidden temporary folder
        writer.write_resolution(result20, aggregate_to_60=True, b09_60m=b09)
        writer.write_resolution(result10)    # optional
        writer.write_metadata(final_info)
        product = writer.finalise(log_file=log_path)   # rename into place

``--cr_only``: ``with writer: writer.write_metadata(); writer.finalise()``.

The product is built in ``<output_dir>/.<name>.tmp-<pid>-<random>`` beside the target and only
renamed to ``<output_dir>/<name>`` once complete (``os.rename`` on one file system: atomic).  A
failed run removes its temporary folder (context manager); a killed run leaves only a hidden
temporary folder, which later runs delete when its process is gone.  When an earlier product of
the same L1C exists (any generation time), it is re-used: its files are linked into the temporary
folder, new resolutions added, the metadata rewritten, and the folders swapped.  The L1C input is
only ever read.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Final

import numpy as np
from numpy.typing import NDArray

from sen2cor.bands import L2A_BANDS
from sen2cor.errors import ProcessingError
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a import aggregate, encode
from sen2cor.io.l2a.inspire import write_inspire
from sen2cor.io.l2a.layout import ProductLayout, find_existing_product
from sen2cor.io.l2a.checksums import BackgroundChecksums
from sen2cor.io.l2a.encode_plan import EncodeTimes
from sen2cor.io.l2a.manifest import write_html, write_manifest, write_rep_info
from sen2cor.io.l2a.mtd_base import (
    L1CDocuments,
    boa_offset_applies,
    find_path,
    output_psd,
    parse_xml,
    write_xml,
)
from sen2cor.io.l2a.mtd_datastrip import build_datastrip_metadata
from sen2cor.io.l2a.mtd_product import build_product_metadata, footprint_pos_list
from sen2cor.io.l2a.mtd_tile import build_tile_metadata
from sen2cor.io.l2a.naming import L2ANames, parse_product_name
from sen2cor.io.l2a.quality import build_quality_report, resolve
from sen2cor.io.l2a.raster import Georef, read_image, write_image
from sen2cor.io.l2a.resolution_images import ResolutionImages
from sen2cor.io.l2a.results import ProcessingInfo, ResolutionResult
from sen2cor.io.l2a.stream import EncodeJobs, EncoderPool, StripImage, StripImages

logger = logging.getLogger(__name__)

TMP_MARKER: Final[str] = ".tmp-"
OLD_MARKER: Final[str] = ".old-"
MASK_TYPES: Final[tuple[tuple[str, str], ...]] = (("CLDPRB", "MSK_CLDPRB"), ("SNWPRB", "MSK_SNWPRB"))
IMAGE_ORDER_EXTRA: Final[tuple[str, ...]] = ("TCI", "AOT", "WVP", "SCL")
"""Order of the non-band images in ``IMAGE_FILE`` per resolution (as the ESA product)."""
Encoder = EncoderPool | StripImages | EncodeJobs
"""Where whole images go to be written, or are kept to be (each has ``submit(fn, path, …, cost=…)``)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fresh(path: Path) -> Path:
    """Unlink ``path`` first: files of a re-used product are hard links shared with the original."""
    path.unlink(missing_ok=True)
    return path


class L2AWriter:
    """Writes one Level-2A product for ``l1c`` into ``output_dir``.

    Parameters
    ----------
    l1c:
        The input product (read only).
    output_dir:
        Folder receiving the ``.SAFE`` product (created if missing).
    info:
        Settings (baseline, centres, format …); results may be updated in :meth:`write_metadata`.
    now:
        Generation time (UTC); defaults to the current time.
    threads:
        JPEG 2000 encoder threads (GIPP ``Nr_Threads``).
    schema_dir:
        Folder holding the PSD Level-2A schemas copied into ``rep_info/`` (optional).
    l1c_documents:
        Pre-parsed L1C metadata; loaded from ``l1c`` paths when None.
    """

    def __init__(self, l1c: L1CProduct, output_dir: Path, info: ProcessingInfo, *, now: datetime | None = None,
                 threads: int = 1, schema_dir: Path | None = None,
                 l1c_documents: L1CDocuments | None = None) -> None:
        self.l1c = l1c
        self.output_dir = Path(output_dir)
        self.info = info
        self.threads = max(1, int(threads))
        self.schema_dir = schema_dir
        self.psd = output_psd(l1c, info)
        self.offset = boa_offset_applies(self.psd)
        self._docs = l1c_documents
        self._recover_interrupted_swaps()
        self.existing = find_existing_product(self.output_dir, l1c, info.processing_baseline)
        if self.existing is not None:
            self.names = self._names_from_existing(self.existing)
            self.now = self.names.creation_time
        else:
            stamp = now or datetime.now(timezone.utc)
            self.now = stamp.astimezone(timezone.utc).replace(tzinfo=None) if stamp.tzinfo else stamp
            self.names = L2ANames.for_product(
                l1c, info.processing_baseline, self.now, processing_centre=info.processing_centre,
                archiving_centre=info.archiving_centre, output_format=info.output_format)
        self.target = self.output_dir / self.names.product
        self._layout: ProductLayout | None = None
        self._metadata_written = False
        self._deferred_60 = EncodeJobs()  # see write_resolution(defer=True)
        self._checksums = BackgroundChecksums()  # of the images, for manifest.safe
        self._times = EncodeTimes()  # of the images encoded: the order at the end of the next run

    # ------------------------------------------------------------------ life cycle
    @property
    def layout(self) -> ProductLayout:
        """Layout of the temporary product (after :meth:`open`)."""
        if self._layout is None:
            raise ProcessingError("L2AWriter: call open() (or use the writer as a context manager) first")
        return self._layout

    def has_resolution(self, resolution: int) -> bool:
        """True when an existing product of this L1C already holds ``resolution`` (Sen2Cor then stops)."""
        if self.existing is None:
            return False
        done = ProductLayout(self.existing, self.names).resolution_complete(resolution)
        if done:
            logger.info("%s already contains the %d m resolution; nothing to do", self.existing.name, resolution)
        return done

    def open(self) -> ProductLayout:
        """Create the temporary product folder (a linked copy of an existing product, if any)."""
        if self._layout is not None:
            return self._layout
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temporaries()
        tmp = self.output_dir / f".{self.names.product}{TMP_MARKER}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        layout = ProductLayout(tmp, self.names)
        if self.existing is not None:
            logger.info("re-using existing product %s", self.existing.name)
            shutil.copytree(self.existing, tmp, copy_function=_link_or_copy)
        layout.create()
        self._layout = layout
        self._copy_l1c_auxiliary()
        logger.info("building %s in %s", self.names.product, tmp.name)
        return layout

    def abort(self) -> None:
        """Remove the temporary folder; the target is left untouched."""
        self._deferred_60.clear()
        self._checksums.close()
        if self._layout is not None:
            shutil.rmtree(self._layout.root, ignore_errors=True)
            logger.info("discarded the incomplete product %s", self.names.product)
            self._layout = None

    def __enter__(self) -> L2AWriter:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self.abort()
        elif self._layout is not None:
            logger.warning("L2AWriter closed without finalise(): discarding the temporary product")
            self.abort()

    def finalise(self, log_file: Path | None = None) -> Path:
        """Write HTML/ and manifest.safe, then move the product into place; returns its path."""
        layout = self.layout
        if not self._metadata_written:
            self.write_metadata()
        write_html(layout, self.l1c, self.now, log_file)
        self._deferred_60.wait_started()
        self._checksums.close()
        write_manifest(layout, self.l1c, self._footprint(), self.now, self._checksums.known)
        if self.target.exists():
            old = self.output_dir / f".{self.names.product}{OLD_MARKER}{os.getpid()}"
            os.rename(self.target, old)
            os.rename(layout.root, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(layout.root, self.target)
        self._layout = None
        self.existing = self.target
        logger.info("product written: %s", self.target)
        return self.target

    # ------------------------------------------------------------------ rasters
    def write_resolution(self, result: ResolutionResult, *, aggregate_to_60: bool = False,
                         b09_60m: NDArray[np.floating] | None = None, release: bool = False,
                         images: ResolutionImages | None = None, defer: bool = False) -> list[Path]:
        """Encode and write every image of one resolution run.

        Images are encoded and written one at a time (only the B02/B03/B04 digital numbers are kept for
        the TCI), so that the writer adds little memory to the result's own arrays.

        Parameters
        ----------
        result:
            Arrays of the run; their shape must be the L1C grid's at ``result.resolution``.
        aggregate_to_60:
            For a 20 m result: also write the 60 m product by aggregation (``Downsample_20_to_60``).
        b09_60m:
            B09 surface reflectance on the 60 m grid for the aggregated product (facts §9);
            without it a 20 m ``B09`` in ``result.boa`` is aggregated instead, if present.
        release:
            The caller gives the surface-reflectance bands up: each is removed from ``result.boa`` (a dict)
            once it is handed to the encoder, so that it is freed as soon as it is written.
        images:
            The :meth:`resolution_images` that already received some images of this run (e.g. each
            surface-reflectance band as soon as it was corrected); those are not taken from ``result``.
        defer:
            A run follows (the 10 m :meth:`strip_images`): keep the aggregated 60 m images (≈ 120 MB) for
            that run's encoders, which do them at its end, where they fill the cores its last large images
            leave idle (:meth:`StripImages.submit`) (the metadata writes them if no run came); those this
            run's own last images leave idle start some of them (:meth:`EncoderPool.fill`).  This run's
            own encodings are waited for: left running into the 10 m run's start (session 18) they took the
            peak to 2.10 GB on a slower host (docs/benchmarks.md, session 19); a 60 m image started beside
            them is not (:meth:`EncoderPool.fill`), the metadata and :meth:`finalise` wait for it.

        Returns
        -------
        list of Path
            Files written (in the temporary product).
        """
        res = result.resolution
        shape = self.l1c.tile.grid.shape(res)
        if result.shape is not None and result.shape != shape:
            raise ProcessingError(f"{res} m result has shape {result.shape}, the L1C grid {shape}")
        if aggregate_to_60 and res != 20:
            raise ProcessingError("aggregate_to_60 needs the 20 m result")
        images = images or self.resolution_images(res, aggregate_to_60=aggregate_to_60)
        if images.resolution != res or images.aggregate_to_60 != aggregate_to_60:
            raise ProcessingError(f"images opened for {images.resolution} m do not match the {res} m result")
        images.all_threads()  # the computation that may have handed images over early is over
        written60: list[Path] = []
        try:
            self._write_deferred(images.encoder)  # those of an earlier run, if any
            for key, dn in self._encode(result, release, skip=images.added):
                images.add(key, dn)
            if aggregate_to_60:  # on the same encoders: the 60 m images start beside the last 20 m ones
                images60 = images.aggregated
                if b09_60m is not None:
                    nodata = images60["SCL"] == 0 if "SCL" in images60 else None
                    images60["B09"] = encode.encode_boa(b09_60m, offset=self.offset, nodata=nodata)
                elif "B09" not in images60:
                    logger.warning("no B09 for the aggregated 60 m product")
                if defer:
                    self._put_images(images60, 60, self._deferred_60)
                    images.aggregated = {}
                else:
                    written60 = self._put_images(images60, 60, images.encoder)
        except BaseException:
            images.finish()  # let running encoders end before the temporary product may be removed
            raise
        written = images.finish(fill=self._deferred_60 if defer else None)
        self._metadata_written = False
        logger.info("wrote %d images at %d m", len(written), res)
        if written60:
            logger.info("wrote %d images at %d m", len(written60), 60)
        return written + written60

    def _write_deferred(self, encoder: Encoder) -> None:
        """Hand the deferred 60 m images (:meth:`write_resolution`) to ``encoder``, if there are any."""
        written = self._deferred_60.hand_to(encoder)
        if written:
            logger.info("%d images at 60 m are written with the next run's", len(written))

    def resolution_images(self, resolution: int, *, aggregate_to_60: bool = False,
                          background: bool = False) -> ResolutionImages:
        """The images of one resolution, to hand over one at a time (see :class:`ResolutionImages`; with
        ``background`` while the chain computes); give it to :meth:`write_resolution` with the rest of the
        result."""
        return ResolutionImages(self, resolution, aggregate_to_60, background=background)

    @contextmanager
    def strip_images(self, resolution: int, keys: Sequence[str]) -> Iterator[StripImages]:
        """Images of ``resolution`` written strip by strip (:class:`~sen2cor.io.l2a.stream.StripImages`).

        ``keys``: band ids, ``AOT``, ``WVP``, ``TCI`` (3 × uint8), ``DDVPXL`` (uint8 mask); the others are
        uint16.  ``images.finish(key)`` encodes a complete image in the background; on leaving the block
        without error every image is finished and waited for; after an error they are discarded.  Images
        span the full frame; rows not written stay 0 (no data).
        """
        layout, fmt, georef = self.layout, self.info.output_format, self._georef(resolution)
        shape = self.l1c.tile.grid.shape(resolution)
        made: dict[str, StripImage] = {}
        try:
            for key in keys:
                path = layout.mask(key, resolution) if key == "DDVPXL" else layout.image(key, resolution)
                dtype = "uint8" if key in ("TCI", "DDVPXL") else "uint16"
                made[key] = StripImage(_fresh(path), shape, dtype, georef, fmt=fmt, resolution=resolution,
                                       threads=self.threads, count=3 if key == "TCI" else 1)
        except BaseException:
            for img in made.values():
                img.discard()
            raise
        images = StripImages(made, workers=self.threads, on_written=self._checksums.add, times=self._times)
        try:
            self._write_deferred(images)
            yield images
            images.finish_all()
        except BaseException:
            images.discard()
            raise
        self._metadata_written = False
        logger.info("wrote %d images at %d m", len(images), resolution)

    def _encode(self, result: ResolutionResult, release: bool = False, skip: frozenset[str] = frozenset()
                ) -> Iterator[tuple[str, NDArray[np.generic]]]:
        """``(key, digital numbers)`` of each image of ``result``, encoded one at a time (``release``: each
        band is removed from ``result.boa`` once encoded; ``skip``: bands, SCL, maps and probabilities
        already handed over)."""
        res = result.resolution
        scl = encode.check_scl(result.scl) if result.scl is not None else None
        nodata = scl == 0 if scl is not None else None
        bands = [b for b in (*result.boa, *skip) if b in L2A_BANDS[res] or (res == 20 and b == "B09")]
        bands = list(dict.fromkeys(bands))
        missing = [b for b in L2A_BANDS[res] if b not in bands]
        if bands and missing:
            logger.warning("%d m result lacks bands %s; they are not written", res, ", ".join(missing))
        for band_id in [b for b in L2A_BANDS[res] if b in bands] + [b for b in bands if b not in L2A_BANDS[res]]:
            if band_id in skip:
                continue
            dn = self.encode_boa(result.boa[band_id], nodata)
            if release and isinstance(result.boa, dict):
                del result.boa[band_id]
            yield band_id, dn
            del dn
        if scl is not None and "SCL" not in skip:
            yield "SCL", scl
        if result.aot is not None and "AOT" not in skip:
            yield "AOT", encode.encode_aot(result.aot, scl)
        if result.wvp is not None and "WVP" not in skip:
            yield "WVP", encode.encode_wvp(result.wvp, scl)
        yield from encode.probability_images(result.cloud_probability, result.snow_probability, skip)
        if result.ddv_mask is not None:
            yield "DDVPXL", np.asarray(result.ddv_mask, dtype=np.uint8)
        if result.dem is not None:
            yield "DEM", encode.encode_dem(result.dem)

    def encode_boa(self, reflectance: NDArray[np.generic], nodata: NDArray[np.bool_] | None = None
                   ) -> NDArray[np.uint16]:
        """Surface reflectance (NaN = no data) → this product's uint16 digital numbers (its BOA offset
        convention); uint16 input is taken as already encoded (only ``nodata`` is applied)."""
        if reflectance.dtype == np.uint16:
            if nodata is not None and nodata.any() and reflectance[nodata].any():
                reflectance = np.where(nodata, np.uint16(0), reflectance)
            return reflectance
        return encode.encode_boa(reflectance, offset=self.offset, nodata=nodata)

    def aggregate_image(self, key: str, dn: NDArray[np.generic]) -> NDArray[np.generic] | None:
        """One 20 m image aggregated to the 60 m grid (facts §9); None for images not aggregated."""
        shape60 = self.l1c.tile.grid.shape(60)
        if key == "SCL":
            return aggregate.scl_decimate(dn, out_shape=shape60)
        if key == "DDVPXL":
            return None
        return aggregate.block_mean(dn, out_shape=shape60)

    def _georef(self, resolution: int) -> Georef:
        grid = self.l1c.tile.grid
        return Georef(grid.crs, grid.transform(resolution))

    def put_image(self, key: str, data: NDArray[np.generic], res: int, enc: Encoder) -> list[Path]:
        """Write one image where the product keeps it at ``res`` (nothing for images it does not keep)."""
        layout, fmt, georef = self.layout, self.info.output_format, self._georef(res)
        cog = False
        if key in L2A_BANDS[res] or key in ("AOT", "WVP"):
            path = layout.image(key, res)
        elif key == "SCL" and res != 10:  # the 10 m SCL only masks no data; Sen2Cor writes none
            cog = self.info.sc_cog
            path = layout.image("SCL", res)
            path = path.with_suffix(".tif") if cog else path
        elif key in dict(MASK_TYPES) and res != 10 or key == "DDVPXL":
            path = layout.mask(key, res)
        elif key == "DEM":
            path = layout.dem(res)
        else:
            return []
        return [enc.submit(self._write_image, _fresh(path), data, georef, fmt=fmt, resolution=res,
                           threads=self.threads, cog=cog, cost=data.nbytes)]

    def _write_image(self, path: Path, *args: object, **kwargs: object) -> Path:
        """:func:`~sen2cor.io.l2a.raster.write_image` (timed), then the file's checksum in the background."""
        start = time.monotonic()
        written = write_image(path, *args, **kwargs)  # type: ignore[arg-type]
        self._times.record(written, time.monotonic() - start, int(np.size(args[0])))
        self._checksums.add(written)
        return written

    def finish_images(self, images: dict[str, NDArray[np.generic]], res: int, enc: Encoder, *,
                      preview: bool = True) -> list[Path]:
        """TCI and preview from the B04/B03/B02 digital numbers (``preview`` False: no preview, e.g. for the
        60 m images aggregated from a 20 m run, whose own preview may still be being encoded)."""
        written: list[Path] = []
        layout, georef = self.layout, self._georef(res)
        if all(b in images for b in ("B04", "B03", "B02")):
            tci = encode.encode_tci(images["B04"], images["B03"], images["B02"], offset=self.offset)
            if self.info.generate_tci:
                written.append(enc.submit(self._write_image, _fresh(layout.image("TCI", res)), tci, georef,
                                          fmt=self.info.output_format, resolution=res, threads=self.threads,
                                          cost=tci.nbytes))
            if preview and (res == 20 or not layout.pvi.exists()):  # from the 20 m TCI when there is one
                pvi = encode.make_pvi(tci)
                pvi_georef = Georef(georef.crs, self.l1c.tile.grid.transform(encode.PVI_PIXEL_M))
                written.append(enc.submit(self._write_image, _fresh(layout.pvi), pvi, pvi_georef, fmt="JP2",
                                          resolution=None, threads=self.threads, cost=pvi.nbytes))
        return written

    def _put_images(self, images: dict[str, NDArray[np.generic]], res: int, enc: Encoder) -> list[Path]:
        """Hand a set of encoded images of ``res`` (the aggregated 60 m product) to ``enc``: the TCI first
        (the longest to encode), then the bands and the rest."""
        order = [*L2A_BANDS[res], "SCL", "AOT", "WVP", *dict(MASK_TYPES), "DDVPXL", "DEM"]
        written = self.finish_images(images, res, enc, preview=False)
        for key in sorted(images, key=lambda k: order.index(k) if k in order else len(order)):
            written += self.put_image(key, images[key], res, enc)
        return written

    # ------------------------------------------------------------------ metadata
    def write_metadata(self, info: ProcessingInfo | None = None) -> None:
        """Write MTD_MSIL2A.xml, MTD_TL.xml, MTD_DS.xml, L2A_QUALITY.xml, INSPIRE.xml, rep_info/.

        ``info`` replaces the writer's settings/results (same baseline and format required).
        """
        self._deferred_60.wait_started()  # those started beside the last images of their run
        if self._deferred_60:  # no run came after the one that deferred them
            pool = EncoderPool(self.threads)
            self._write_deferred(pool)
            pool.wait()
        if info is not None:
            for name in ("processing_baseline", "output_format", "processing_centre", "archiving_centre"):
                if getattr(info, name) != getattr(self.info, name):
                    raise ProcessingError(f"write_metadata: {name} cannot change after the product is named")
            self.info = info
        layout, info = self.layout, self.info
        docs = self._documents()
        # the granule means come with the processing info; the written images only stand in without them
        # (a re-used product): read back then, not kept in memory through the run
        known = info.granule_mean_aot is not None and info.granule_mean_wv is not None
        aot_dn, wvp_dn = (None, None) if known else self._qi_images()
        quality = resolve(info, degraded_msi=self.l1c.tile.degraded_msi_data_percentage,
                          average_sza=self.l1c.tile.angles.mean_sun_zenith, aot_dn=aot_dn, wvp_dn=wvp_dn)
        qi_files = {p.name for p in layout.qi_dir.iterdir()} if layout.qi_dir.is_dir() else set()
        write_xml(build_product_metadata(self.l1c, docs, info, self.names, self.psd, quality, self._image_files()),
                  _fresh(layout.mtd_product))
        write_xml(build_tile_metadata(self.l1c, docs, info, self.names, self.psd, quality, qi_files,
                                      self._l2a_masks(), layout.pvi.name), _fresh(layout.mtd_tile))
        write_xml(build_datastrip_metadata(self.l1c, docs, info, self.names, self.psd), _fresh(layout.mtd_datastrip))
        write_xml(build_quality_report(info, quality, mission=self.l1c.spacecraft, creation=self.now,
                                       granule_name=self.names.granule,
                                       aux_url=str(self.target / "GRANULE" / self.names.granule / "AUX_DATA")),
                  _fresh(layout.quality_report))
        write_inspire(_fresh(layout.inspire), self.names.product, self.l1c, self._footprint(), self.now)
        write_rep_info(layout, self.schema_dir)
        self._metadata_written = True

    def _documents(self) -> L1CDocuments:
        if self._docs is None:
            self._docs = L1CDocuments.load(self.l1c)
        return self._docs

    def _footprint(self) -> str:
        pos = find_path(self._documents().product, "Geometric_Info", "Product_Footprint", "Product_Footprint",
                        "Global_Footprint", "EXT_POS_LIST")
        return pos.text if pos is not None and pos.text else footprint_pos_list(self.l1c)

    def _qi_images(self) -> tuple[NDArray[np.uint16] | None, NDArray[np.uint16] | None]:
        """AOT/WVP images of the classification resolution (20 m, else 60 m, else 10 m), read back."""
        for res in (20, 60, 10):
            aot_path, wvp_path = self.layout.image("AOT", res), self.layout.image("WVP", res)
            if aot_path.is_file() or wvp_path.is_file():
                return (read_image(aot_path) if aot_path.is_file() else None,  # type: ignore[return-value]
                        read_image(wvp_path) if wvp_path.is_file() else None)
        return None, None

    def _image_files(self) -> list[str]:
        out = []
        for res in (10, 20, 60):
            img = self.layout.img_dir(res)
            present = {p.stem for p in img.iterdir()} if img.is_dir() else set()
            for kind in (*L2A_BANDS[res], *IMAGE_ORDER_EXTRA):
                stem = self.names.image_stem(kind, res)
                if stem in present:
                    out.append(f"GRANULE/{self.names.granule}/IMG_DATA/R{res}m/{stem}")
        return out

    def _l2a_masks(self) -> list[tuple[str, str]]:
        out = []
        for res in (20, 60, 10):
            for kind, mask_type in (*MASK_TYPES, ("DDVPXL", "MSK_DDVPXL")):
                path = self.layout.mask(kind, res)
                if path.is_file():
                    out.append((mask_type, path.name))
        return out

    # ------------------------------------------------------------------ helpers
    def _copy_l1c_auxiliary(self) -> None:
        """Copy L1C auxiliary data, QI masks/reports and datastrip QI reports (never the L1C PVI)."""
        layout = self.layout
        pairs = [(self.l1c.tile.path / "AUX_DATA", layout.granule_aux_dir),
                 (self.l1c.path / "AUX_DATA", layout.root / "AUX_DATA")]
        if self.l1c.tile.qi_dir is not None:
            pairs.append((self.l1c.tile.qi_dir, layout.qi_dir))
        if self.l1c.datastrip_path is not None:
            pairs.append((self.l1c.datastrip_path / "QI_DATA", layout.datastrip_dir / "QI_DATA"))
        for src, dst in pairs:
            if not src.is_dir():
                continue
            for f in src.iterdir():
                if f.is_file() and not f.name.endswith("_PVI.jp2") and not (dst / f.name).exists():
                    self._checksums.add(Path(shutil.copyfile(f, dst / f.name)))

    def _names_from_existing(self, product: Path) -> L2ANames:
        fields = parse_product_name(product.name)
        gen = datetime.strptime(fields["gen"], "%Y%m%dT%H%M%S")
        names = L2ANames.for_product(self.l1c, self.info.processing_baseline, gen,
                                     processing_centre=self.info.processing_centre,
                                     archiving_centre=self.info.archiving_centre,
                                     output_format=self.info.output_format)
        granules = [p.name for p in (product / "GRANULE").glob("L2A_*") if p.is_dir()]
        strips = [p.name for p in (product / "DATASTRIP").glob("DS_*") if p.is_dir()]
        changes: dict[str, str] = {}
        if len(granules) == 1:
            changes["granule"] = granules[0]
        if len(strips) == 1:
            changes["datastrip_folder"] = strips[0]
        mtd = product / "GRANULE" / changes.get("granule", names.granule) / "MTD_TL.xml"
        if mtd.is_file():
            general = find_path(parse_xml(mtd).getroot(), "General_Info")
            for tag, key in (("TILE_ID", "tile_id"), ("DATASTRIP_ID", "datastrip_id")):
                el = find_path(general, tag)
                if el is not None and el.text:
                    changes[key] = el.text.strip()
        return dataclasses.replace(names, **changes)

    def _remove_stale_temporaries(self) -> None:
        pattern = re.compile(r"^\.(?P<name>S2.*\.SAFE)" + re.escape(TMP_MARKER) + r"(?P<pid>\d+)-[0-9a-f]+$")
        for p in self.output_dir.iterdir():
            m = pattern.match(p.name)
            if m and p.is_dir() and not _pid_alive(int(m["pid"])):
                logger.info("removing %s left by an interrupted run", p.name)
                shutil.rmtree(p, ignore_errors=True)

    def _recover_interrupted_swaps(self) -> None:
        """Undo a product swap interrupted between its two renames (target missing, old copy kept)."""
        if not self.output_dir.is_dir():
            return
        pattern = re.compile(r"^\.(?P<name>S2.*\.SAFE)" + re.escape(OLD_MARKER) + r"(?P<pid>\d+)$")
        for p in self.output_dir.iterdir():
            m = pattern.match(p.name)
            if m is None or _pid_alive(int(m["pid"])):
                continue
            target = self.output_dir / m["name"]
            if target.exists():
                shutil.rmtree(p, ignore_errors=True)
            else:
                logger.warning("restoring %s after an interrupted update", target.name)
                os.rename(p, target)


def _link_or_copy(src: str, dst: str) -> str:
    """Hard-link a file of a re-used product (copy across file systems)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst
