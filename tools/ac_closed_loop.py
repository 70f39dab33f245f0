"""Closed-loop evaluation of the atmospheric correction against an independent forward model.

Real surface reflectance (the ESA L2A BOA of ``s2-l2a-t29unu-esa`` at 60 m, the ESA BOA of
``s2-pair-barbellino-sen2r``) is forward-simulated to TOA with Sen2Cor's own LUTs
(:mod:`sen2cor.ac.forward`: flat or rugged terrain, adjacency, spherical albedo) at a known visibility,
water vapour and geometry.  Then :func:`sen2cor.ac.correct.correct_resolution` is run

* with AOT and WV fixed to the truth → per-band BOA RMSE / bias (target RMSE ≤ 0.005), over all clear
  pixels, over the *interior* (clear pixels whose adjacency box holds no no-data pixel) and over the
  no-data border zone (where the surface beyond the swath edge, hence the true background, is undefined);
* with DDV and APDA retrieving them → AOT and WV errors, and the AOT of the DDV step alone (before the
  negative-reflectance check).

``--decompose`` adds fixed-AOT runs that take the closed-loop error apart (docs/differences.md,
"Closed loop: remaining errors"):

* ``no_adjacency`` — forward model with ρ̄ = ρ, inversion with the adjacency term off (spherical albedo on);
* ``uniform`` — every band replaced by its clear-pixel mean, adjacency on in both (it cancels);
* ``oracle_background`` — adjacency on, but the inversion is handed the forward model's true background
  ρ̄ = box(ρ) instead of Sen2Cor's one-pass estimate box(step-1 ρ).

``--forward-clouds include`` lets clouds contribute to the forward model's adjacency background with their
own reflectance (the assumption of Sen2Cor's negative-reflectance check) instead of the clear mean (the
assumption of Sen2Cor's step 2, the default).

Usage::

    .venv/bin/python tools/ac_closed_loop.py [--scenario NAME ...] [--decompose] [--fixed-only]
        [--forward-clouds {exclude,include}] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import rasterio
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sen2cor.ac import adjacency as adjacency_mod
from sen2cor.ac import correct as correct_mod
from sen2cor.ac.correct import correct_resolution
from sen2cor.ac.forward import ForwardTerrain, column_wv_cm, simulate_toa, true_background
from sen2cor.ac.parameters import AcParameters
from sen2cor.ac.rt import index_of_visibility, visibility_of_index
from sen2cor.ac.setup import TerrainInputs
from sen2cor.physics import atm
from sen2cor.physics.visibility import aot550_from_visibility

DATA = (REPO / ".." / "shared" / "data").resolve()
LUTS = DATA / "sen2cor-2.8-luts"
T29 = next((DATA / "s2-l2a-t29unu-esa").glob("S2A_MSIL2A_*.SAFE"))
BARB = DATA / "s2-pair-barbellino-sen2r"

# S2A SOLAR_IRRADIANCE (W m-2 um-1) of the L1C metadata (same for every S2A product)
E0_S2A = {"B01": 1913.57, "B02": 1941.63, "B03": 1822.61, "B04": 1512.79, "B05": 1425.56, "B06": 1288.32,
          "B07": 1163.19, "B08": 1036.39, "B8A": 955.19, "B09": 813.04, "B10": 367.15, "B11": 245.59,
          "B12": 85.25}
CLOUDS = (7, 8, 9, 10)
"""SCL classes Sen2Cor keeps out of the adjacency background (facts §7.7); the forward model does the same."""
REFERENCE = (4, 5, 6)
"""SCL classes whose mean replaces the clouds in the background (facts §7.7)."""
DECOMPOSITION = ("no_adjacency", "uniform", "oracle_background")
T29_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12")
BARB_BOA_ORDER = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B11", "B12")


def load_t29(crop: slice | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rho = {}
    for b in T29_BANDS:
        with rasterio.open(next(T29.glob(f"GRANULE/*/IMG_DATA/R60m/*_{b}_60m.jp2"))) as ds:
            dn = ds.read(1).astype(np.float32)
        rho[b] = np.where(dn > 0, (dn - 1000.0) / 10000.0, 0.0).astype(np.float32)
    with rasterio.open(next(T29.glob("GRANULE/*/IMG_DATA/R60m/*_SCL_60m.jp2"))) as ds:
        scl = ds.read(1)
    if crop is not None:
        rho = {b: v[crop, crop] for b, v in rho.items()}
        scl = scl[crop, crop]
    # surface reflectance must be positive where SCL says data (ESA BOA clips at DN 1 → -0.0999)
    for b in rho:
        rho[b] = np.where(scl > 0, np.maximum(rho[b], 1e-4), 0.0).astype(np.float32)
    return rho, scl


def load_barbellino(date: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    with rasterio.open(BARB / f"S2A2A_{date}_022_Barbellino_BOA_10.tif") as ds:
        boa = ds.read().astype(np.float32)
    with rasterio.open(BARB / f"S2A2A_{date}_022_Barbellino_SCL_10.tif") as ds:
        scl20 = ds.read(1)
    rho = {b: np.maximum(boa[i] / 10000.0, 1e-4).astype(np.float32) for i, b in enumerate(BARB_BOA_ORDER)}
    rho["B8A"] = rho["B08"]  # sen2r exported B08, not B8A: the 842 nm band stands in for 865 nm
    scl = np.repeat(np.repeat(scl20, 2, 0), 2, 1)[: boa.shape[1], : boa.shape[2]]
    return rho, scl


def synthetic_hills(shape: tuple[int, int], pixel_m: float, sza: float, saa: float, relief_m: float = 800.0,
                    wavelength_px: float = 120.0) -> tuple[np.ndarray, TerrainInputs, ForwardTerrain]:
    """A smooth hill field: DEM (km), slope/aspect/cos β/sky view for the inversion and the forward model."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    k = 2 * np.pi / wavelength_px
    dem_m = 1000.0 + relief_m / 2 * (np.sin(k * xx) * np.cos(0.8 * k * yy))
    dzdy, dzdx = np.gradient(dem_m, pixel_m)
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, dzdy)  # clockwise from north (rows increase southwards)
    z, a = np.deg2rad(sza), np.deg2rad(saa)
    cos_beta = np.cos(z) * np.cos(slope) + np.sin(z) * np.sin(slope) * np.cos(a - aspect)
    sky = 0.5 * (1 + np.cos(slope))
    sunlit = cos_beta > 0
    inputs = TerrainInputs(slope_deg=np.rad2deg(slope).astype(np.float32), aspect_deg=np.rad2deg(aspect).astype(
        np.float32), cos_beta=np.clip(cos_beta, 0, 1).astype(np.float32), cast_shadow=~sunlit,
        sky_view=sky.astype(np.float32))
    # forward model with the same quantisation the inversion uses (byte cos β / percent sky view)
    cb_q = np.floor(np.clip(cos_beta, 0, 1) * 255 + 0.5) / 255
    cb_q = np.maximum(cb_q, 26 / 255)
    sky_q = np.floor(sky * 100 + 0.5) / 100
    box = 2 * max(int(500.0 / pixel_m), 3) + 1
    fwd = ForwardTerrain(cb_q.astype(np.float32), sky_q.astype(np.float32), sunlit, box)
    return (dem_m / 1000.0).astype(np.float32), inputs, fwd


