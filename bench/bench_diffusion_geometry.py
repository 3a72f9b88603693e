#!/usr/bin/env python3
"""diffusion_geometry against the authors' code (Iolo-Jones/ManifoldDiffusionGeometry): values, time, memory.

    python bench/bench_diffusion_geometry.py                    # ours alone: n = 1000 .. 20000
    python bench/bench_diffusion_geometry.py --reference PATH   # side by side with the reference
    python bench/bench_diffusion_geometry.py --reference PATH --targets   # clouds unlike the fixture's
    python bench/bench_diffusion_geometry.py --reference PATH \
        --write-fixture tests/data/diffusion_geometry_reference.npz

PATH is the reference's ManifoldDiffusionGeometry.py (commit 4eae5b2 was used). The repository has no
licence, so it is neither vendored nor downloaded here: get it yourself, e.g.
`git clone https://github.com/Iolo-Jones/ManifoldDiffusionGeometry` and pass
`--reference ManifoldDiffusionGeometry/ManifoldDiffusionGeometry.py`. It imports numpy, scipy,
scikit-learn, opt_einsum and plotly, which are installed into bench/.venv-dg (git-ignored, made on first
use); ours runs in the project's environment. Both sides get the same float64 arrays.

Every measurement runs in its own fresh process: it warms up on the first 300 points (imports, first
calls: not timed), then times one call. Peak memory is that process's peak resident set size during the
call (VmHWM, reset just before it through /proc/self/clear_refs), reported as the rise over the RSS just
before the call; where the reset is unavailable it falls back to ru_maxrss (imports included). Both
sides run with --threads BLAS/OpenMP threads (default 1: one cell per core, as the battery's workers,
and figures that do not swing with a neighbour's load on a shared machine). With --repeats N each side is
measured N times, in turns (ours, the reference, ours, ...), and the fastest run's time and memory are
reported: on a shared machine one run of ours (a fraction of a second) can land in a burst of others'
work that the reference's seconds average out.

--bench (the default): the reference's Scalar_Curvature(X, d, n0=50) and ours (defaults: n0 = 50, k = 32,
k_ep = 8) on the fixture's four kinds of cloud at n = 1000, 4000, 8000 (--ns), and ours alone at
n = 20000 (--ours-ns); the table gives time, peak rise, their ratios, and the agreement (Pearson r over
every point, fraction of points where the signs agree).
--targets: clouds unlike the fixture's (an ellipsoid, a hyperboloid, a quadric with noise 5 % of its
diameter, a sphere cap with a density gradient, and two noisy clouds in R^20, where our frames are
truncated; dataset defaults otherwise): at the dataset's evaluation rows, the fraction where our sign is
the reference's, each side's sign accuracy against the truth and Pearson r with it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-dg"
REFERENCE_PACKAGES = ["numpy", "scipy", "scikit-learn", "opt_einsum", "plotly"]

#: The fixture's clouds: (label, dataset, parameters). Sizes keep the fixture under 1 MB.
FIXTURE = [
    ("sphere", "sphere_cap", {"cap_angle": 3.1, "n_points": 1200, "n_eval": 64}),
    ("torus", "torus", {"n_points": 1200, "n_eval": 64}),
    ("quadric_d3", "quadric", {"dim": 3, "n_points": 1500, "n_eval": 32, "eval_radius": 0.4}),
    ("noisy_saddle", "saddle", {"n_points": 1200, "n_eval": 64, "noise": 0.02}),
]
#: Clouds for --targets, unlike the fixture's.
TARGETS = [
    ("ellipsoid", "ellipsoid", {"n_points": 2000, "n_eval": 64}),
    ("hyperboloid", "hyperboloid", {"n_points": 2000, "n_eval": 64}),
    ("quadric_noise5%", "quadric", {"dim": 2, "n_points": 2000, "n_eval": 32, "noise": 0.05,
                                    "noise_scale": "diameter"}),
    ("cap_density_gradient", "sphere_cap", {"n_points": 2000, "n_eval": 64, "density_slope": 0.8}),
    # ambient dimension beyond d + frame_normals: our frames keep 10 of the 20 directions
    ("torus_R20_noise", "torus", {"n_points": 2000, "n_eval": 64, "ambient_dim": 20, "noise": 0.02}),
    ("quadric_codim3_R20", "quadric", {"dim": 2, "codim": 3, "n_points": 2000, "n_eval": 32, "ambient_dim": 20,
                                       "noise": 0.01}),
]

#: One measurement, run by either interpreter: argv = side, input .npz, output .npz, reference path.
RUNNER = r"""
import gc, importlib.util, json, resource, sys, time
import numpy as np
side, src, out, ref = sys.argv[1:5]
if side == "reference":
    spec = importlib.util.spec_from_file_location("ManifoldDiffusionGeometry", ref)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    run = lambda X, d: mod.Scalar_Curvature(X, d, n0=50)
