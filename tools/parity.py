"""Compare an L2A product of ours with the real Sen2Cor 3.3 output of parity-a (per band and resolution).

Usage: python tools/parity.py OUR_PRODUCT.SAFE [SEN2COR_PRODUCT.SAFE]
Prints mean |ΔBOA| per band and resolution, AOT/WV means and differences, SCL agreement and the SCL confusion
matrix, then one JSON line with the summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import rasterio

DEFAULT_REF = Path(__file__).resolve().parents[1] / "../shared/data/parity-a/sen2cor-3.3-output/res20"


def _images(product: Path, res: int) -> dict[str, Path]:
    img = next((product / "GRANULE").glob("L2A_*")) / "IMG_DATA" / f"R{res}m"
    return {p.stem.split("_")[-2]: p for p in img.iterdir() if p.suffix in (".jp2", ".tif")} if img.is_dir() else {}


def _read(p: Path) -> np.ndarray:
    with rasterio.open(p) as ds:
        return ds.read(1)


def compare(ours: Path, ref: Path) -> dict[str, object]:
    """Return the comparison summary (also printed)."""
    out: dict[str, object] = {}
    for res in (20, 60, 10):
        a, b = _images(ours, res), _images(ref, res)
        common = sorted(set(a) & set(b))
        if not common:
            continue
        print(f"--- {res} m ---")
        for key in common:
            x, y = _read(a[key]).astype(np.float64), _read(b[key]).astype(np.float64)
            if x.shape != y.shape:
                print(f"{key}: shape {x.shape} vs {y.shape}")
                continue
            valid = (x > 0) & (y > 0)
            if key.startswith("B"):
                d = np.abs(x[valid] - y[valid]) / 10000.0
                out[f"{key}_{res}m_mean_abs"] = float(d.mean())
                print(f"{key}: mean|Δρ| {d.mean():.5f}  bias {((x - y)[valid] / 10000).mean():+.5f}  "
                      f"p95 {np.percentile(d, 95):.5f}")
            elif key in ("AOT", "WVP"):
                print(f"{key}: ours {x[valid].mean() / 1000:.4f}  sen2cor {y[valid].mean() / 1000:.4f}  "
                      f"mean|Δ| {np.abs(x - y)[valid].mean() / 1000:.4f}")
                out[f"{key}_{res}m_mean_ours"] = float(x[valid].mean() / 1000)
                out[f"{key}_{res}m_mean_ref"] = float(y[valid].mean() / 1000)
            elif key == "SCL":
                agree = float((x == y).mean())
                out[f"SCL_{res}m_agreement"] = agree
                print(f"SCL agreement {agree * 100:.2f} %")
                m = np.zeros((12, 12), dtype=np.int64)
                np.add.at(m, (y.astype(int).ravel(), x.astype(int).ravel()), 1)
                print("confusion (rows Sen2Cor, cols ours):")
                for i in range(12):
                    if m[i].sum() or m[:, i].sum():
                        print(f"  {i:2d} " + " ".join(f"{v:7d}" for v in m[i]))
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    ours = Path(sys.argv[1])
    ref = Path(sys.argv[2]) if len(sys.argv) > 2 else next(DEFAULT_REF.glob("*.SAFE"))
    compare(ours, ref)
