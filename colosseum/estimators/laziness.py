"""Diffusion laziness (diffusion curvature v1), signed against a flat comparison space.

Reference: Bhaskar et al., NeurIPS 2022 (arXiv 2206.03977); professorwug/diffusion-curvature-old @ e9a503c
(`core.py` DiffusionMatrix, `laziness.py` curvature, CLI `get_diffusion_curvature.py`).

For each evaluation point x:
1. Kernel (scale-free stand-in for the CLI default "anisotropic"): the curvature-agnostic Gaussian
   W = exp(-|x-y|^2 / sigma^2), sigma = nu * mean nearest-neighbour distance, nu bisected until the
   median row support (entries >= 1e-5, self included) is within `tolerance` of `knn`; then the
   anisotropic normalisation W <- Q^-alpha W Q^-alpha (alpha = 1, the CLI default, removes the
   sampling density), P = D^-1 (W + 1e-8 I). kernel = "adaptive" uses sigma_i = distance to the
   knn-th neighbour instead (the reference's alternative, there with the 20th); note that its support
   is ~11 x knn points, not knn (use knn ~ 10-20 with it).
2. Laziness C_t(x) = sum over y in N(x) of P^t(x, y): the mass of the t-step walk from x still in
   x's neighbourhood N(x) = the round(neighbourhood * knn) nearest points of x (x included).
3. The same at the centre (row 0) of a flat comparison space E (`comparison`, a
   colosseum.estimators.flat.ComparisonSpace; dc_laziness's default is a uniform sample of the unit
   d-ball with as many points as the cloud) through the same kernel construction (same
   KernelSpec; the agnostic kernel reuses nu, sigma comes from E's own distances), N(centre) of the same
   size, averaged over all `comparison_trials` draws.
4. k(x) = C_t(x) - mean over trials C_t(centre of E): positive curvature keeps more mass near x.
The output is a signed difference of probability masses, not calibrated scalar curvature.

Differences from the reference, on purpose:
- sigma is not an absolute length (0.7 there): the bandwidth comes from neighbour distances, so
  rotating, translating or scaling the cloud changes nothing.
- N(x) is a fixed number of nearest points, not {y : P(x,y) >= tau} with tau the mean 20th-largest
  entry of 50 random rows: that threshold is global, random, and its neighbourhood size varies with
  density. A fixed count also has the same volume (count / density) on M and on E, so the curvature
  effect on the volume of a fixed-radius ball (which has the opposite sign at small t) cancels. The
  size is a multiple of knn, default 2 x knn: the relative noise of the retained mass falls like
  1/sqrt(|N(x)|) (20 points, as in the reference, leave ~15-20%), and on caps and saddles (n 1000 and
  3000, 8 seeds) 2 x knn gave the right sign more often than 1 x knn at every setting measured.
- The sum (mass) variant; the mean variant only divides by |N(x)|, the same on M and E.
- No smoothing C <- P C (it needs C at every row; this evaluates only the requested rows).
- The flat laziness comes from `comparison_trials` seeded draws, all averaged.
- A row with no neighbour inside the kernel's support (its walk cannot leave it) abstains (NaN).

Defaults: t = 8 and alpha = 1 (the reference CLI); knn 120 +- 5, the support size of DC2's tuned
sign-test kernel (the reference's absolute sigma has no scale-free equivalent);
N(x) = 2 x knn points; 3 comparison trials.
Known behaviour (measured, see tests/test_dc_methods.py): the curvature signal is about S * t_h / 6 of
C (t_h ~ t * sigma^2 / 4 the heat time); the sign is reliable only when t * knn is a sizable fraction of
the cloud (the walk covering a region comparable to the curvature radius), e.g. knn 300, t 16-32 on
3000 points; at the defaults on large clouds the signal is below the draw-to-draw noise.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..contract import Estimate
from .flat import ComparisonSpace, comparison_stats
from .kernels import KernelSpec, build_graph_sparse
from .local_dimension import point_dimensions
from .walks import power_row_chunks


def retained_mass(P, points: np.ndarray, rows: np.ndarray, t: int, size: int) -> np.ndarray:
    """C_t at each row: the mass of P^t_row on the row's `size` nearest points (itself included)."""
    size = min(size, len(points))
    _, nbrs = cKDTree(points).query(points[rows], k=size)
    nbrs = np.asarray(nbrs).reshape(len(rows), size)
    out = np.empty(len(rows))
    for sl, rows_t in power_row_chunks(P, rows, t):
        rt = np.asarray(rows_t[-1], dtype=np.float64)  # rows of P^t, (chunk, n)
        out[sl] = np.take_along_axis(rt, nbrs[sl], axis=1).sum(axis=1)
    return out


def laziness_curvature(points: np.ndarray, eval_idx: np.ndarray, dim: int, *, seed: int,
                       comparison: ComparisonSpace, t: int, knn: int, tolerance: int, alpha: float, kernel: str,
                       neighbourhood: float, comparison_trials: int, dim_source: str) -> Estimate:
    """Laziness against `comparison` at `eval_idx` (see the module docstring); diagnostics C_M, C_E, nu,
    neighbourhood_size, dim."""
    spec = KernelSpec(kind=kernel, knn=knn, tolerance=tolerance, alpha=alpha)
    size = max(1, int(round(neighbourhood * knn)))
    dims = point_dimensions(points, eval_idx, dim, dim_source)
    graph = build_graph_sparse(points, spec)  # = build_graph (same nu, same P), CSR and faster
    nu = graph.nu if kernel == "agnostic" else None
    c_m = retained_mass(graph.P, points, eval_idx, t, size)

    def flat_laziness(E: np.ndarray) -> float:
        g_E = build_graph_sparse(E, spec, nu=nu)  # same construction; agnostic: same nu, sigma from E
        return float(retained_mass(g_E.P, E, np.array([0]), t, size)[0])

    flats = comparison_stats(comparison, points, eval_idx, dims, trials=comparison_trials, seed=seed,
                             stat=flat_laziness)
    c_e = np.array([np.mean(f) for f in flats])
    m = len(eval_idx)
    stuck = np.asarray(graph.P[eval_idx, eval_idx]).ravel() >= 1.0 - 1e-9  # only the self-loop: no walk
    values = np.where(stuck, np.nan, c_m - c_e)
    return Estimate(values=values, diagnostics={
        "C_M": c_m,                                    # mass of x's t-step walk retained in N(x)
        "C_E": c_e,                                    # the same at the flat centre, mean over trials
        "nu": np.full(m, graph.nu),                    # tuned bandwidth factor (NaN for adaptive)
        "neighbourhood_size": np.full(m, float(min(size, len(points)))),
        "dim": dims.astype(np.float64),
    })
