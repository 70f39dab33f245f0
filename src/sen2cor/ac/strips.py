"""The 10 m surface reflectance in row strips, with bounded memory (facts §5 item 1, §7.6–7.7).

The 10 m run retrieves nothing: classification, visibility index, AOT and water vapour are the 20 m
results up-sampled by nearest neighbour.  What is left — step 1 and step 2 of the reflectance retrieval
on flat terrain — is per pixel except for the adjacency box mean and a few scene statistics, so it runs
in row strips of the tile:

1. :func:`prepare_strips` — the scene state: cells with their geometry (per-cell means of the per-pixel
   sun angles, accumulated strip by strip with :class:`CellSunMeans`), RT tables, scene visibility
   index, the cloud switches of step 2 (from the 20 m classification: each 20 m pixel is exactly four
   10 m pixels, so the fractions are the same);
2. :func:`step1_strip` on each strip — step-1 reflectance, whose sums :class:`FillSums` collects for the
   no-data / cloud fill of the box mean;
3. :func:`step2_masks` and :func:`step2_band` on each strip extended by :attr:`StripSetup.halo` rows on
   both sides, one band at a time — adjacency and spherical albedo of the strip's own rows.

The result equals :func:`sen2cor.ac.correct.correct_resolution` with ``previous`` on the whole tile up to
floating-point summation order (``tests/pipeline/test_ten_metre.py``).  Rugged terrain (terrain iteration, BRDF)
is not handled here: the caller corrects such tiles as a whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from sen2cor.ac.adjacency import (
    AdjacencySetup,
    BackgroundFill,
    adjacency_pixels,
    cloud_switches,
    correct_band,
)
from sen2cor.ac.aot import land_mean_index
from sen2cor.ac.boa import BoaContext, blue_lp_factors, centre_cell, step1_band
from sen2cor.ac.constants import (
    BORDER_MASK_MAX,
    CLEAR_CLASSES,
    CLEAR_LAND_CLASSES,
    CLOUD_CLASSES_AC,
    LUT_TOP_ELEVATION_KM,
    MAX_SOLAR_ZENITH_DEG,
)
from sen2cor.ac.filters import box_mean
from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.result import AcResult
from sen2cor.ac.rt import N_VIS_INDEX, Geometry, RtTable, elevation_class_km, rt_table
from sen2cor.ac.setup import Cell, Terrain, flat_terrain
from sen2cor.physics.lut import AtmosphericLut
from sen2cor.sc.classes import SceneClass, class_mask

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


def upsample_rows(a: npt.NDArray, shape: tuple[int, int], row0: int, row1: int) -> npt.NDArray:
    """Rows ``row0:row1`` of the nearest-neighbour up-sampling of ``a`` to ``shape`` (facts §5 item 1)."""
    rows, cols = _nearest_indices(a.shape, shape, row0, row1)
    if isinstance(a, np.ndarray) and a.ndim == 2 and a.dtype.kind in "biuf":
        return _gather(a, rows, cols)  # 5–10× faster than NumPy's fancy indexing, same values
    return a[np.ix_(rows, cols)]


def upsample_rows_of(source: Callable[[slice], npt.NDArray], source_shape: tuple[int, int],
                     shape: tuple[int, int], row0: int, row1: int) -> npt.NDArray:
    """:func:`upsample_rows` of a per-pixel function of a coarser image: ``source(rows)`` gives the
    function's values on those source rows, evaluated once per source pixel instead of once per output pixel
    (nearest up-sampling only copies, so the result is the same)."""
    rows, cols = _nearest_indices(source_shape, shape, row0, row1)
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    return _gather(np.ascontiguousarray(source(slice(lo, hi))), rows - lo, cols)


def _nearest_indices(source_shape: tuple[int, ...], shape: tuple[int, int], row0: int, row1: int
                     ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Source rows of output rows ``row0:row1`` and source columns of every output column."""
    rows = (np.arange(row0, row1) * source_shape[0]) // shape[0]
    cols = (np.arange(shape[1]) * source_shape[1]) // shape[1]
    return rows, cols


@numba.njit(cache=True, nogil=True)
def _gather(a, rows, cols):  # type: ignore[no-untyped-def]
    """``a[np.ix_(rows, cols)]`` of a 2-D array, row by row."""
    out = np.empty((rows.size, cols.size), a.dtype)
    for i in range(rows.size):
        src = a[rows[i]]
        for j in range(cols.size):
            out[i, j] = src[cols[j]]
    return out


