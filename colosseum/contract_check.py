"""`colosseum-contract`: check the public contract of docs/DESIGN.md on every registered dataset and method.

Outside code relies on that contract, so `make contract` (and the test suite) run this: it draws every
dataset small, runs every method and every denoiser on one small sample, and checks what DESIGN.md promises — shapes and
dtypes, finite truth, integer `dim` below the ambient dimension, determinism for a seed, the oracle's
`truth=` convention, that unknown names raise listing the known ones, and that `geometry.scalar_curvature`
gives 2 on the unit sphere. Every dataset is also drawn corrupted (colosseum.corruptions: outliers, and
heteroscedastic noise where it has a `noise` parameter), which must keep its evaluation rows, truth and
shape, leave the evaluation rows and the other clean rows as they were, and be deterministic.
One line per problem, a summary, exit status 0 only when nothing is wrong.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _unit_sphere(u):
    import jax.numpy as jnp

    return jnp.stack([jnp.cos(u[0]) * jnp.sin(u[1]), jnp.sin(u[0]) * jnp.sin(u[1]), jnp.cos(u[1])])


def check_lookup_errors(registry) -> list[str]:
    problems = []
    for kind, make, known in (("dataset", registry.make_dataset, registry.list_datasets()),
                              ("method", registry.make_method, registry.list_methods())):
        try:
            make(f"no_such_{kind}")
            problems.append(f"make_{kind}('no_such_{kind}') did not raise")
        except ValueError as exc:
            if not all(name in str(exc) for name in known):
                problems.append(f"make_{kind} of an unknown name does not list the known names: {exc}")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"make_{kind} of an unknown name raised {type(exc).__name__}, not ValueError")
    return problems


def check_geometry(geometry) -> list[str]:
    import jax.numpy as jnp

    s = geometry.scalar_curvature(_unit_sphere, jnp.array([0.3, 1.1]))
    many = geometry.scalar_curvature(_unit_sphere, jnp.array([[0.3, 1.1], [1.0, 2.0]]))
    problems = []
    if np.shape(s) != () or not abs(float(s) - 2.0) < 1e-10 or np.asarray(s).dtype != np.float64:
        problems.append(f"scalar_curvature of the unit S^2 at one point gave {s!r}; want 2.0, shape (), float64")
    if np.shape(many) != (2,) or not np.allclose(many, 2.0, atol=1e-10):
        problems.append(f"scalar_curvature of the unit S^2 at two points gave {many!r}; want [2, 2]")
    return problems


def check_dataset(registry, name: str, n_points: int):
    """(sample or None, problems) for one dataset drawn small with seed 0."""
    try:
        sample = registry.make_dataset(name, seed=0, n_points=n_points)
    except Exception as exc:  # noqa: BLE001
        return None, [f"dataset {name}: make_dataset(seed=0, n_points={n_points}) raised {type(exc).__name__}: {exc}"]
    P, idx, S = np.asarray(sample.points), np.asarray(sample.eval_idx), np.asarray(sample.curvature)
    problems = []
    if P.ndim != 2 or not np.issubdtype(P.dtype, np.floating) or not np.isfinite(P).all():
        problems.append(f"dataset {name}: points must be a finite float (N, D) array, got {P.dtype} {P.shape}")
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer) or idx.size == 0 or idx.min() < 0 \
            or idx.max() >= len(P):
        problems.append(f"dataset {name}: eval_idx must be a non-empty int (m,) array of rows of points")
    if S.shape != idx.shape or S.dtype != np.float64 or not np.isfinite(S).all():
        problems.append(f"dataset {name}: curvature must be finite float64 with the shape of eval_idx")
    if isinstance(sample.dim, bool) or not isinstance(sample.dim, (int, np.integer)) \
            or not 1 <= sample.dim < P.shape[1]:
        problems.append(f"dataset {name}: dim must be an int with 1 <= dim < D")
    if not isinstance(sample.meta, dict):
        problems.append(f"dataset {name}: meta must be a dict")
    again = registry.make_dataset(name, seed=0, n_points=n_points)
    if not np.array_equal(np.asarray(again.points), P) or not np.array_equal(np.asarray(again.curvature), S):
        problems.append(f"dataset {name}: the same seed gave a different cloud or truth")
    if not problems:
        problems += check_corrupted(registry, name, n_points, sample)
    return sample, problems


#: The corrupted draws of the contract: a tenth of the rows outliers; noise spread by +-50 % (small noise).
OUTLIERS, SPREAD, NOISE = 0.1, 0.5, 0.01


def check_corrupted(registry, name: str, n_points: int, clean) -> list[str]:
    """Problems of the corrupted draws of one dataset (seed 0), against its clean draw `clean`."""
    P, idx, S = np.asarray(clean.points), np.asarray(clean.eval_idx), np.asarray(clean.curvature)
    noisy = {"noise": NOISE, "noise_spread": SPREAD} if "noise" in registry.entry("dataset", name).defaults else {}
    try:
        dirty, repeat = (registry.make_dataset(name, seed=0, n_points=n_points, outliers=OUTLIERS) for _ in range(2))
        both = registry.make_dataset(name, seed=0, n_points=n_points, outliers=OUTLIERS, **noisy)
    except Exception as exc:  # noqa: BLE001
        return [f"dataset {name}: a corrupted draw (outliers={OUTLIERS}, {noisy}) raised {type(exc).__name__}: {exc}"]
    problems = []
    for label, d in (("outliers", dirty), ("outliers and noise_spread", both)):
        if np.asarray(d.points).shape != P.shape or not np.array_equal(d.eval_idx, idx) \
                or not np.array_equal(d.curvature, S) or not np.isfinite(np.asarray(d.points)).all():
            problems.append(f"dataset {name}: the draw with {label} changed the shape, evaluation rows or truth")
    rows = np.asarray(dirty.meta.get("outlier_rows", []), dtype=np.int64)
    if rows.size != round(OUTLIERS * (len(P) - idx.size)) or np.intersect1d(rows, idx).size:
        problems.append(f"dataset {name}: {rows.size} outlier rows, want {round(OUTLIERS * (len(P) - idx.size))} "
                        "and none of them an evaluation row")
    keep = np.setdiff1d(np.arange(len(P)), rows)
    if not np.array_equal(np.asarray(dirty.points)[keep], P[keep]):
        problems.append(f"dataset {name}: outliers changed rows they did not replace (the clean draw must stay)")
    if not np.array_equal(np.asarray(dirty.points), np.asarray(repeat.points)):
        problems.append(f"dataset {name}: the same seed gave a different corrupted cloud")
    return problems


def check_method(registry, name: str, sample) -> list[str]:
    kw = {"truth": sample.curvature} if "truth" in registry.entry("method", name).filled_by_runner else {}
    from colosseum.compute import fixed_global_state

    def once(method):  # as a cell runs it: from the same fixed global random state
        fixed_global_state("method", name)
        return np.asarray(method(sample.points, sample.eval_idx, sample.dim, seed=0))

    try:
        method = registry.make_method(name, **kw)
        est, again = once(method), once(method)
    except Exception as exc:  # noqa: BLE001 - a SkipCell is a problem too: the contract says it runs
        return [f"method {name}: raised {type(exc).__name__}: {str(exc)[:200]}"]
    problems = []
    if est.shape != np.shape(sample.eval_idx) or not np.issubdtype(est.dtype, np.floating):
        problems.append(f"method {name}: want a float array of shape {np.shape(sample.eval_idx)}, got "
                        f"{est.dtype} {est.shape}")
    elif not np.array_equal(est, again, equal_nan=True):
        problems.append(f"method {name}: two runs of one cell gave different estimates (seed 0, the same fixed "
                        "global random state): a method must be a pure function of its inputs and seed")
    if kw and not np.allclose(est, sample.curvature):
        problems.append(f"method {name}: did not return the truth it was given")
    return problems


def check_denoiser(registry, name: str, sample) -> list[str]:
    from colosseum.compute import fixed_global_state

    def once(den):
        fixed_global_state("denoiser", name)
        return np.asarray(den(sample.points, sample.dim, seed=0))

    try:
        den = registry.make_denoiser(name)
        out, again = once(den), once(den)
    except Exception as exc:  # noqa: BLE001
        return [f"denoiser {name}: raised {type(exc).__name__}: {str(exc)[:200]}"]
    problems = []
    if out.shape != np.shape(sample.points) or not np.issubdtype(out.dtype, np.floating) or not np.isfinite(out).all():
        problems.append(f"denoiser {name}: want a finite float array of shape {np.shape(sample.points)}, got "
                        f"{out.dtype} {out.shape}")
    elif not np.array_equal(out, again):
        problems.append(f"denoiser {name}: two runs of one cell gave different clouds (seed 0, the same fixed "
                        "global random state)")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="colosseum-contract", description=__doc__.splitlines()[0])
    ap.add_argument("--skip", default="", help="comma-separated methods not to run")
    ap.add_argument("--only", default="", help="comma-separated methods to run (default: every one)")
    ap.add_argument("--datasets", default="", help="comma-separated datasets to draw (default: every one; the "
                    "probe is always drawn)")
    ap.add_argument("--n-points", type=int, default=500, help="size of each dataset's draw (default 500)")
    ap.add_argument("--probe", default="sphere_cap", help="the dataset every method runs on (default sphere_cap)")
    ap.add_argument("--n-eval", type=int, default=2, help="evaluation rows of the methods' probe (default 2)")
    args = ap.parse_args(argv)
    from colosseum import geometry, registry, results

    assert callable(results.load)
    skip = {s for s in args.skip.split(",") if s}
    datasets, methods, denoisers = registry.list_datasets(), registry.list_methods(), registry.list_denoisers()
    only = [s for s in args.only.split(",") if s]
    if only:
        skip |= set(methods) - set(only)
        denoisers = [d for d in denoisers if d in only]
    chosen = [s for s in args.datasets.split(",") if s]
    if chosen:
        datasets = [d for d in datasets if d in chosen or d == args.probe]
    print(f"{len(datasets)} datasets: {', '.join(datasets)}")
    print(f"{len(methods)} methods: {', '.join(methods)}")
    print(f"{len(denoisers)} denoisers: {', '.join(denoisers)}")
    problems = [f"plugin {f.path.name} failed to import: {f.error.splitlines()[0]}" for f in registry.failed_plugins()]
    problems += check_lookup_errors(registry) + check_geometry(geometry)
    samples = {}
    for name in datasets:
        sample, found = check_dataset(registry, name, args.n_points)
        problems += found
        if sample is not None:
            samples[name] = sample
    probe = None
    if args.probe in samples:
        probe = registry.make_dataset(args.probe, seed=0, n_points=args.n_points, n_eval=args.n_eval)
    if probe is None:
        problems.append(f"the probe dataset {args.probe!r} could not be drawn: methods not run")
    else:
        for name in methods:
            if name in skip:
                continue
            t0 = time.perf_counter()
            found = check_method(registry, name, probe)
            problems += found
            print(f"  {name}: {'ok' if not found else 'PROBLEM'} in {time.perf_counter() - t0:.1f} s")
        for name in denoisers:
            t0 = time.perf_counter()
            found = check_denoiser(registry, name, probe)
            problems += found
            print(f"  denoiser {name}: {'ok' if not found else 'PROBLEM'} in {time.perf_counter() - t0:.1f} s")
    for p in problems:
        print("PROBLEM:", p)
    print(f"contract: {len(problems)} problems; {len(samples)}/{len(datasets)} datasets drawn, "
          f"{len(methods) - len(skip & set(methods))}/{len(methods)} methods and {len(denoisers)} denoisers run")
    return 1 if problems else 0


def _entry() -> None:
    sys.exit(main())