SCENARIOS = {
    "t29_flat_sza35_vis23_wv20": {"data": "t29", "sza": 35.0, "vis_index": 45, "wv": 2.0, "elev": 0.1},
    "t29_flat_sza45_vis15_wv29_z03": {"data": "t29", "sza": 45.0, "vis_index": 68, "wv": 2.9, "elev": 0.3},
    "t29_flat_sza55_vis10_wv10_z05": {"data": "t29", "sza": 55.0, "vis_index": 100, "wv": 1.0, "elev": 0.5},
    "t29_hills_sza40_vis23_wv20": {"data": "t29", "sza": 40.0, "vis_index": 45, "wv": 2.0, "elev": None, "crop": slice(300, 900)},
    "barbellino_2019_flat_z19": {"data": "barb", "date": "20190723", "sza": 28.0, "vis_index": 24, "wv": 1.0, "elev": 1.9},
    "barbellino_2017_flat_z19": {"data": "barb", "date": "20170703", "sza": 27.0, "vis_index": 24, "wv": 1.0, "elev": 1.9},
}


def band_errors(boa: dict[str, np.ndarray], rho: dict[str, np.ndarray], zones: dict[str, np.ndarray]
                ) -> dict[str, dict[str, float | None]]:
    """RMSE and bias per band over the clear pixels, the interior and the no-data border zone (None: empty)."""
    out = {}
    for b, value in boa.items():
        if b not in rho:
            continue
        d = value.astype(np.float64) - rho[b]
        row = {}
        for zone, key in (("clear", ""), ("interior", "_interior"), ("border", "_border")):
            x = d[zones[zone]]
            row["rmse" + key] = float(np.sqrt(np.mean(x * x))) if x.size else None
            row["bias" + key] = float(x.mean()) if x.size else None
        out[b] = row
    return out