class CellSunMeans:
    """Per-cell means of the per-pixel sun angles, accumulated over row strips (facts §7.2)."""

    def __init__(self, cells: list[Cell]) -> None:
        self.cells = cells
        self._sums = np.zeros((len(cells), 3), np.float64)  # Σ zenith, Σ azimuth, count

    def add(self, row0: int, zenith: F32, azimuth: F32) -> None:
        row1 = row0 + zenith.shape[0]
        for k, c in enumerate(self.cells):
            r0, r1 = max(c.rows.start, row0), min(c.rows.stop, row1)
            if r0 >= r1:
                continue
            win = (slice(r0 - row0, r1 - row0), c.cols)
            z = zenith[win]
            ok = ~np.isnan(z)
            self._sums[k] += (z[ok].sum(dtype=np.float64), azimuth[win][ok].sum(dtype=np.float64),
                              np.count_nonzero(ok))

    def geometries(self, view_zenith: float, view_azimuth: float) -> list[Geometry]:
        """Cell geometries (SZA clipped to 70°) with the tile-mean view angles, as ``cell_geometries``."""
        out = []
        for z, a, n in self._sums:
            n = max(n, 1.0)
            out.append(Geometry(min(z / n, MAX_SOLAR_ZENITH_DEG), a / n, abs(float(view_zenith)),
                                float(view_azimuth)))
        return out


@dataclass(frozen=True)
class StripSetup:
    """Scene state of the strip-wise 10 m correction (see the module docstring)."""

    shape: tuple[int, int]
    bands: tuple[str, ...]
    cells: list[Cell] = field(repr=False)
    geometries: list[Geometry] = field(repr=False)
    tables: list[RtTable] = field(repr=False)
    mean_index: int
    params: AcParameters = field(repr=False)
    solar_irradiance: dict[str, float]
    altitude_km: float
    elevation_class: int
    lp_factors: dict[str, float]
    box: int
    replace_clouds: bool
    high_cloud: bool
    any_nodata: bool
    step2: bool

    @property
    def halo(self) -> int:
        """Rows a strip needs on each side for the step-2 box mean."""
        return self.box // 2 if self.step2 else 0


def prepare_strips(
    previous: AcResult,
    scl_base: U8,
    *,
    shape: tuple[int, int],
    bands: tuple[str, ...],
    lut: AtmosphericLut,
    params: AcParameters,
    solar_irradiance: dict[str, float],
    cells: list[Cell],
    geometries: list[Geometry],
    terrain: Terrain,
    resolution: int = 10,
) -> StripSetup:
    """The scene state from the base-resolution result ``previous`` and its classification ``scl_base``.

    ``geometries`` are the per-cell geometries of ``cells`` on the 10 m grid (:class:`CellSunMeans`);
    ``terrain`` is the flat terrain state of the tile (``prepare_terrain``; only its elevation is used).
    """
    if not terrain.flat:
        raise ValueError("the strip-wise correction handles flat terrain only")
    if terrain.max_elevation_km > LUT_TOP_ELEVATION_KM:
        lut = lut.extend_elevation(terrain.max_elevation_km)
    p = previous.info
    mean_index = land_mean_index(previous.vis_index, scl_base, p.mean_visibility_index)
    z = elevation_class_km(terrain.n_classes)
    tables = [rt_table(lut, list(bands), g, z, vis_index=np.arange(N_VIS_INDEX)) for g in geometries]
    valid = scl_base > SceneClass.SATURATED_DEFECTIVE
    n_valid = int(np.count_nonzero(valid))
    n_cloud = int(np.count_nonzero(class_mask(scl_base, CLOUD_CLASSES_AC)))
    n_clear_land = int(np.count_nonzero(class_mask(scl_base, CLEAR_LAND_CLASSES)))
    f = (shape[0] * shape[1]) / float(scl_base.size)  # pixels per base pixel (4 at 20 → 10 m)
    replace_clouds, high_cloud = cloud_switches(*(round(v * f) for v in (n_valid, n_cloud, n_clear_land)))
    return StripSetup(
        shape=shape, bands=tuple(bands), cells=cells, geometries=geometries, tables=tables,
        mean_index=mean_index, params=params, solar_irradiance=dict(solar_irradiance), altitude_km=terrain.mean_altitude_km,
        elevation_class=terrain.mean_class,
        lp_factors=blue_lp_factors(p.blue_path_radiance_factor, tuple(bands)),
        box=2 * adjacency_pixels(params.adj_km, resolution) + 1,
        replace_clouds=replace_clouds,
        high_cloud=high_cloud,
        any_nodata=not bool(valid.all()),
        step2=bool(params.rho_retrieval_step2),
    )