else:
    sys.path.insert(0, ref)
    from colosseum.estimators import diffusion_geometry as dg
    run = lambda X, d: dg.scalar_curvature(X, d, seed=0).scalar
def status(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
data = np.load(src)
X, d = np.ascontiguousarray(data["points"], dtype=np.float64), int(data["dim"])
run(X[:300], d)
gc.collect()
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status("VmRSS")
except OSError:
    base = None
base = base or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
S = np.asarray(run(X, d), dtype=np.float64)
wall = time.perf_counter() - t0
peak = status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
np.save(out, S)
print(json.dumps({"wall": wall, "peak_kb": peak, "base_kb": base}))
"""


def reference_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"installing {', '.join(REFERENCE_PACKAGES)} into {VENV} for the reference ...",
              file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *REFERENCE_PACKAGES], check=True)
    return py


def draw(dataset: str, params: dict, seed: int = 0):
    sys.path.insert(0, str(ROOT))
    from colosseum import registry

    return registry.make_dataset(dataset, seed=seed, **params)


THREADS = 1


def measure(side: str, points: np.ndarray, dim: int, reference: Path | None, timeout: float) -> dict:
    """Run one side in a fresh process; {'wall', 'peak_kb', 'base_kb', 'S'} or {'error'}."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(THREADS)
    python = str(reference_python()) if side == "reference" else sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        src, out, script = Path(tmp) / "in.npz", Path(tmp) / "S.npy", Path(tmp) / "runner.py"
        np.savez(src, points=points, dim=dim)
        script.write_text(RUNNER)
        where = str(reference) if side == "reference" else str(ROOT)
        try:
            res = subprocess.run([python, str(script), side, str(src), str(out), where], capture_output=True,
                                 text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"error": f"stopped after {timeout:.0f} s"}
        if res.returncode != 0:
            return {"error": (res.stderr.strip().splitlines() or ["failed"])[-1]}
        figures = json.loads(res.stdout.strip().splitlines()[-1])
        return {**figures, "S": np.load(out)}


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Pearson r and the fraction of points where the signs agree."""
    return float(np.corrcoef(a, b)[0, 1]), float(np.mean(np.sign(a) == np.sign(b)))


def write_fixture(path: Path, reference: Path) -> None:
    arrays, meta = {}, []
    for label, dataset, params in FIXTURE:
        sample = draw(dataset, params)
        ref = measure("reference", sample.points, sample.dim, reference, timeout=600)
        if "error" in ref:
            raise SystemExit(f"the reference failed on {label}: {ref['error']}")
        arrays[f"{label}_points"] = sample.points
        arrays[f"{label}_dim"] = np.int64(sample.dim)
        arrays[f"{label}_reference"] = ref["S"]
        meta.append({"label": label, "dataset": dataset, "params": params, "seed": 0})
        print(f"{label}: {len(sample.points)} points in R^{sample.points.shape[1]}, d = {sample.dim}")
    source = "Iolo-Jones/ManifoldDiffusionGeometry @ 4eae5b2, Scalar_Curvature(X, d, n0=50)"
    np.savez_compressed(path, meta=json.dumps({"reference": source, "clouds": meta}), **arrays)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


def faster(best: dict | None, run: dict) -> dict:
    """The faster of two measurements of one side; an error stands."""
    if best is None or "error" in run:
        return run
    if "error" in best:
        return best
    return run if run["wall"] < best["wall"] else best


def _mb(r: dict) -> float:
    return (r["peak_kb"] - r["base_kb"]) / 1024


def bench(reference: Path | None, ns: list[int], ours_ns: list[int], timeout: float,
          repeats: int = 1) -> None:
    print(f"{'cloud':>13} {'n':>6}  {'ours':>8} {'reference':>10} {'speed-up':>8}  {'ours +MB':>8} "
          f"{'ref +MB':>8} {'mem ratio':>9}  {'r':>8} {'sign agree':>10}", flush=True)
    for label, dataset, params in FIXTURE:
        for n in ns + ours_ns:
            sample = draw(dataset, {**params, "n_points": n, "n_eval": 8})
            with_reference = reference is not None and n in ns
            mine = ref = None
            for _ in range(repeats):  # in turns, so that both sides meet the same load
                if mine is None or "error" not in mine:
                    mine = faster(mine, measure("ours", sample.points, sample.dim, None, timeout))
                if with_reference and (ref is None or "error" not in ref):
                    ref = faster(ref, measure("reference", sample.points, sample.dim, reference, timeout))
            if "error" in mine:
                print(f"{label:>13} {n:>6}  ours failed: {mine['error']}")
                continue
            row = f"{label:>13} {n:>6}  {mine['wall']:>7.2f}s"
            if not with_reference:
                print(f"{row} {'-':>10} {'-':>8}  {_mb(mine):>8.0f} {'-':>8} {'-':>9}", flush=True)
                continue
            if "error" in ref:
                print(f"{row} reference: {ref['error']}", flush=True)
                continue
            r, agree = agreement(mine["S"], ref["S"])
            ratio = _mb(mine) / max(_mb(ref), 1e-9)
            print(f"{row} {ref['wall']:>9.2f}s {ref['wall'] / mine['wall']:>7.1f}x  {_mb(mine):>8.0f} "
                  f"{_mb(ref):>8.0f} {ratio:>9.2f}  {r:>8.5f} {agree:>10.3f}", flush=True)


def targets(reference: Path, timeout: float) -> None:
    print(f"{'cloud':>21} {'rows':>5} {'sign agree':>10} {'acc ours':>9} {'acc ref':>8} {'r ours':>7} "
          f"{'r ref':>7}")
    for label, dataset, params in TARGETS:
        sample = draw(dataset, params)
        mine = measure("ours", sample.points, sample.dim, None, timeout)
        ref = measure("reference", sample.points, sample.dim, reference, timeout)
        if "error" in mine or "error" in ref:
            print(f"{label:>21} failed: {mine.get('error', '')} {ref.get('error', '')}")
            continue
        rows, truth = sample.eval_idx, sample.curvature
        signed = np.abs(truth) > sample.meta["zero_tol"]
        a, b = mine["S"][rows], ref["S"][rows]
        acc = [float(np.mean(np.sign(v[signed]) == np.sign(truth[signed]))) for v in (a, b)]
        rr = [float(np.corrcoef(v, truth)[0, 1]) if np.ptp(truth) > 0 else float("nan") for v in (a, b)]
        same = float(np.mean(np.sign(a) == np.sign(b)))
        print(f"{label:>21} {len(rows):>5} {same:>10.3f} {acc[0]:>9.3f} {acc[1]:>8.3f} {rr[0]:>7.3f} "
              f"{rr[1]:>7.3f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", type=Path, help="path to the reference's ManifoldDiffusionGeometry.py")
    ap.add_argument("--write-fixture", type=Path, help="write the reference's values on the fixture's clouds")
    ap.add_argument("--targets", action="store_true", help="agreement on clouds unlike the fixture's")
    ap.add_argument("--bench", action="store_true", help="time and memory side by side (the default)")
    ap.add_argument("--ns", default="1000,4000,8000", help="sizes for the side-by-side table")
    ap.add_argument("--ours-ns", default="20000", help="sizes for ours alone (empty: none)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per measurement")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads of both sides")
    ap.add_argument("--repeats", type=int, default=1, help="runs per side and size, in turns; the fastest counts")
    args = ap.parse_args()
    global THREADS
    THREADS = args.threads
    if args.reference is not None and not args.reference.is_file():
        raise SystemExit(f"--reference {args.reference}: no such file")
    if (args.write_fixture or args.targets) and args.reference is None:
        raise SystemExit("--write-fixture and --targets need --reference PATH/ManifoldDiffusionGeometry.py "
                         "(git clone https://github.com/Iolo-Jones/ManifoldDiffusionGeometry)")
    if args.reference is None:
        print("no --reference: ours alone (the reference side needs ManifoldDiffusionGeometry.py from\n"
              "https://github.com/Iolo-Jones/ManifoldDiffusionGeometry, which has no licence and is not bundled)")
    if args.write_fixture:
        write_fixture(args.write_fixture, args.reference)
    if args.targets:
        targets(args.reference, args.timeout)
    if args.bench or not (args.write_fixture or args.targets):
        ns = [int(x) for x in args.ns.split(",") if x]
        ours_ns = [int(x) for x in args.ours_ns.split(",") if x and int(x) not in ns]
        bench(args.reference, ns, ours_ns, args.timeout, max(1, args.repeats))


if __name__ == "__main__":
    main()
