"""Cloud and cloud-shadow accuracy of our scene classification on the labelled data in ../shared/data,
side by side with s2cloudless run on the same pixels.

Datasets
--------
* ``s2-toa-labels-ukis-csmask``: 512×512 reflectance with only B02 B03 B04 B08 B11 B12 (~30 m) and
  reference labels (0 shadow, 1–3 clear, 4 cloud).  The bands Sen2Cor also needs are approximated:
  B01 = B02, B8A = B08, B05/B06/B07 interpolated linearly in wavelength between B04 and B08, B09 = 0.3·B08,
  and B10 = 0.001 (no cirrus information: thin-cirrus tests and the B10 false-cloud test cannot act).
  There is no separate B8A, so the parallax step is skipped.  s2cloudless gets the same approximated bands.
* ``s2-toa-cloudy-s2cloudless``: 856×512×13-band TOA cube (Sentinel Hub, coarse grid, classified here at
  60 m) with the s2cloudless mask shipped with it.  No independent labels: we report our agreement with
  s2cloudless.

Neither dataset carries sun angles.  They are estimated from the image alone (no labels): the sun azimuth
and zenith whose projected cloud mask best covers shadow-like pixels (:func:`estimate_sun`).

Usage::

    nice -n 19 python tools/sc_eval.py

Cloud = SCL 8, 9, 10 (MEDIUM, HIGH, THIN_CIRRUS, as CLOUDY_PIXEL_PERCENTAGE); shadow = SCL 3.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "../shared/data"
CLOUD_CLASSES = (8, 9, 10)
S2CLOUDLESS_BANDS = ("B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12")
CUBE_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")


def metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Balanced accuracy, precision and recall of a boolean prediction."""
    tp = float(np.count_nonzero(pred & truth))
    fp = float(np.count_nonzero(pred & ~truth))
    fn = float(np.count_nonzero(~pred & truth))
    tn = float(np.count_nonzero(~pred & ~truth))
    recall = tp / (tp + fn) if tp + fn else float("nan")
    specificity = tn / (tn + fp) if tn + fp else float("nan")
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return {"BA": 0.5 * (recall + specificity), "precision": precision, "recall": recall}


def load_ukis() -> tuple[dict[str, np.ndarray], np.ndarray]:
    d = np.load(DATA / "s2-toa-labels-ukis-csmask/sentinel2.npz")
    img = d["img"].astype(np.float32)
    b02, b03, b04, b08, b11, b12 = (img[..., i] for i in range(6))
    toa = {"B01": b02, "B02": b02, "B03": b03, "B04": b04, "B08": b08, "B8A": b08, "B11": b11, "B12": b12}
    for band, wl in (("B05", 0.705), ("B06", 0.740), ("B07", 0.783)):
        w = np.float32((wl - 0.665) / (0.842 - 0.665))
        toa[band] = (b04 + w * (b08 - b04)).astype(np.float32)
    toa["B09"] = (np.float32(0.3) * b08).astype(np.float32)
    toa["B10"] = np.full(b02.shape, 0.001, dtype=np.float32)
    return toa, d["msk"][..., 0]


def load_cube() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    d = np.load(DATA / "s2-toa-cloudy-s2cloudless/input_arrays.npz")
    im = d["s2_im"][0].astype(np.float32)
    toa = {b: np.ascontiguousarray(im[..., i]) for i, b in enumerate(CUBE_BANDS)}
    return toa, d["cl_mask"][0].astype(bool), d["cl_probs"][0]


def run_s2cloudless(toa: dict[str, np.ndarray]) -> np.ndarray:
    from s2cloudless import S2PixelCloudDetector

    stack = np.stack([toa[b] for b in S2CLOUDLESS_BANDS], axis=-1)[None]
    detector = S2PixelCloudDetector(threshold=0.4, average_over=4, dilation_size=2, all_bands=False)
    mask: np.ndarray = detector.get_cloud_masks(stack)[0].astype(bool)
    return mask


