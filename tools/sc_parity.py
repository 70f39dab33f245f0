"""Parity of our scene classification with the real Sen2Cor 3.3 SCL on ``../shared/data/parity-a``.

Reads the L1C JP2 bands with rasterio and imports them as Sen2Cor does for a 20 m run (PB 02.06: no
radiometric offset, TOA = DN/10000): 10 m bands block-averaged 2×2 (rounded DN), B01 up-sampled bicubic
and B09/B10 bilinear from 60 m (pixel-centre aligned, mirror border, clipped to the input range,
truncated to uint16 — skimage ``resize`` semantics).  Sun angles: ``Mean_Sun_Angle`` of MTD_TL.xml (the
scene classification uses only the tile means, so NOTES.md quirk 1 on the angle grid does not enter).

Usage::

    python tools/sc_parity.py [--data ../shared/data/parity-a] [--mode evolution]

Prints the agreement and the confusion matrix (rows: Sen2Cor, columns: ours).
"""

from __future__ import annotations

import argparse
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import rasterio
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "../shared/data/parity-a"
SEN2COR_BANDS_20M = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B10", "B11", "B12")
UPSAMPLING_ORDER = {"B01": 3, "B09": 1, "B10": 1}


def _block_mean_dn(dn: np.ndarray, factor: int) -> np.ndarray:
    r, c = dn.shape[0] // factor, dn.shape[1] // factor
    m = dn[: r * factor, : c * factor].reshape(r, factor, c, factor).astype(np.float64).mean(axis=(1, 3))
    return (m + 0.5).astype(np.uint16)


def _upsample_dn(dn: np.ndarray, shape: tuple[int, int], order: int) -> np.ndarray:
    factors = (shape[0] / dn.shape[0], shape[1] / dn.shape[1])
    up = ndimage.zoom(dn.astype(np.float64), factors, order=order, mode="mirror", grid_mode=True)
    return np.clip(up, dn.min(), dn.max()).astype(np.uint16)


def load_l1c_20m(safe: Path) -> tuple[dict[str, np.ndarray], np.ndarray, float, float]:
    """TOA bands at 20 m as Sen2Cor imports them, the block-averaged B08, and the mean sun angles."""
    granule = next((safe / "GRANULE").iterdir())
    files = {p.stem.rsplit("_", 1)[-1]: p for p in (granule / "IMG_DATA").glob("*.jp2")}
    with rasterio.open(files["B8A"]) as ds:
        shape = ds.shape
    toa = {}
    for band in SEN2COR_BANDS_20M + ("B08",):
        with rasterio.open(files[band]) as ds:
            dn = ds.read(1)
        if dn.shape[0] == 2 * shape[0]:
            dn = _block_mean_dn(dn, 2)
        elif dn.shape[0] < shape[0]:
            dn = _upsample_dn(dn, shape, UPSAMPLING_ORDER.get(band, 3))
        toa[band] = dn.astype(np.float32) / np.float32(10000.0)
    root = ET.parse(granule / "MTD_TL.xml").getroot()
    sun = next(e for e in root.iter() if e.tag.endswith("Mean_Sun_Angle"))
    zen = float(next(e for e in sun if e.tag.endswith("ZENITH_ANGLE")).text or "nan")
    azi = float(next(e for e in sun if e.tag.endswith("AZIMUTH_ANGLE")).text or "nan")
    b08 = toa.pop("B08")
    return toa, b08, zen, azi


def reference_scl(data: Path) -> np.ndarray:
    scl_file = next((data / "sen2cor-3.3-output/res20").glob("*.SAFE/GRANULE/*/IMG_DATA/R20m/*_SCL_20m.jp2"))
    with rasterio.open(scl_file) as ds:
        out: np.ndarray = ds.read(1)
    return out


def confusion(ref: np.ndarray, ours: np.ndarray) -> np.ndarray:
    return np.bincount(ref.ravel().astype(np.int64) * 12 + ours.ravel(), minlength=144).reshape(12, 12)


def run(data: Path, mode: str = "evolution") -> tuple[float, np.ndarray, float]:
    """Classify parity-a; return (agreement, confusion matrix, seconds)."""
    from sen2cor.sc.classify import classify

    safe = next((data / "input").glob("*.SAFE"))
    toa, b08, zen, azi = load_l1c_20m(safe)
    start = time.perf_counter()
    result = classify(toa, resolution=20, mode=mode, sun_zenith=zen, sun_azimuth=azi, b08_toa=b08)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    ref = reference_scl(data)
    cm = confusion(ref, result.scl)
    return float(np.trace(cm) / cm.sum()), cm, seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--mode", choices=("evolution", "classic"), default="evolution")
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"parity data not found: {args.data}", file=sys.stderr)
        return 2
    agreement, cm, seconds = run(args.data, args.mode)
    print(f"mode={args.mode}  pixels={cm.sum()}  agreement={agreement:.4%}  classify={seconds:.2f}s")
    present = [i for i in range(12) if cm[i].sum() or cm[:, i].sum()]
    print("rows: Sen2Cor 3.3 SCL, columns: ours")
    print("      " + " ".join(f"{c:>7d}" for c in present))
    for r in present:
        print(f"{r:>5d} " + " ".join(f"{cm[r, c]:>7d}" for c in present))
    return 0


if __name__ == "__main__":
    sys.exit(main())
