#!/usr/bin/env python3
"""sff_regressor against kappakit's own SFFRegressor.regress_sff_auto: values, neighbourhoods and time.

    python bench/bench_sff.py                                            # print the comparison
    python bench/bench_sff.py --write-fixture tests/data/sff_reference.npz

kappakit 0.1.0 (MIT, PyPI) pulls in torch, diffusers, transformers, wandb and more, and its regression code
uses `np.NINF`, which NumPy 2 removed: it is installed into its own virtual environment, bench/.venv-kappakit
(git-ignored, ~2.5 GB, made on first use), with torch 2.13.0 first (pip takes the CPU wheel from this
machine's local wheel folder instead of a multi-GB CUDA build), then kappakit with its dependencies, then
numpy < 2 and pandas < 3 (pandas 3 needs numpy 2).

The clouds come from colosseum.registry.make_dataset, ~1000 points each: a closed unit sphere (the
ellipsoid with a = b = c = 1), the ring torus (2, 1), a d = 3 quadric graph in R^4 (1200 points, negative at its centre), and a saddle with
Gaussian noise 0.02. Per evaluation point kappakit runs three times:
- `pinned_absolute`, `pinned_relative`: its PCA neighbourhood pinned (min_pca_points = m - 1,
  max_pca_points = m, so that its loop fits exactly the m nearest points) to the size m where
  lambda_d - lambda_(d+1) is largest, or largest relative to lambda_d, found here by a plain loop over
  np.cov (independent of colosseum's vectorised scan); everything after that (frame, centring, recursive
  least squares, running R^2, the choice of the regression size, the SFF and the Gauss equation) is
  kappakit's own code;
- `default`: kappakit as released, whose loop keeps the size maximising lambda_(d+1) - lambda_d
  (colosseum.estimators.sff_regression explains the difference); recorded for the comparison only.
Each side runs in its own process; kappakit's time is its regress_sff_auto calls, ours the method call.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-kappakit"
CLOUDS = {  # name: (dataset, seed, parameters); the d = 3 quadric needs 1200 points for its sanity checks
    "sphere": ("ellipsoid", 0, dict(a=1.0, b=1.0, c=1.0, n_points=1000, n_eval=24)),
    "torus": ("torus", 0, dict(n_points=1000, n_eval=32)),
    "quadric_d3": ("quadric", 1, dict(dim=3, n_points=1200, n_eval=16, eval_radius=0.4)),
    "noisy_saddle": ("saddle", 0, dict(n_points=1000, n_eval=16, noise=0.02)),
}
KAPPAKIT = """
import json, sys, time
import numpy as np
from kappakit.estimation.regression import SFFRegressor
from kappakit.curvature.curvature import scalar_from_sff

def gap_size(sorted_points, dim, n_min, relative):
    best, best_m = -np.inf, None
    for m in range(n_min + 1, len(sorted_points) + 1):
        lam = np.sort(np.linalg.eigvalsh(np.cov(sorted_points[:m].T)))[::-1]
        g = lam[dim - 1] - lam[dim]
        if relative:
            g = g / lam[dim - 1] if lam[dim - 1] > 0 else 0.0
        if g > best:
            best, best_m = g, m
    return best_m

data = np.load(sys.argv[1])
out, seconds = {}, {}
for name in data["names"]:
    X, rows, dim = data[f"{name}_points"], data[f"{name}_eval_idx"], int(data[f"{name}_dim"])
    n_min = max(30, X.shape[1])
    res = {k: [] for k in ("S_default", "n_reg_default", "S_absolute", "n_pca_absolute", "n_reg_absolute",
                           "S_relative", "n_pca_relative", "n_reg_relative")}
    t_default = 0.0
    for row in rows:
        x = X[row]
        order = np.argsort(np.linalg.norm(X - x, axis=1), kind="stable")
        t = time.perf_counter()
        sff, r2, mse, nbhd, pc, pred = SFFRegressor.regress_sff_auto(x, X, intrinsic_dim=dim, return_stats=True)
        t_default += time.perf_counter() - t
        res["S_default"].append(scalar_from_sff(sff)); res["n_reg_default"].append(len(nbhd))
        for mode in ("absolute", "relative"):
            m = gap_size(X[order], dim, n_min, mode == "relative")
            sff, r2, mse, nbhd, pc, pred = SFFRegressor.regress_sff_auto(
                x, X, intrinsic_dim=dim, min_pca_points=m - 1, max_pca_points=m, return_stats=True)
            res[f"S_{mode}"].append(scalar_from_sff(sff)); res[f"n_pca_{mode}"].append(m)
            res[f"n_reg_{mode}"].append(len(nbhd))
    seconds[str(name)] = t_default / len(rows)
    for k, v in res.items():
        out[f"{name}_{k}"] = np.asarray(v)