def error_zones(scl: np.ndarray, box: int) -> dict[str, np.ndarray]:
    """Clear pixels (not SCL 0/1 or clouds); interior = clear and no no-data pixel in the adjacency box."""
    valid = scl > 1
    clear = valid & ~np.isin(scl, CLOUDS)
    full = ndimage.uniform_filter(valid.astype(np.float64), size=box, mode="nearest") > 1.0 - 1e-9
    return {"clear": clear, "interior": clear & full, "border": clear & ~full}


@contextmanager
def inversion_variant(mode: str, backgrounds: dict[str, np.ndarray] | None = None) -> Iterator[None]:
    """Switch the inversion's adjacency step for the decomposition (``no_adjacency``, ``oracle_background``).

    Wraps :func:`sen2cor.ac.adjacency.correct_band` where :mod:`sen2cor.ac.correct` calls it, and fails if it
    was not called (a refactored call path must not silently give the unmodified numbers).
    """
    if mode not in ("no_adjacency", "oracle_background"):
        yield
        return
    original = adjacency_mod.correct_band
    calls = []

    def band(band_id: str, rho: np.ndarray, q: Any, s: Any, setup: Any, **kw: Any) -> np.ndarray:
        calls.append(band_id)
        if mode == "no_adjacency":
            return original(band_id, rho, q, s, setup, **{**kw, "adjacency": False})
        assert backgrounds is not None
        bg = backgrounds[band_id]
        with mock.patch.object(adjacency_mod, "background_mean", lambda *a, **k: bg):
            return original(band_id, rho, q, s, setup, **kw)

    with mock.patch.object(correct_mod, "correct_band", band):
        yield
    if not calls:
        raise RuntimeError("correct_resolution did not call sen2cor.ac.correct.correct_band: "
                           "update inversion_variant() to the new call path")


