"""Interpolation error of our 6S tables against direct 6S runs at random off-grid states.

Usage: python tools/luts/validate_interp.py [--states 200] [--ingredients FILE] [--seed 0] [--workers 1]

For each random state (aerosol model, SZA 0–70°, VZA 0–10°, relative azimuth, elevation, AOT, WV,
ozone) 6S is run *at that state* (gas-free scattering at 6S's scattering wavelengths, sun-at-zenith
runs for the nadir terms, the off-nadir runs at the state's own view geometry) and combined with the
gas tables exactly as the generator does; the table value comes from ``load_6s_lut(...).interpolate``.
The difference is therefore the error of interpolating in the state grid.  (The spectral method itself
- scattering at 6S's wavelengths, power-law interpolation, gas coupling - reproduces 6S filter runs to
≤ 0.01 %, see docs/luts.md.)  Prints per-quantity median / max relative errors and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from sen2cor.physics import generated_lut as gl
from sen2cor.physics.sixs import aerosol_models, gas
from sen2cor.physics.sixs.aerosol import TabulatedAerosol
from sen2cor.physics.sixs.scattering import GridSpec, run_chunk, save_npz_deterministic
from sen2cor.physics.visibility import visibility_from_aot550

QUANTITIES = ("lp", "edift", "e0t", "tdir", "tdif", "s")
SKIP_BANDS = ("B09", "B10")


def exact_ingredients(base: dict, model: TabulatedAerosol, state: dict, folder: Path, workers: int) -> Path:
    """A one-state ingredient file: the chunk machinery run on a grid made of the state's own values."""
    vza_off = state["vza"] if state["vza"] > 0.05 else 10.0
    szas = tuple(sorted({0.0, round(vza_off, 6), round(state["sza"], 6)}))
    grid = GridSpec(aot=(state["aot"],), sza_deg=szas, elevation_km=(state["z"],), vza_off_deg=round(vza_off, 6),
                    raa_deg=(state["raa"],))
    arr = run_chunk(model, model.write(folder), grid, 0, 0, workers=workers)
    keys = ("rho", "rho_rayleigh", "t_mu", "spherical_albedo", "tau_rayleigh", "tau_aerosol", "rho_off",
            "rho_rayleigh_off", "aot_6s")
    ing = {k: np.asarray(arr[k])[None, None, None] for k in keys}
    ing.update({"aot": np.array([state["aot"]]), "sza_deg": np.array(szas), "elevation_km": np.array([state["z"]]),
                "raa_deg": np.array([state["raa"]]), "vza_off_deg": np.array(grid.vza_off_deg),
                "wl_ref": base["wl_ref"], "wl_off": base["wl_off"]})
    iz = int(np.argmin(np.abs(base["elevation_km"] - state["z"])))
    if abs(base["elevation_km"][iz] - state["z"]) > 1e-9:  # off-grid elevation: gas tables at the state's own
        g = gas.compute_gas_tables((state["z"],))
        ing["gas_h2o"], ing["gas_other"] = g.h2o, g.other
    else:
        ing["gas_h2o"], ing["gas_other"] = base["gas_h2o"][iz:iz + 1], base["gas_other"][iz:iz + 1]
    for k in ("gas_h2o_nodes", "gas_o3", "gas_o3_nodes", "gas_other_nodes", "solar_irradiance"):
        ing[k] = base[k]
    ing["attrs"] = np.array(json.dumps({"aerosol_models": [model.name], "sixs_version": "exact"}))
    out = folder / "exact.npz"
    save_npz_deterministic(out, ing)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--states", type=int, default=200)
    ap.add_argument("--ingredients", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--models", default="RURAL,MARITIME")
    args = ap.parse_args(argv)
    path = args.ingredients or gl.default_path()
    with np.load(path) as z:
        base = {k: z[k] for k in z.files}
    attrs = json.loads(str(base["attrs"]))
    models = [m for m in args.models.split(",") if m in attrs["aerosol_models"]]
    rng = np.random.default_rng(args.seed)
    zs = base["elevation_km"]
    work = Path(tempfile.mkdtemp(prefix="lut_validate_"))
    errors: dict[str, list[float]] = {q: [] for q in QUANTITIES}
    worst: dict[str, tuple] = {q: (0.0,) for q in QUANTITIES}
    for n in range(args.states):
        name = models[n % len(models)]
        model = aerosol_models.MODELS[name]
        season = ("SUMMER", "WINTER")[int(rng.integers(2))]
        state = {"sza": float(rng.uniform(0, 70)), "vza": float(rng.uniform(0, 10)),
                 "raa": float(rng.uniform(0, 180)), "z": float(rng.uniform(zs[0], zs[-1])),
                 "aot": float(rng.uniform(base["aot"][0], base["aot"][-1])),
                 "wv": float(rng.uniform(0.2, 1.1 if season == "WINTER" else 5.0)),
                 "o3": float(rng.uniform(250, 460))}
        table = gl.load_6s_lut("S2A", name, season, state["o3"], path=path)
        exact_file = exact_ingredients(base, model, state, work, args.workers)
        exact = gl.load_6s_lut("S2A", name, season, state["o3"], path=exact_file, sza_step_deg=None,
                               aot_step=None)
        gl._load.cache_clear()  # the exact file is rewritten for every state
        vis = float(visibility_from_aot550(state["aot"], 0.0))
        kw = {"sza_deg": state["sza"], "vza_deg": state["vza"], "raa_deg": state["raa"], "elevation_km": state["z"],
              "visibility_km": vis, "wv_cm": state["wv"], "quantities": QUANTITIES}
        bands = [b for b in table.bands if b not in SKIP_BANDS]
        ft = table.interpolate(bands, **kw)
        fe = exact.interpolate(bands, **kw)
        for q in QUANTITIES:
            rel = (getattr(ft, q) / getattr(fe, q) - 1).ravel()
            errors[q].extend(rel.tolist())
            k = int(np.argmax(np.abs(rel)))
            if abs(rel[k]) > worst[q][0]:
                worst[q] = (float(abs(rel[k])), bands[k], name, season, {key: round(v, 3) for key, v in state.items()})
        if (n + 1) % 10 == 0:
            print(f"{n + 1} states: " + ", ".join(f"{q} max {100 * np.max(np.abs(errors[q])):.3f} %" for q in QUANTITIES),
                  flush=True)
    for q in QUANTITIES:
        print(f"worst {q}: {worst[q]}")
    summary = {q: {"median": round(float(np.median(np.abs(errors[q]))), 5), "max": round(float(np.max(np.abs(errors[q]))), 5)}
               for q in QUANTITIES}
    summary["states"] = args.states  # type: ignore[assignment]
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