def strip_sza(sun_zenith: F32) -> F32:
    """The per-pixel SZA the correction of a strip uses: clipped to :data:`MAX_SOLAR_ZENITH_DEG`, missing
    angles filled with the strip's mean.  Applying it again changes nothing, so a strip can be split into
    parts after it (the parts keep the whole strip's fill)."""
    sza = np.minimum(np.asarray(sun_zenith, dtype=np.float32), np.float32(MAX_SOLAR_ZENITH_DEG))
    if np.isnan(sza).any():
        sza = np.where(np.isnan(sza), np.float32(np.nanmean(sza)), sza)
    return sza


def _strip_context(setup: StripSetup, row0: int, sun_zenith: F32, vis_index: U8) -> BoaContext:
    """A :class:`BoaContext` for rows ``row0 : row0 + len(sun_zenith)``: the cells clipped to the strip."""
    rows = sun_zenith.shape[0]
    sza = strip_sza(sun_zenith)
    terrain = flat_terrain((rows, setup.shape[1]), sza, setup.altitude_km)
    cells, geoms, tables = [], [], []
    for c, g, t in zip(setup.cells, setup.geometries, setup.tables):
        r0, r1 = max(c.rows.start, row0), min(c.rows.stop, row0 + rows)
        if r0 < r1:
            cells.append(Cell(slice(r0 - row0, r1 - row0), c.cols))
            geoms.append(g)
            tables.append(t)
    return BoaContext(terrain, cells, geoms, tables, vis_index, setup.mean_index, setup.params,
                      lp_factors=setup.lp_factors)


def step1_strip(setup: StripSetup, row0: int, toa: dict[str, F32], sun_zenith: F32, vis_index: U8,
                scl: U8) -> dict[str, F32]:
    """Step-1 reflectance of one strip (facts §7.6); 0 where there is no data (and outside valid classes
    when step 2 is off)."""
    ctx = _strip_context(setup, row0, sun_zenith, vis_index)
    out = {}
    for b in setup.bands:
        rho = step1_band(ctx, b, toa[b], setup.solar_irradiance[b])
        if not setup.step2:
            rho[scl <= SceneClass.SATURATED_DEFECTIVE] = 0.0
        out[b] = rho
    return out


def _class_bits_table() -> npt.NDArray[np.uint8]:
    """Per SCL code: bit 0 set for valid classes (above SATURATED_DEFECTIVE), bit 1 for the clear ones, bit 2
    for the clouds of the correction (``CLOUD_CLASSES_AC``)."""
    table = np.zeros(256, np.uint8)
    table[SceneClass.SATURATED_DEFECTIVE + 1:] |= 1
    table[list(CLEAR_CLASSES)] |= 2
    table[list(CLOUD_CLASSES_AC)] |= 4
    return table


_CLASS_BITS: Final[npt.NDArray[np.uint8]] = _class_bits_table()


@numba.njit(cache=True, nogil=True)
def _fill_sums(rho, scl, table):  # type: ignore[no-untyped-def]
    """Σ ρ and count over the valid and the clear pixels (``table`` bits 0 and 1 of each SCL code), float64;
    each row summed on its own, then the rows in order."""
    out = np.zeros(4, np.float64)
    for i in range(rho.shape[0]):
        sv, sc, nv, nc = 0.0, 0.0, 0, 0
        for j in range(rho.shape[1]):
            k = table[scl[i, j]]
            v = np.float64(rho[i, j])
            if k & 1:
                sv += v
                nv += 1
            if k & 2:
                sc += v
                nc += 1
        out[0] += sv
        out[1] += nv
        out[2] += sc
        out[3] += nc
    return out