def run_scenario(name: str, cfg: dict, *, decompose: bool = False, fixed_only: bool = False,
                 forward_clouds: str = "exclude") -> dict:
    lut = atm.load_sen2cor_lut(LUTS, platform="S2A", resolution=20, season="SUMMER", ozone_du=331.0,
                               aerosol="RURAL")
    if cfg["data"] == "t29":
        rho, scl = load_t29(cfg.get("crop"))
        resolution = 60
    else:
        rho, scl = load_barbellino(cfg["date"])
        resolution = 20  # 10 m pixels resampled by sen2r; processed with the 20 m band set
    shape = scl.shape
    sza, saa, vza, vaa = cfg["sza"], 150.0, 5.0, 105.0
    vis = float(visibility_of_index(cfg["vis_index"]))
    terrain_in = fwd_terrain = None
    elev = cfg["elev"]
    if elev is None:
        dem, terrain_in, fwd_terrain = synthetic_hills(shape, resolution, sza, saa)
        elev_arr = dem
    else:
        elev_arr = None
    box = 2 * (int(1000.0 / resolution + 0.5) | 1) + 1
    exclude = np.isin(scl, CLOUDS) if forward_clouds == "exclude" else None
    reference = np.isin(scl, REFERENCE)

    def forward(surface: dict[str, np.ndarray], adjacency: bool = True) -> dict[str, np.ndarray]:
        return simulate_toa(surface, lut=lut, solar_irradiance=E0_S2A, sza_deg=sza, saa_deg=saa, vza_deg=vza,
                            vaa_deg=vaa, visibility_km=vis, wv_cm=cfg["wv"],
                            elevation_km=elev if elev is not None else elev_arr,
                            adjacency_box=box if adjacency else None, terrain=fwd_terrain,
                            background_exclude=exclude, background_reference=reference)

    t0 = time.perf_counter()
    toa = forward(rho)
    t_fwd = time.perf_counter() - t0
    mean_elev = float(np.mean(elev_arr)) if elev is None else elev
    wv_true = column_wv_cm(lut, cfg["wv"], mean_elev, "SUMMER") if elev is not None else None
    aot_true = float(np.mean(aot550_from_visibility(vis, elev if elev is not None else elev_arr)))
    params = AcParameters(altitude=elev if elev is not None else 0.1)
    common = {"resolution": resolution, "lut": lut, "solar_irradiance": E0_S2A, "sun_zenith": sza, "sun_azimuth": saa,
                  "view_zenith": vza, "view_azimuth": vaa, "elevation_km": elev_arr, "terrain": terrain_in}
    valid = scl > 1
    zones = error_zones(scl, box)
    clear = zones["clear"]
    out: dict = {"shape": list(shape), "truth": {"visibility_km": vis, "aot550": aot_true,
                                                  "wv_label_cm": cfg["wv"], "wv_column_cm": wv_true},
                 "forward_clouds": forward_clouds, "forward_s": t_fwd,
                 "pixels": {k: int(np.count_nonzero(v)) for k, v in zones.items()}}
    # 1) AOT and WV fixed to the truth
    fixed = replace(params, vis_update_mode=0, visibility=vis)
    if elev is None:
        fixed_wv = None
        fixed = replace(fixed, wv_correction=0)
    else:
        fixed_wv = wv_true
    t0 = time.perf_counter()
    res = correct_resolution(toa, scl, params=fixed, fixed_wv_cm=fixed_wv, **common)
    out["fixed_s"] = time.perf_counter() - t0
    out["fixed"] = band_errors(res.boa, rho, zones)
    for b, row in out["fixed"].items():
        d = (res.boa[b] - rho[b])[clear].astype(np.float64)
        da = (res.boa[b] - rho[b])[valid & (rho[b] < 1.0)].astype(np.float64)
        row["p99_abs"] = float(np.percentile(np.abs(d), 99))
        row["rmse_incl_clouds"] = float(np.sqrt(np.mean(da * da)))
    out["fixed_max_rmse"] = max(v["rmse"] for v in out["fixed"].values())
    out["fixed_max_rmse_interior"] = max(v["rmse_interior"] or 0.0 for v in out["fixed"].values())
    out["clear_pixels"] = int(np.count_nonzero(clear))
    # 1b) decomposition of the fixed-AOT error
    if decompose:
        out["decomposition"] = {}
        for mode in DECOMPOSITION:
            surface = rho
            if mode == "uniform":
                surface = {b: np.where(valid, np.float32(v[clear].mean()), np.float32(0.0)).astype(np.float32)
                           for b, v in rho.items()}
            backgrounds = None
            if mode == "oracle_background":
                backgrounds = {b: true_background(v, box, exclude, reference) for b, v in surface.items()}
            toa_m = forward(surface, adjacency=mode != "no_adjacency")
            with inversion_variant(mode, backgrounds):
                res_m = correct_resolution(toa_m, scl, params=fixed, fixed_wv_cm=fixed_wv, **common)
            out["decomposition"][mode] = band_errors(res_m.boa, surface, zones)
    if fixed_only:
        return out
    # 2) retrieval
    t0 = time.perf_counter()
    res2 = correct_resolution(toa, scl, params=params, **common)
    out["retrieval_s"] = time.perf_counter() - t0
    aot_ddv = float(np.mean(aot550_from_visibility(res2.info.visibility_from_ddv_km,
                                                   elev if elev is not None else elev_arr)))
    out["retrieval"] = {
        "method": res2.info.aot_retrieval_method, "ddv_percent": res2.info.ddv_pixel_percentage,
        "visibility_km": res2.info.final_visibility_km,
        "visibility_ddv_km": res2.info.visibility_from_ddv_km, "aot_mean": res2.info.mean_aot,
        "aot_error": res2.info.mean_aot - aot_true,
        "aot_ddv_error": aot_ddv - aot_true if res2.info.aot_retrieval_method == "SEN2COR_DDV" else None,
        "wv_mean_cm": res2.info.mean_wv_cm,
        "wv_error_cm": None if wv_true is None else res2.info.mean_wv_cm - wv_true,
        "index_true": int(index_of_visibility(vis)), "index_retrieved": res2.info.mean_visibility_index,
    }
    rmse = {}
    for b in res2.boa:
        if b in rho:
            d = (res2.boa[b] - rho[b])[clear].astype(np.float64)
            rmse[b] = float(np.sqrt(np.mean(d * d)))
    out["retrieval"]["boa_rmse"] = rmse
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", nargs="*", default=list(SCENARIOS), choices=list(SCENARIOS))
    ap.add_argument("--decompose", action="store_true", help="add the no-adjacency / uniform / oracle runs")
    ap.add_argument("--fixed-only", action="store_true", help="skip the retrieval run")
    ap.add_argument("--forward-clouds", choices=("exclude", "include"), default="exclude",
                    help="clouds in the forward model's adjacency background (default: replaced by the clear mean)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.v else logging.WARNING, format="%(name)s: %(message)s")
    report = {n: run_scenario(n, SCENARIOS[n], decompose=args.decompose, fixed_only=args.fixed_only,
                              forward_clouds=args.forward_clouds) for n in args.scenario}
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
