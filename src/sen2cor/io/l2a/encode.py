"""Physical values ↔ Level-2A digital numbers (facts §3), and the TCI / PVI previews.

Every ``encode_*`` has an inverse ``decode_*`` so that a product can be read back (a 10 m run
re-uses the 20 m result) and round trips can be tested exactly.

Conventions (facts §3):

* BOA, PSD > 14.6: ``DN = round(ρ·10000 + 1000)``; results below 1 → 1; capped at 32767; 0 = no data.
  Users get ``ρ = (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE = (DN − 1000) / 10000``.
* BOA, PSD ≤ 14.6: ``ρ`` clipped to ≥ 0.0001, ``DN = round(ρ·10000)``; 0 = no data.
* AOT: ``round(1000·AOT550)``; WVP: ``round(1000·cm)``; both uint16, 0 where SCL ∈ {0, 1}.
* TCI: from B04/B03/B02 BOA DN, offset removed (values ≤ 1000 first set to 1001),
  ``byte = floor(clip(DN, 0, 2500)·254/2500) + 1``, 0 = no data.  The truncation (not rounding)
  was checked bit-exactly against the Sen2Cor 3.3 output of ``../shared/data/parity-a``.
* PVI: the TCI resized to 343 × 343 pixels of 320 m (bilinear).
* DEM: ``uint16(elevation + 10000)``, 0 = no data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import cv2
import numba
import numpy as np
from numpy.typing import NDArray

from sen2cor.sc.classes import class_mask
from sen2cor.sc.strips import for_each_strip

BOA_QUANTIFICATION_VALUE: Final[int] = 10000
"""``BOA_QUANTIFICATION_VALUE`` of MTD_MSIL2A.xml (facts §3)."""
BOA_ADD_OFFSET: Final[int] = -1000
"""``BOA_ADD_OFFSET`` per band for PSD > 14.6 (facts §3, [FORUM])."""
BOA_DN_MAX: Final[int] = 32767
"""Upper cap of BOA digital numbers for PSD > 14.6 (facts §3)."""
BOA_MIN_REFLECTANCE_PSD146: Final[float] = 0.0001
"""Lower clip of the reflectance for PSD ≤ 14.6 (facts §3): valid pixels never become 0."""
AOT_QUANTIFICATION_VALUE: Final[float] = 1000.0
"""``AOT_QUANTIFICATION_VALUE`` (facts §3)."""
WVP_QUANTIFICATION_VALUE: Final[float] = 1000.0
"""``WVP_QUANTIFICATION_VALUE`` in cm (facts §3)."""
NODATA_DN: Final[int] = 0
"""No-data value of every L2A image (``SPECIAL_VALUE_INDEX`` NODATA)."""
SATURATED_DN: Final[int] = 65535
"""``SPECIAL_VALUE_INDEX`` SATURATED of the product metadata."""
AOT_WVP_INVALID_SCL: Final[tuple[int, ...]] = (0, 1)
"""SCL classes (no data, saturated/defective) where AOT and WVP are written as 0 (facts §3)."""
TCI_BOA_SATURATION_DN: Final[int] = 2500
"""Offset-free BOA DN mapped to the brightest TCI value (facts §3)."""
TCI_SCALE: Final[int] = 254
"""TCI values span 1…255; 0 stays no data (facts §3)."""
PVI_SIZE: Final[int] = 343
"""PVI width and height in pixels (facts §3)."""
PVI_PIXEL_M: Final[int] = 320
"""PVI pixel size in metres (facts §3)."""
DEM_OFFSET_M: Final[int] = 10000
"""Offset added to DEM heights before writing (user manual change log 2.3, facts §9)."""
SCL_MAX: Final[int] = 11
"""Highest scene-classification code (SNOW_ICE, facts §2.2)."""


ENCODE_BLOCK_ROWS: Final[int] = 1024
"""Rows encoded at a time (per thread) by the AOT/WVP and TCI encoders (bounds their float64/int32
temporaries)."""


def encode_boa(reflectance: NDArray[np.floating], *, offset: bool = True,
               nodata: NDArray[np.bool_] | None = None) -> NDArray[np.uint16]:
    """BOA reflectance → uint16 digital numbers.

    Parameters
    ----------
    reflectance:
        2-D float array (any float dtype); NaN marks no data.
    offset:
        True for PSD > 14.6 (+1000 offset, ``BOA_ADD_OFFSET`` −1000), False for PSD ≤ 14.6.
    nodata:
        Optional extra no-data mask (e.g. ``SCL == 0``).

    Returns
    -------
    numpy.ndarray
        uint16, same shape; 0 exactly where there is no data.
    """
    src = np.asarray(reflectance)
    if src.ndim == 2:  # images: one pass, no temporaries
        if src.dtype not in (np.float32, np.float64):
            src = src.astype(np.float64)
        mask = np.zeros((1, 1), bool) if nodata is None else np.asarray(nodata, dtype=bool)
        if nodata is not None and mask.shape != src.shape:
            raise ValueError(f"no-data mask {mask.shape} does not match the image {src.shape}")
        return _encode_boa_2d(src, mask, nodata is not None, offset)
    rho = np.asarray(src, dtype=np.float64)  # other shapes (1-D profiles, stacks): whole-array NumPy
    invalid = ~np.isfinite(rho)
    if nodata is not None:
        invalid |= np.asarray(nodata, dtype=bool)
    rho = np.where(invalid, 0.0, rho)
    if offset:
        dn = np.rint(rho * BOA_QUANTIFICATION_VALUE - BOA_ADD_OFFSET)
        dn = np.clip(dn, 1, BOA_DN_MAX)
    else:
        dn = np.rint(np.maximum(rho, BOA_MIN_REFLECTANCE_PSD146) * BOA_QUANTIFICATION_VALUE)
        dn = np.clip(dn, 1, np.iinfo(np.uint16).max)
    out = dn.astype(np.uint16)
    out[invalid] = NODATA_DN
    return out


@numba.njit(cache=True, nogil=True)
def _encode_boa_2d(src, nodata, use_nodata, offset):  # type: ignore[no-untyped-def]
    """:func:`encode_boa` of a 2-D image pixel by pixel: the same float64 operations (``rint`` rounds half
    to even, as NumPy's) without the tile-size temporaries."""
    rows, cols = src.shape
    out = np.empty((rows, cols), np.uint16)
    q = np.float64(BOA_QUANTIFICATION_VALUE)
    for i in range(rows):
        for j in range(cols):
            rho = np.float64(src[i, j])
            if not np.isfinite(rho) or (use_nodata and nodata[i, j]):
                out[i, j] = NODATA_DN
                continue
            if offset:
                dn = np.rint(rho * q - np.float64(BOA_ADD_OFFSET))
                dn = min(max(dn, 1.0), np.float64(BOA_DN_MAX))
            else:
                dn = np.rint(max(rho, BOA_MIN_REFLECTANCE_PSD146) * q)
                dn = min(max(dn, 1.0), 65535.0)
            out[i, j] = np.uint16(dn)
    return out


def decode_boa(dn: NDArray[np.integer], *, offset: bool = True) -> NDArray[np.float32]:
    """uint16 BOA digital numbers → float32 reflectance (NaN where DN = 0); inverse of :func:`encode_boa`."""
    d = np.asarray(dn).astype(np.float32)
    add = float(BOA_ADD_OFFSET) if offset else 0.0
    out = (d + add) / np.float32(BOA_QUANTIFICATION_VALUE)
    out[d == NODATA_DN] = np.nan
    return out.astype(np.float32)


def _encode_scaled(values: NDArray[np.floating], scale: float,
                   scl: NDArray[np.integer] | None) -> NDArray[np.uint16]:
    src = np.asarray(values)
    if src.ndim == 2 and src.shape[0] > 2 * ENCODE_BLOCK_ROWS:  # bounded float64 temporaries, on threads
        out = np.empty(src.shape, np.uint16)
        classes = None if scl is None else np.asarray(scl)

        def block(rows: slice) -> None:
            out[rows] = _encode_scaled(src[rows], scale, None if classes is None else classes[rows])

        for_each_strip(block, src.shape[0], ENCODE_BLOCK_ROWS)
        return out
    v = np.asarray(src, dtype=np.float64)
    bad = ~np.isfinite(v)
    dn = np.clip(np.rint(np.where(bad, 0.0, v) * scale), 0, np.iinfo(np.uint16).max).astype(np.uint16)
    if scl is not None:
        bad |= class_mask(scl, AOT_WVP_INVALID_SCL)
    dn[bad] = 0
    return dn


def encode_aot(aot550: NDArray[np.floating], scl: NDArray[np.integer] | None = None) -> NDArray[np.uint16]:
    """AOT at 550 nm → ``round(1000·AOT)`` uint16; 0 for NaN and where SCL ∈ {0, 1}."""
    return _encode_scaled(aot550, AOT_QUANTIFICATION_VALUE, scl)


def encode_wvp(wv_cm: NDArray[np.floating], scl: NDArray[np.integer] | None = None) -> NDArray[np.uint16]:
    """Water vapour in cm → ``round(1000·cm)`` uint16; 0 for NaN and where SCL ∈ {0, 1}."""
    return _encode_scaled(wv_cm, WVP_QUANTIFICATION_VALUE, scl)


MAP_ENCODERS: Final[dict[str, Callable[..., NDArray[np.uint16]]]] = {"AOT": encode_aot, "WVP": encode_wvp}
"""Image key → the encoding of that map."""


def encode_map_rows(key: str, rows: Callable[[slice], NDArray[np.floating]], scl: NDArray[np.integer]
                    ) -> NDArray[np.uint16]:
    """:func:`encode_aot` or :func:`encode_wvp` (``key`` AOT or WVP) of a map given by rows: ``rows(slice)``
    computes those rows of it, so that no tile-size float map is needed; the same DN, strip by strip on
    threads."""
    encode_map = MAP_ENCODERS[key]
    scl = np.asarray(scl)
    out = np.empty(scl.shape, np.uint16)

    def strip(r: slice) -> None:
        out[r] = encode_map(rows(r), scl[r])

    for_each_strip(strip, scl.shape[0], ENCODE_BLOCK_ROWS)
    return out


def decode_aot(dn: NDArray[np.integer]) -> NDArray[np.float32]:
    """uint16 AOT → float32 AOT550 (0 stays 0)."""
    return (np.asarray(dn, dtype=np.float32) / np.float32(AOT_QUANTIFICATION_VALUE)).astype(np.float32)


def decode_wvp(dn: NDArray[np.integer]) -> NDArray[np.float32]:
    """uint16 WVP → float32 water vapour in cm (0 stays 0)."""
    return (np.asarray(dn, dtype=np.float32) / np.float32(WVP_QUANTIFICATION_VALUE)).astype(np.float32)


def check_scl(scl: NDArray[np.integer]) -> NDArray[np.uint8]:
    """Validate the scene classification (codes 0–11) and return it as uint8."""
    a = np.asarray(scl)
    if a.size and (a.min() < 0 or a.max() > SCL_MAX):
        raise ValueError(f"SCL values must lie in 0…{SCL_MAX}, got {a.min()}…{a.max()}")
    return a.astype(np.uint8)


def check_probability(prob: NDArray[np.integer], name: str) -> NDArray[np.uint8]:
    """Validate a cloud/snow confidence map (uint8 0–100) and return it as uint8."""
    a = np.asarray(prob)
    if a.size and (a.min() < 0 or a.max() > 100):
        raise ValueError(f"{name} values must lie in 0…100, got {a.min()}…{a.max()}")
    return a.astype(np.uint8)


def probability_images(cloud: NDArray[np.integer] | None, snow: NDArray[np.integer] | None,
                       skip: frozenset[str] = frozenset()) -> Iterator[tuple[str, NDArray[np.uint8]]]:
    """``("CLDPRB", image)`` and ``("SNWPRB", image)`` of the given cloud and snow confidence maps (checked,
    uint8), except the keys in ``skip``."""
    if cloud is not None and "CLDPRB" not in skip:
        yield "CLDPRB", check_probability(cloud, "cloud_probability")
    if snow is not None and "SNWPRB" not in skip:
        yield "SNWPRB", check_probability(snow, "snow_probability")


def encode_dem(elevation_m: NDArray[np.floating]) -> NDArray[np.uint16]:
    """DEM heights → ``uint16(round(h) + 10000)``; NaN → 0 (no data)."""
    h = np.asarray(elevation_m, dtype=np.float64)
    bad = ~np.isfinite(h)
    dn = np.clip(np.rint(np.where(bad, 0.0, h)) + DEM_OFFSET_M, 1, np.iinfo(np.uint16).max).astype(np.uint16)
    dn[bad] = 0
    return dn


def decode_dem(dn: NDArray[np.integer]) -> NDArray[np.float32]:
    """uint16 DEM → float32 heights in metres (NaN where 0)."""
    d = np.asarray(dn, dtype=np.float32)
    out = d - np.float32(DEM_OFFSET_M)
    out[d == 0] = np.nan
    return out


def tci_channel(boa_dn: NDArray[np.integer], *, offset: bool = True) -> NDArray[np.uint8]:
    """One TCI channel (uint8, 0 = no data) from a BOA DN band (facts §3)."""
    src = np.asarray(boa_dn)
    if src.ndim == 2 and src.dtype.kind in "ui" and src.dtype.itemsize <= 4:
        return _tci_2d(src, offset)  # one pass, exact integer arithmetic: the formula below bit for bit
    dn = src.astype(np.int64)
    nodata = dn == NODATA_DN
    if offset:
        dn = np.maximum(dn, -BOA_ADD_OFFSET + 1) + BOA_ADD_OFFSET
    scaled = (np.clip(dn, 0, TCI_BOA_SATURATION_DN) * TCI_SCALE) // TCI_BOA_SATURATION_DN + 1
    out = scaled.astype(np.uint8)
    out[nodata] = 0
    return out


@numba.njit(cache=True, nogil=True)
def _tci_2d(src, offset):  # type: ignore[no-untyped-def]
    """:func:`tci_channel` of a 2-D integer image pixel by pixel (no int64 temporaries)."""
    rows, cols = src.shape
    out = np.empty((rows, cols), np.uint8)
    for i in range(rows):
        for j in range(cols):
            dn = np.int64(src[i, j])
            if dn == NODATA_DN:
                out[i, j] = 0
                continue
            if offset:
                dn = max(dn, -BOA_ADD_OFFSET + 1) + BOA_ADD_OFFSET
            dn = min(max(dn, 0), TCI_BOA_SATURATION_DN)
            out[i, j] = np.uint8((dn * TCI_SCALE) // TCI_BOA_SATURATION_DN + 1)
    return out


def encode_tci(b04: NDArray[np.integer], b03: NDArray[np.integer], b02: NDArray[np.integer], *,
               offset: bool = True) -> NDArray[np.uint8]:
    """True-colour image ``(3, rows, cols)`` uint8 from the B04/B03/B02 BOA DN (facts §3)."""
    first = np.asarray(b04)
    out = np.empty((3, *first.shape), np.uint8)
    for k, b in enumerate((first, b03, b02)):
        out[k] = tci_channel(b, offset=offset)
    return out


def make_pvi(tci: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Preview image ``(3, 343, 343)``: the TCI resized bilinearly (facts §3).

    Sen2Cor stretches whatever extent was processed to 343 × 343 pixels; the bilinear kernel
    reproduces the Sen2Cor 3.3 PVI of ``parity-a`` to ±1 DN on 83 % of the pixels (exact
    resampler unknown; docs/differences.md "Product format").
    """
    if tci.ndim != 3 or tci.shape[0] != 3:
        raise ValueError(f"TCI must have shape (3, rows, cols), got {tci.shape}")
    planes = [
        cv2.resize(np.ascontiguousarray(ch, dtype=np.float32), (PVI_SIZE, PVI_SIZE),
                   interpolation=cv2.INTER_LINEAR)
        for ch in tci
    ]
    return np.clip(np.rint(np.stack(planes)), 0, 255).astype(np.uint8)