class FillSums:
    """Whole-tile sums of step-1 reflectance for the step-2 background fill (``BackgroundFill``)."""

    def __init__(self, bands: tuple[str, ...]) -> None:
        self._s = {b: np.zeros(4, np.float64) for b in bands}  # Σ valid, n valid, Σ clear, n clear

    @staticmethod
    def of(rho: dict[str, F32], scl: U8) -> dict[str, npt.NDArray[np.float64]]:
        """The sums of one strip or row part ``rho`` with its SCL rows, per band: Σ valid, n valid, Σ clear,
        n clear.  Row parts are summed on the correction's threads and added in order with :meth:`add`.

        One compiled pass per band (no masked copies: a third of the step-1 time otherwise), summed row by
        row in float64: the same sums as NumPy's up to float64 rounding (``tests/ac/test_upsample.py``)."""
        return {b: _fill_sums(np.ascontiguousarray(r, dtype=np.float32), np.ascontiguousarray(scl), _CLASS_BITS)
                for b, r in rho.items()}

    def add(self, sums: dict[str, npt.NDArray[np.float64]]) -> None:
        """Add the :meth:`of` sums of a strip or row part (the tile's sums are those of its parts in order:
        equal to one sum over the tile up to float64 rounding, far below the float32 fill values)."""
        for b, s in sums.items():
            if b in self._s:
                self._s[b] += s

    def fill(self, setup: StripSetup, band_id: str) -> BackgroundFill:
        sv, nv, sc, nc = self._s[band_id]
        nodata = float(np.float32(sv / nv)) if setup.any_nodata and nv > 0 else None
        clouds = float(np.float32(sc / nc)) if setup.replace_clouds and nc > 0 else None
        return BackgroundFill(nodata, clouds)


def step2_masks(setup: StripSetup, scl: U8, shape: tuple[int, int], row0: int, row1: int,
                border: npt.NDArray[np.bool_] | None = None) -> AdjacencySetup:
    """The step-2 masks of rows ``row0:row1`` (a strip with its halo rows) of the nearest-neighbour
    up-sampling of ``scl`` to ``shape`` (:func:`upsample_rows`), shared by the strip's bands.

    The strip covers its own rows plus up to :attr:`StripSetup.halo` rows above and below (fewer at the
    tile edges); :func:`step2_band` computes the strip's own rows from them.  The three masks are made in one
    pass from the coarse classes (a third of the time of up-sampling the classes and looking each mask up).
    ``border``: the strip's no-data border mask when already known (``AdjacencySetup.border`` of an earlier
    call for the same rows; the one box mean of this function).
    """
    rows, cols = _nearest_indices(scl.shape, shape, row0, row1)
    n = (rows.size, cols.size)
    valid, clouds, clear = np.empty(n, np.bool_), np.empty(n, np.bool_), np.empty(n, np.bool_)
    _upsampled_masks(np.ascontiguousarray(scl, dtype=np.uint8), rows, cols, _CLASS_BITS, valid, clouds, clear)
    if border is None and setup.step2 and setup.any_nodata:
        frac = box_mean(valid.astype(np.float32), setup.box)
        border = (frac > 0) & (frac < BORDER_MASK_MAX)
    return AdjacencySetup(valid, clouds, clear, setup.replace_clouds, setup.high_cloud, setup.box, border)


@numba.njit(cache=True, nogil=True)
def _upsampled_masks(a, rows, cols, table, valid, clouds, clear):  # type: ignore[no-untyped-def]
    """The valid, cloud and clear masks of ``a[np.ix_(rows, cols)]`` through ``table`` (bits 0, 2 and 1 of
    :data:`_CLASS_BITS`); an output row whose source row is the previous one's is a copy of it."""
    for i in range(rows.size):
        if i > 0 and rows[i] == rows[i - 1]:
            valid[i] = valid[i - 1]
            clouds[i] = clouds[i - 1]
            clear[i] = clear[i - 1]
            continue
        src = a[rows[i]]
        v, c, k = valid[i], clouds[i], clear[i]
        for j in range(cols.size):
            f = table[src[cols[j]]]
            v[j] = (f & 1) != 0
            c[j] = (f & 4) != 0
            k[j] = (f & 2) != 0


def step2_band(setup: StripSetup, adj: AdjacencySetup, band_id: str, rho: F32, fills: FillSums,
               rows: tuple[int, int] | None = None) -> F32:
    """Step 2 of one band of a strip with its halo rows, with the strip's :func:`step2_masks`; ``rows``:
    only the rows ``r0:r1`` of the result (the strip's own, without the halo)."""
    r0, r1 = rows or (0, rho.shape[0])
    if not setup.step2:
        return np.where(adj.valid[r0:r1], rho[r0:r1], np.float32(0.0))
    centre = setup.tables[centre_cell(setup.cells)]
    bi = centre.index(band_id)
    q = centre.q[bi, setup.mean_index, setup.elevation_class]
    s = centre.s[bi, setup.mean_index, setup.elevation_class]
    return correct_band(band_id, rho, q, s, adj, fill=fills.fill(setup, band_id), rows=(r0, r1))
