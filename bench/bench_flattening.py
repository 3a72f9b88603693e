"""The neural flatteners (issue 6: RFAE < ~5 s, MIOFlattener < ~30 s per point on 2 CPU cores for
neighbourhoods up to 1000 points): time per evaluation point, and the MIOFlattener's flow before and after
its cheaper settings, side by side in one run.

Run: .venv/bin/python bench/bench_flattening.py [--sizes 250,500,1000] [--repeats 2] [--n-points 2000]
                                                [--quadrics 2] [--no-estimates]

"Before" is the flow as it was: Tsit5 (6 field evaluations per step) with diffrax's default recursive
checkpointing (the backward pass recomputes steps). "After" is the default now: Heun (2 per step), every
step stored for the backward pass. Storing instead of recomputing gives bit-identical gradients (checked
here on one point); the solver is the one change of results, measured in part 2.

1. Time per point on a 2-D sphere cap: for each neighbourhood size, the first call (compilation included)
   and `repeats` calls on other evaluation points (the compiled trainer is reused). "Flatten" is the whole
   per-point cost (neighbourhood, Dijkstra d_M, training, quality figures); the MIOFlattener's includes the
   RFAE it starts from. Wall and CPU seconds (the machine may be shared: CPU is the steadier figure).
   The bench runs JAX as a cell's worker does (colosseum.isolation.worker_env: one XLA thread, the
   persistent compilation cache, so "first" is tracing plus compiling or loading the compiled program).
2. dc_mioflattener's estimates before and after on fixed clouds: the quick preset's 8 (sphere caps and
   saddles, d = 2, noise 0 and 0.02, seeds 0-1, 4 evaluation rows) and d = 3 quadrics as the flattening
   preset draws them (configs/dataset/quadric_sparse.yaml, 1000 points, seeds 0 .. quadrics - 1). The yardstick is
   the method's own training noise: the same clouds with the method's seed + 1000 (new training seeds).
   Tolerance: the solver may move no estimate by more than a tenth of the median retraining change, and
   may flip no sign.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import jax
import numpy as np
from omegaconf import OmegaConf

from colosseum import isolation, paths, registry
from colosseum.estimators.flattening import flattened, mioflow, neighbourhood, rfae

BEFORE = mioflow.MIOConfig(solver="tsit5", store_steps=False)
AFTER = mioflow.MIOConfig()
FLATTENERS = {"rfae": rfae.RFAEFlattener(), "mio before": mioflow.MIOFlattener(mio=BEFORE),
              "mio after": mioflow.MIOFlattener(mio=AFTER)}
RETRAIN = 1000  # seed offset of the retraining yardstick


def timing(args) -> None:
    s = registry.make_dataset("sphere_cap", seed=0, dim=2, n_points=args.n_points, cap_angle=1.5, n_eval=8)
    print(f"1. time per point: sphere cap d=2, N={args.n_points}; before = {BEFORE.solver}, recomputing "
          f"checkpoints; after = {AFTER.solver}, stored steps")
    print(f"{'flattener':>11} {'n':>5} {'first s':>8} {'wall per point (runs)':>26} {'cpu/point':>10} "
          f"{'train s':>8} {'steps':>10}")
    for size in [int(x) for x in args.sizes.split(",")]:
        settings = flattened.FlattenSettings(neighbourhood=size)
        for space, flattener in FLATTENERS.items():
            times, cpus, train, steps = [], [], [], []
            for j in range(args.repeats + 1):
                t0, c0 = time.perf_counter(), time.process_time()
                _, _, q = flattened.flatten(s.points, int(s.eval_idx[j % len(s.eval_idx)]), 2, flattener, settings,
                                           seed=j)
                times.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                train.append(q["rfae_seconds"] + q.get("mio_seconds", 0.0))
                steps.append(int(q.get("mio_steps", q["rfae_steps"])))
            runs = ", ".join(f"{t:.2f}" for t in times[1:])
            print(f"{space:>11} {size:>5} {times[0]:>8.2f} {np.median(times[1:]):>8.2f} ({runs:>15}) "
                  f"{np.median(cpus[1:]):>10.2f} {np.median(train[1:]):>8.2f} {','.join(map(str, steps[1:])):>10}",
                  flush=True)


def same_gradients() -> bool:
    """Stored steps vs diffrax's recomputing checkpoints: the same trained flow, bit for bit."""
    s = registry.make_dataset("saddle", seed=0, dim=2, n_points=1000, n_eval=1)
    nb = neighbourhood.make_neighbourhood(s.points, 0, 500)
    start = rfae.fit_rfae(nb, 2, seed=0).Z
    a, b = (mioflow.fit_mioflattener(start, nb.radial, nb.scale, dataclasses.replace(AFTER, store_steps=st), seed=1)
            for st in (True, False))
    return bool(np.array_equal(a.Z, b.Z))