def estimate_sun(
    toa: dict[str, np.ndarray], resolution: int, cloud_probability: np.ndarray
) -> tuple[float, float]:
    """Sun (zenith, azimuth) maximising the mean shadow similarity under the projected cloud mask."""
    from sen2cor.sc import parallax, shadow
    from sen2cor.sc.thresholds import SHADOW_CLOUD_MASK_MIN

    similarity, _ = shadow.shadow_similarity(toa)
    clouds = parallax.shadow_cloud_mask(cloud_probability.astype(np.float32) / 100, SHADOW_CLOUD_MASK_MIN)
    valid = np.ones(clouds.shape, dtype=bool)
    profile = shadow.generic_cloud_profile(resolution)
    best = (-1.0, 40.0, 0.0)
    for zenith in (25.0, 40.0, 55.0):
        for azimuth in np.arange(0.0, 360.0, 10.0):
            g = shadow.geometric_shadow(clouds, valid, profile, float(azimuth), zenith)
            w = g > 0.05
            if w.sum() == 0:
                continue
            score = float(np.average(similarity[w], weights=g[w]))
            if score > best[0]:
                best = (score, zenith, float(azimuth))
    return best[1], best[2]


def classify_with_estimated_sun(toa: dict[str, np.ndarray], resolution: int, b08: np.ndarray | None):  # type: ignore[no-untyped-def]
    from sen2cor.errors import FallbackWarning
    from sen2cor.sc.classify import classify

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        first = classify(toa, resolution=resolution, sun_zenith=40.0, sun_azimuth=0.0, b08_toa=b08)
        zenith, azimuth = estimate_sun(toa, resolution, first.cloud_probability)
        res = classify(toa, resolution=resolution, sun_zenith=zenith, sun_azimuth=azimuth, b08_toa=b08)
    return res, zenith, azimuth


def fmt(m: dict[str, float]) -> str:
    return f"BA {m['BA']:.3f}  precision {m['precision']:.3f}  recall {m['recall']:.3f}"


def main() -> int:
    if not DATA.exists():
        print(f"shared data not found: {DATA}", file=sys.stderr)
        return 2

    toa, labels = load_ukis()
    truth_cloud, truth_shadow = labels == 4, labels == 0
    res, zen, az = classify_with_estimated_sun(toa, 20, None)
    cloud = np.isin(res.scl, CLOUD_CLASSES)
    print(
        f"== s2-toa-labels-ukis-csmask (512², labels: {truth_cloud.mean():.1%} cloud, {truth_shadow.mean():.1%} shadow)"
    )
    print(f"   sun estimated from the image: zenith {zen:.0f}°, azimuth {az:.0f}°")
    print(f"   ours  cloud : {fmt(metrics(cloud, truth_cloud))}")
    print(f"   ours  cloud+low-proba (7): {fmt(metrics(cloud | (res.scl == 7), truth_cloud))}")
    print(f"   ours  shadow: {fmt(metrics(res.scl == 3, truth_shadow))}")
    s2c = run_s2cloudless({b: toa[b] for b in S2CLOUDLESS_BANDS})
    print(f"   s2cloudless cloud: {fmt(metrics(s2c, truth_cloud))}  (same approximated bands)")
    print("   SCL histogram:", np.bincount(res.scl.ravel(), minlength=12).tolist())

    toa, shipped_mask, _ = load_cube()
    b08 = toa.pop("B08")
    res, zen, az = classify_with_estimated_sun(toa, 60, b08)
    cloud = np.isin(res.scl, CLOUD_CLASSES)
    s2c = run_s2cloudless({**toa, "B08": b08})
    print(
        f"== s2-toa-cloudy-s2cloudless (856×512, run at 60 m; sun estimated: zenith {zen:.0f}°, azimuth {az:.0f}°)"
    )
    print(f"   s2cloudless 1.7.3 here vs shipped 1.0.1 mask: agreement {np.mean(s2c == shipped_mask):.4f}")
    print(f"   ours vs shipped s2cloudless mask: {fmt(metrics(cloud, shipped_mask))}")
    print(
        f"   ours cloud fraction {cloud.mean():.3f}, s2cloudless {shipped_mask.mean():.3f}, "
        f"our shadow fraction {np.mean(res.scl == 3):.3f}"
    )
    print("   SCL histogram:", np.bincount(res.scl.ravel(), minlength=12).tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main())
