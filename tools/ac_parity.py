"""Parity of our atmospheric correction with the real Sen2Cor 3.3 on ``../shared/data/parity-a``.

Runs :func:`sen2cor.ac.correct.correct_resolution` on the parity-a L1C bands with the scene classification
*taken from Sen2Cor's own output* (to isolate the AC from the SC), then compares BOA, AOT, WV and the
visibility-index map with Sen2Cor's 20 m (and, with ``--ten``, 10 m) products.

Usage::

    .venv/bin/python tools/ac_parity.py [--ten] [--own-lut] [--json out.json]

Notes: the product's L1C is PB 02.06 (TOA = DN/10000, no offset); Sen2Cor used the ``g`` (290 DU) LUT, which
is not in ``../shared/data/sen2cor-2.8-luts`` — we use ``h`` (331 DU).  Sen2Cor read only the first
12 rows of the 23×23 sun-angle grid and stretched them over the crop (NOTES.md quirk 1); we do the same.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sen2cor.ac.correct import correct_resolution
from sen2cor.ac.parameters import AcParameters
from sen2cor.io.l1c import read_l1c
from sen2cor.physics import atm

DATA = (REPO / ".." / "shared" / "data").resolve()
PARITY = DATA / "parity-a"
LUTS = DATA / "sen2cor-2.8-luts"
L1C = next((PARITY / "input").glob("S2A_MSIL1C_*.SAFE"))
OUT20 = next((PARITY / "sen2cor-3.3-output" / "res20").glob("S2A_MSIL2A_*.SAFE"))
OUT_DEF = next((PARITY / "sen2cor-3.3-output" / "default_20_then_10").glob("S2A_MSIL2A_*.SAFE"))

BANDS_20 = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B10", "B11", "B12")
NATIVE_RES = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10,
              "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20}


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


def l2a_band(product: Path, res: int, name: str) -> np.ndarray:
    return read(next(product.glob(f"GRANULE/*/IMG_DATA/R{res}m/*_{name}_{res}m.jp2")))


def resample_dn(dn: np.ndarray, src: int, dst: int, band: str, shape: tuple[int, int]) -> np.ndarray:
    """Sen2Cor's import resampling (facts §5 item 2): block mean down, bicubic/bilinear up, uint16."""
    if src == dst:
        return dn
    if src < dst:
        f = dst // src
        blocks = dn.astype(np.float64).reshape(shape[0], f, shape[1], f).mean(axis=(1, 3))
        return (blocks + 0.5).astype(np.uint16)
    order = 1 if band in ("B09", "B10") else 3
    up = ndimage.zoom(dn.astype(np.float64), src // dst, order=order, mode="reflect", grid_mode=True)
    return np.clip(up, 0, 65535).astype(np.uint16)


def sun_angles(product, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel sun angles with Sen2Cor's crop quirk: first rint(23·rows/cols) grid rows over the crop."""
    grid = product.tile.angles.sun
    n = int(np.rint(grid.zenith.shape[0] * shape[0] / shape[1]))
    out = []
    for g in (grid.zenith[:n], grid.azimuth[:n]):
        rows = np.linspace(0, g.shape[0] - 1, shape[0])
        cols = np.linspace(0, g.shape[1] - 1, shape[1])
        rr, cc = np.meshgrid(rows, cols, indexing="ij")
        out.append(ndimage.map_coordinates(g.astype(np.float64), [rr, cc], order=1).astype(np.float32))
    return out[0], out[1]


def stats(ours: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    d = ours[mask].astype(np.float64) - ref[mask].astype(np.float64)
    return {"mean_abs": float(np.abs(d).mean()), "bias": float(d.mean()), "rmse": float(np.sqrt((d ** 2).mean())),
            "p99_abs": float(np.percentile(np.abs(d), 99))}


def _lut(product, resolution: int, own: bool):
    """ESA's rural summer table (331 DU), or with ``own`` our 6S table at the product's ozone and L1C E0."""
    from sen2cor.physics import generated_lut

    if own:
        e0 = {b: v / 10.0 for b, v in product.solar_irradiance.items() if v > 0}
        return generated_lut.load_6s_lut("S2A", "RURAL", "SUMMER", 277.14, band_e0=e0)
    return atm.load_sen2cor_lut(LUTS, platform="S2A", resolution=resolution, season="SUMMER", ozone_du=331.0,
                                aerosol="RURAL")


def run(ten: bool, own_lut: bool = False) -> dict:
    product = read_l1c(L1C)
    scl20 = l2a_band(OUT20, 20, "SCL")
    shape = scl20.shape
    toa = {}
    for b in BANDS_20:
        dn = read(product.tile.band_files[b])
        dn = resample_dn(dn, NATIVE_RES[b], 20, b, shape)
        toa[b] = np.where(dn > 0, dn.astype(np.float32) / 10000.0, 0.0).astype(np.float32)
    sza, saa = sun_angles(product, shape)
    vza, vaa = product.tile.angles.mean_view_zenith, product.tile.angles.mean_view_azimuth
    params = AcParameters()
    lut20 = _lut(product, 20, own_lut)
    t0 = time.perf_counter()
    res = correct_resolution(toa, scl20, resolution=20, lut=lut20, params=params,
                             solar_irradiance=product.solar_irradiance, sun_zenith=sza, sun_azimuth=saa,
                             view_zenith=vza, view_azimuth=vaa, ozone_du=277.14, ozone_source="AUX_ECMWFT")
    elapsed = time.perf_counter() - t0
    valid = scl20 > 0
    report: dict = {"elapsed_s_20m": elapsed, "info": {k: v for k, v in res.info.__dict__.items()
                                                        if not isinstance(v, dict)},
                    "negative_boa_percent": res.info.negative_boa_percent, "bands20": {}}
    for b in ("B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12"):
        ref = l2a_band(OUT20, 20, b).astype(np.float64) / 10000.0
        ours = np.floor(np.maximum(res.boa[b], 1e-4) * 10000.0 + 0.5) / 10000.0
        report["bands20"][b] = stats(ours, ref, valid)
    aot_ref = l2a_band(OUT20, 20, "AOT") / 1000.0
    wv_ref = l2a_band(OUT20, 20, "WVP") / 1000.0
    vis_ref = l2a_band(OUT20, 20, "VIS")
    report["aot"] = {"ours_mean": float(res.aot550[valid].mean()), "sen2cor_mean": float(aot_ref[valid].mean()),
                     **stats(res.aot550, aot_ref, valid)}
    report["wv"] = {"ours_mean": res.info.mean_wv_cm, "sen2cor_mean": float(wv_ref[wv_ref > 0].mean()),
                    **stats(res.wv_cm, wv_ref, valid)}
    report["vis_index"] = {"ours_mean": float(res.vis_index[valid].mean()),
                           "sen2cor_mean": float(vis_ref[valid].mean()),
                           "agreement": float(np.mean(res.vis_index[valid] == vis_ref[valid]))}
    if ten:
        scl10 = np.repeat(np.repeat(scl20, 2, 0), 2, 1)
        toa10 = {}
        for b in ("B02", "B03", "B04", "B08"):
            dn = read(product.tile.band_files[b])
            toa10[b] = np.where(dn > 0, dn.astype(np.float32) / 10000.0, 0.0).astype(np.float32)
        sza10, saa10 = sun_angles(product, scl10.shape)
        lut10 = _lut(product, 10, own_lut)
        t0 = time.perf_counter()
        r10 = correct_resolution(toa10, scl10, resolution=10, lut=lut10, params=params,
                                 solar_irradiance=product.solar_irradiance, sun_zenith=sza10, sun_azimuth=saa10,
                                 view_zenith=vza, view_azimuth=vaa, previous=res, ozone_du=277.14,
                                 ozone_source="AUX_ECMWFT")
        report["elapsed_s_10m"] = time.perf_counter() - t0
        v10 = scl10 > 0
        report["bands10"] = {}
        for b in ("B02", "B03", "B04", "B08"):
            ref = l2a_band(OUT_DEF, 10, b).astype(np.float64) / 10000.0
            ours = np.floor(np.maximum(r10.boa[b], 1e-4) * 10000.0 + 0.5) / 10000.0
            report["bands10"][b] = stats(ours, ref, v10)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ten", action="store_true", help="also run and compare the 10 m step")
    ap.add_argument("--own-lut", action="store_true", help="use our 6S tables instead of ESA's")
    ap.add_argument("--json", type=Path, help="write the report as JSON")
    ap.add_argument("-v", action="store_true", help="INFO logging")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.v else logging.WARNING, format="%(name)s: %(message)s")
    report = run(args.ten, args.own_lut)
    text = json.dumps(report, indent=1, default=float)
    if args.json:
        args.json.write_text(text)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