def clouds(n_quadrics: int):
    for name in ("sphere_cap", "saddle"):
        for noise in (0.0, 0.02):
            for seed in (0, 1):
                yield f"{name} d=2 noise={noise} seed={seed}", seed, registry.make_dataset(
                    name, seed=seed, dim=2, noise=noise, n_eval=4)
    sparse = OmegaConf.load(paths.CONFIGS / "dataset" / "quadric_sparse.yaml")
    for seed in range(n_quadrics):
        yield f"quadric_sparse d=3 seed={seed}", seed, registry.make_dataset(
            "quadric", seed=seed, dim=3, n_points=1000, n_eval=4, eval_radius=float(sparse.eval_radius))


def estimates(args) -> None:
    runs = {"before": ({"solver": BEFORE.solver}, 0), "after": ({}, 0), "retrained": ({}, RETRAIN)}
    print(f"\n2. dc_mioflattener estimates, before ({BEFORE.solver}) vs after ({AFTER.solver}); retrained = after "
          f"with the method's seed + {RETRAIN}")
    print(f"{'cloud':>34} {'cpu before':>10} {'after':>6} {'retrain':>7}  estimates before | after | retrained")
    est = {k: [] for k in runs}
    steps = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    for label, seed, s in clouds(args.quadrics):
        row = []
        for key, (params, offset) in runs.items():
            method = registry.make_method("dc_mioflattener", **params)
            c0 = time.process_time()
            e = method.estimate(s.points, s.eval_idx, s.dim, seed=seed + offset)
            cpu[key].append(time.process_time() - c0)
            est[key].append(np.asarray(e.values))
            steps[key].append(np.asarray(e.diagnostics["mio_steps"]))
            row.append(" ".join(f"{v:+.4f}" for v in e.values))
        print(f"{label:>34} {cpu['before'][-1]:>10.1f} {cpu['after'][-1]:>6.1f} {cpu['retrained'][-1]:>7.1f}  "
              f"{' | '.join(row)}", flush=True)
    est = {k: np.concatenate(v) for k, v in est.items()}
    steps = {k: np.concatenate(v) for k, v in steps.items()}
    b, a, r = est["before"], est["after"], est["retrained"]
    spread = float(np.std(b))
    print(f"\n{len(b)} points; estimates before: std {spread:.4f}, range {b.min():+.4f}..{b.max():+.4f}")
    for name, new, old in (("solver (after - before)", "after", "before"), ("retraining (retrained - after)",
                                                                             "retrained", "after")):
        d = np.abs(est[new] - est[old])
        print(f"{name:>31}: max |Δ| {d.max():.1e}, p90 {np.quantile(d, 0.9):.1e}, median {np.median(d):.1e}; "
              f"max |Δ| / std {d.max() / spread:.1e}; signs agree {np.mean(np.sign(est[new]) == np.sign(est[old])):.3f};"
              f" same early stop {np.mean(steps[new] == steps[old]):.2f}")
    solver_max = float(np.abs(a - b).max())
    retrain_median = float(np.median(np.abs(r - a)))
    ok = solver_max <= 0.1 * retrain_median and bool(np.all(np.sign(a) == np.sign(b)))
    print(f"tolerance: solver max |Δ| {solver_max:.1e} <= 0.1 x retraining median |Δ| ({0.1 * retrain_median:.1e}) "
          f"and no sign flipped: {'yes' if ok else 'NO'}")
    print(f"dc_mioflattener CPU per cell (mean, first cell's compilation included): before {np.mean(cpu['before']):.1f} s, "
          f"after {np.mean(cpu['after']):.1f} s ({np.mean(cpu['before']) / np.mean(cpu['after']):.1f}x)")


def main() -> None:
    if "--xla_cpu_multi_thread_eigen=false" not in os.environ.get("XLA_FLAGS", ""):
        # run as a cell's worker does (one XLA thread, the persistent compilation cache): XLA reads its
        # flags at start-up, so the process starts again with the worker's environment
        os.execve(sys.executable, [sys.executable, *sys.argv], isolation.worker_env(1))
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="250,500,1000")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n-points", type=int, default=2000)
    ap.add_argument("--quadrics", type=int, default=2, help="d = 3 quadric clouds in part 2 (after the quick preset's 8)")
    ap.add_argument("--no-estimates", action="store_true", help="part 1 only")
    args = ap.parse_args()
    dev = jax.devices()[0]
    print(f"device {dev.platform} ({dev.device_kind}), cpus={os.cpu_count()}, load={os.getloadavg()[0]:.1f}")
    timing(args)
    print(f"stored steps give the same trained flow as recomputing ones (bit for bit): {same_gradients()}")
    if not args.no_estimates:
        estimates(args)


if __name__ == "__main__":
    main()