np.savez(sys.argv[2], **out)
print(json.dumps(seconds))
"""


def kappakit_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"installing kappakit 0.1.0 into {VENV} (torch, diffusers, transformers, ...; ~2.5 GB) ...",
              file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(py), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "torch==2.13.0"], check=True)     # the CPU wheel on local disk, not a CUDA build
        subprocess.run([*pip, "kappakit==0.1.0"], check=True)
        subprocess.run([*pip, "numpy<2", "pandas<3"], check=True)  # kappakit uses np.NINF (gone in NumPy 2)
    return py


def clouds() -> dict:
    from colosseum import registry

    out = {}
    for name, (dataset, seed, params) in CLOUDS.items():
        s = registry.make_dataset(dataset, seed=seed, **params)
        out[name] = {"points": s.points, "eval_idx": s.eval_idx, "dim": s.dim, "truth": s.curvature}
    return out


def ours(data: dict) -> dict:
    from colosseum import registry

    res = {}
    for gap in ("absolute", "relative"):
        method = registry.make_method("sff_regressor", gap=gap)
        for name, c in data.items():
            t = time.perf_counter()
            est = method.estimate(c["points"], c["eval_idx"], c["dim"], seed=0)
            res[name, gap] = {"S": est.values, "n_pca": est.diagnostics["n_pca"], "n_reg": est.diagnostics["n_ball"],
                              "seconds": (time.perf_counter() - t) / len(c["eval_idx"])}
    return res


def run_kappakit(data: dict) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        src, out, script = Path(tmp) / "in.npz", Path(tmp) / "out.npz", Path(tmp) / "kk.py"
        flat = {"names": np.array(list(data))}
        for name, c in data.items():
            flat |= {f"{name}_points": c["points"], f"{name}_eval_idx": c["eval_idx"], f"{name}_dim": c["dim"]}
        np.savez(src, **flat)
        script.write_text(KAPPAKIT)
        res = subprocess.run([str(kappakit_python()), str(script), str(src), str(out)], capture_output=True,
                             text=True, check=True)
        seconds = json.loads(res.stdout.strip().splitlines()[-1])
        with np.load(out) as f:
            return {k: f[k] for k in f.files}, seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-fixture", type=Path, help="write the clouds and kappakit's values here")
    args = ap.parse_args()
    data = clouds()
    ref, kk_seconds = run_kappakit(data)
    mine = ours(data)
    print(f"{'cloud':>13} {'gap':>9} {'pearson':>8} {'sign':>6} {'same n_pca':>10} {'same n_reg':>10} "
          f"{'median S ours':>13} {'kappakit':>9} {'kk default':>10} {'truth':>7} {'s/pt ours':>9} {'kk':>6}")
    for name, c in data.items():
        for gap in ("absolute", "relative"):
            m, kk = mine[name, gap], ref[f"{name}_S_{gap}"]
            r = np.corrcoef(m["S"], kk)[0, 1]
            print(f"{name:>13} {gap:>9} {r:8.4f} {np.mean(np.sign(m['S']) == np.sign(kk)):6.2f} "
                  f"{np.mean(m['n_pca'] == ref[f'{name}_n_pca_{gap}']):10.2f} "
                  f"{np.mean(m['n_reg'] == ref[f'{name}_n_reg_{gap}']):10.2f} {np.median(m['S']):13.3f} "
                  f"{np.median(kk):9.3f} {np.median(ref[f'{name}_S_default']):10.3f} {np.median(c['truth']):7.3f} "
                  f"{m['seconds']:9.4f} {kk_seconds[name]:6.3f}")
    if args.write_fixture:
        fixture = {"names": np.array(list(data))}
        for name, c in data.items():
            fixture |= {f"{name}_{k}": v for k, v in c.items()}
            fixture |= {k: v for k, v in ref.items() if k.startswith(f"{name}_")}
        np.savez_compressed(args.write_fixture, **fixture)
        print(f"wrote {args.write_fixture} ({args.write_fixture.stat().st_size / 1e3:.0f} kB): kappakit 0.1.0's "
              f"values on {sum(len(c['eval_idx']) for c in data.values())} points")


if __name__ == "__main__":
    main()
