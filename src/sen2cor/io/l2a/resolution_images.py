"""The images of one resolution run, handed to the writer one at a time and encoded in the background.

:meth:`sen2cor.io.l2a.writer.L2AWriter.write_resolution` puts every image of a run through a
:class:`ResolutionImages`; the pipeline can open one before the atmospheric correction and give it each
surface-reflectance band as soon as the band is corrected (:meth:`ResolutionImages.put_boa`).  Encoding then
overlaps the correction of the next band, and no corrected band waits in memory for the others: only the
60 m aggregates (one ninth) and, until the TCI is made, the B02/B03/B04 digital numbers are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray

from sen2cor.io.l2a import encode
from sen2cor.io.l2a.stream import EncodeJobs, EncoderPool

if TYPE_CHECKING:
    from sen2cor.io.l2a.results import ResolutionResult
    from sen2cor.io.l2a.writer import L2AWriter

logger = logging.getLogger(__name__)

TCI_BANDS: Final[tuple[str, ...]] = ("B04", "B03", "B02")
"""Bands of the true-colour image (red, green, blue)."""
BACKGROUND_PENDING: Final[int] = 2
"""Images in the background encoder at most: the one being encoded and the next, waiting, which the
encoder takes as soon as it is free (with only the one being encoded the encoder sat idle while the chain
was encoding an image itself: ≈ 6 core-s per full tile, docs/benchmarks.md, session 17)."""


class ResolutionImages:
    """Encoded images of one resolution (see the module docstring).

    Parameters
    ----------
    writer:
        The product writer (layout, format, BOA offset, encoder threads).
    resolution:
        Pixel size of the images (m).
    aggregate_to_60:
        Also keep each image's 60 m aggregate (a 20 m run with ``Downsample_20_to_60``).
    background:
        Images arrive while the chain still computes: encode them on one thread beside it, with at most
        :data:`BACKGROUND_PENDING` images in flight (the next one, when that thread is busy and one image
        already waits, on the chain's own thread), until :meth:`all_threads`.
    """

    def __init__(self, writer: L2AWriter, resolution: int, aggregate_to_60: bool = False, *,
                 background: bool = False) -> None:
        self.writer = writer
        self.resolution = resolution
        self.aggregate_to_60 = aggregate_to_60
        self.aggregated: dict[str, NDArray[np.generic]] = {}
        self._kept: dict[str, NDArray[np.generic]] = {}
        self._added: set[str] = set()
        self._written: list[Path] = []
        self._done_encoders: list[EncoderPool] = []
        self._background = background
        # background: images arrive while the chain computes; one encoder beside it and one image waiting
        # for it (a 20 m JPEG 2000 encoding holds ≈ 8 MB besides its image); when both places are taken,
        # the chain encodes the next image itself (the codec works on one core per image) instead of
        # waiting: two encoders then, not three threads on two cores, which slows the codec down
        self._encoder: EncoderPool | None = (
            EncoderPool(1, pending=BACKGROUND_PENDING, background=True, caller_runs=writer.threads > 1)
            if background else EncoderPool(writer.threads))

    def all_threads(self) -> None:
        """Encode the images still to come on all the writer's threads (the computation is over); a
        no-op unless opened with ``background``."""
        encoder = self.encoder
        if not self._background:
            return
        self._background = False
        self._done_encoders.append(encoder)
        self._encoder = EncoderPool(self.writer.threads, pending=self.writer.threads)

    @property
    def encoder(self) -> EncoderPool:
        """The encoders images go to now (other images of the run may be handed to them too; :meth:`finish`
        waits for them all)."""
        if self._encoder is None:
            raise RuntimeError("images of this resolution are finished")
        return self._encoder

    @property
    def added(self) -> frozenset[str]:
        """Keys of the images handed over so far."""
        return frozenset(self._added)

    def put_boa(self, band_id: str, reflectance: NDArray[np.generic], nodata: NDArray[np.bool_] | None) -> None:
        """One surface-reflectance band (NaN = no data): encoded to product DN and handed over."""
        self.add(band_id, self.writer.encode_boa(reflectance, nodata))

    def add(self, key: str, dn: NDArray[np.generic]) -> None:
        """One encoded image (band id, ``SCL``, ``AOT`` …): written in the background where the product
        keeps it, aggregated to 60 m if asked; the TCI and preview follow once B02, B03 and B04 are in."""
        w, res, encoder = self.writer, self.resolution, self.encoder
        self._written += w.put_image(key, dn, res, encoder)
        self._added.add(key)
        if key in TCI_BANDS:
            self._kept[key] = dn
        if self.aggregate_to_60:
            agg = w.aggregate_image(key, dn)
            if agg is not None:
                self.aggregated[key] = agg
        if all(b in self._kept for b in TCI_BANDS):
            self._written += w.finish_images({b: self._kept.pop(b) for b in TCI_BANDS}, res, encoder)

    def add_classification(self, result: ResolutionResult) -> None:
        """The scene classification's images of ``result`` (SCL, cloud and snow probabilities), handed over
        as soon as the classification is done: encoded while the aerosol and water-vapour retrievals run,
        which leave a core partly idle (:meth:`L2AWriter.write_resolution` then skips them)."""
        if result.scl is not None:
            self.add("SCL", encode.check_scl(result.scl))
        for key, image in encode.probability_images(result.cloud_probability, result.snow_probability):
            self.add(key, image)

    def add_map(self, key: str, rows: Callable[[slice], NDArray[np.floating]], scl: NDArray[np.integer]) -> None:
        """The AOT or WVP map (``key``) as soon as it is known, given by rows (:func:`encode.encode_map_rows`,
        ``scl`` the run's classification): encoded while the chain goes on (:meth:`L2AWriter.write_resolution`
        then skips it).  The 20 m WVP handed over with the result took ≈ 6 s on one core after the last
        band, the other core idle (docs/benchmarks.md, session 20)."""
        self.add(key, encode.encode_map_rows(key, rows, scl))

    def finish(self, fill: EncodeJobs | None = None) -> list[Path]:
        """Wait for every encoding (re-raising the first failure); returns the files written (not those of
        ``fill``: jobs of another resolution, started on the workers the last images leave idle while they
        are encoded, :meth:`EncoderPool.fill`, and not waited for here (:meth:`EncodeJobs.wait_started`);
        those not started stay in ``fill``)."""
        if self._encoder is None:
            return list(self._written)
        encoder, self._encoder = self._encoder, None
        self._kept.clear()
        if fill:
            started = encoder.fill(fill, busy=[f for pool in self._done_encoders for f in pool.futures])
            logger.debug("%d images of another resolution encoded beside the last ones", started)
        errors = []
        for pool in (*self._done_encoders, encoder):
            try:
                pool.wait()
            except Exception as exc:  # noqa: BLE001 - every pool is waited for, the first error re-raised
                errors.append(exc)
        self._done_encoders.clear()
        if errors:
            raise errors[0]
        return list(self._written)
