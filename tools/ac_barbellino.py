"""Our AC on the real L1C TOA of ``s2-pair-barbellino-sen2r`` against ESA's Sen2Cor BOA of the same pixels.

The window (24×42 px at 10 m, Italian Alps, lake at ≈1.86 km) is far too small for a DDV retrieval and the
products carry no metadata: sun angles are computed from the acquisition time and place, the view angles
are nominal (VZA ≈ 5°), the terrain is taken as flat at the lake's altitude (ESA used a DEM), and B08
stands in for B8A (sen2r exported B08).  We report the per-band RMSE / bias for the default settings and
for the constant visibility that fits ESA best (ESA's AOT comes from the whole tile and is unknown here).

Usage::

    .venv/bin/python tools/ac_barbellino.py [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import rasterio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sen2cor.ac.correct import correct_resolution
from sen2cor.ac.parameters import AcParameters
from sen2cor.physics import atm

DATA = (REPO / ".." / "shared" / "data").resolve()
BARB = DATA / "s2-pair-barbellino-sen2r"
LUTS = DATA / "sen2cor-2.8-luts"
LAT, LON, ALTITUDE_KM = 46.06, 10.05, 1.9
TIMES = {"20170703": dt.datetime(2017, 7, 3, 10, 10, 21), "20190723": dt.datetime(2019, 7, 23, 10, 10, 31)}
TOA_ORDER = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10", "B11", "B12")
BOA_ORDER = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B11", "B12")
E0_S2A = {"B01": 1913.57, "B02": 1941.63, "B03": 1822.61, "B04": 1512.79, "B05": 1425.56, "B06": 1288.32,
          "B07": 1163.19, "B08": 1036.39, "B8A": 955.19, "B09": 813.04, "B10": 367.15, "B11": 245.59,
          "B12": 85.25}


def sun_position(when: dt.datetime, lat: float, lon: float) -> tuple[float, float]:
    """Solar zenith and azimuth (°, azimuth clockwise from north) — NOAA spreadsheet equations."""
    jd = when.toordinal() + 1721424.5 + (when.hour + when.minute / 60 + when.second / 3600) / 24
    t = (jd - 2451545.0) / 36525.0
    l0 = (280.46646 + t * (36000.76983 + 0.0003032 * t)) % 360
    m = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    c = (np.sin(np.deg2rad(m)) * (1.914602 - t * (0.004817 + 0.000014 * t))
         + np.sin(np.deg2rad(2 * m)) * (0.019993 - 0.000101 * t) + np.sin(np.deg2rad(3 * m)) * 0.000289)
    lam = l0 + c - 0.00569 - 0.00478 * np.sin(np.deg2rad(125.04 - 1934.136 * t))
    eps = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
    eps += 0.00256 * np.cos(np.deg2rad(125.04 - 1934.136 * t))
    decl = np.rad2deg(np.arcsin(np.sin(np.deg2rad(eps)) * np.sin(np.deg2rad(lam))))
    y = np.tan(np.deg2rad(eps / 2)) ** 2
    eot = 4 * np.rad2deg(y * np.sin(2 * np.deg2rad(l0)) - 2 * e * np.sin(np.deg2rad(m))
                         + 4 * e * y * np.sin(np.deg2rad(m)) * np.cos(2 * np.deg2rad(l0))
                         - 0.5 * y * y * np.sin(4 * np.deg2rad(l0)) - 1.25 * e * e * np.sin(2 * np.deg2rad(m)))
    minutes = when.hour * 60 + when.minute + when.second / 60
    tst = (minutes + eot + 4 * lon) % 1440
    ha = tst / 4 - 180
    cosz = (np.sin(np.deg2rad(lat)) * np.sin(np.deg2rad(decl))
            + np.cos(np.deg2rad(lat)) * np.cos(np.deg2rad(decl)) * np.cos(np.deg2rad(ha)))
    zen = np.rad2deg(np.arccos(cosz))
    az = np.rad2deg(np.arccos((np.sin(np.deg2rad(lat)) * cosz - np.sin(np.deg2rad(decl)))
                              / (np.cos(np.deg2rad(lat)) * np.sin(np.deg2rad(zen)))))
    az = (az + 180) % 360 if ha > 0 else (540 - az) % 360
    return float(zen), float(az)


def load(date: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    with rasterio.open(BARB / f"S2A1C_{date}_022_Barbellino_TOA_10.tif") as ds:
        dn = ds.read().astype(np.float32)
    with rasterio.open(BARB / f"S2A2A_{date}_022_Barbellino_BOA_10.tif") as ds:
        boa = ds.read().astype(np.float32)
    with rasterio.open(BARB / f"S2A2A_{date}_022_Barbellino_SCL_10.tif") as ds:
        scl20 = ds.read(1)
    toa = {b: np.where((dn[i] > 0) & (dn[i] < 65535), dn[i] / 10000.0, 0).astype(np.float32)
           for i, b in enumerate(TOA_ORDER)}
    toa["B8A"] = toa["B08"]
    ref = {b: boa[i] / 10000.0 for i, b in enumerate(BOA_ORDER)}
    scl = np.repeat(np.repeat(scl20, 2, 0), 2, 1)[: dn.shape[1], : dn.shape[2]]
    return toa, ref, scl


def compare(res, ref: dict[str, np.ndarray], valid: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for b in ("B02", "B03", "B04", "B05", "B06", "B07", "B11", "B12"):
        d = (res.boa[b] - ref[b])[valid].astype(np.float64)
        out[b] = {"rmse": float(np.sqrt(np.mean(d * d))), "bias": float(d.mean())}
    return out


def run(date: str, lut) -> dict:
    toa, ref, scl = load(date)
    sza, saa = sun_position(TIMES[date], LAT, LON)
    valid = scl > 1
    params = AcParameters(altitude=ALTITUDE_KM)
    common = {"resolution": 20, "lut": lut, "solar_irradiance": E0_S2A, "sun_zenith": sza, "sun_azimuth": saa,
                  "view_zenith": 5.0, "view_azimuth": 105.0}
    default = correct_resolution(toa, scl, params=params, **common)
    best = None
    for vis in (10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 60.0, 80.0, 120.0):
        r = correct_resolution(toa, scl, params=replace(params, vis_update_mode=0, visibility=vis), **common)
        score = float(np.mean([v["rmse"] for v in compare(r, ref, valid).values()]))
        if best is None or score < best[0]:
            best = (score, vis, r)
    assert best is not None
    return {"sun_zenith": sza, "sun_azimuth": saa, "pixels": int(valid.sum()),
            "default": {"method": default.info.aot_retrieval_method, "aot": default.info.mean_aot,
                        "wv_cm": default.info.mean_wv_cm, "bands": compare(default, ref, valid)},
            "best_constant_visibility": {"visibility_km": best[1], "aot": best[2].info.mean_aot,
                                         "bands": compare(best[2], ref, valid)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    lut = atm.load_sen2cor_lut(LUTS, platform="S2A", resolution=20, season="SUMMER", ozone_du=331.0,
                               aerosol="RURAL")
    report = {d: run(d, lut) for d in TIMES}
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
