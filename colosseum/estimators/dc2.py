"""DC2: diffusion entropy against a flat comparison at a matched diffusion-trajectory length.

The core of dc_entropy, dc_rfae and dc_mioflattener (which differ only in the comparison space).

Reference: professorwug/diffusion-curvature @ 1834e35 (`core.py` DiffusionCurvature,
`diffusion_laziness.py` compare_curvature_across_datasets_by_locality_fraction, `kernels.py`
tune_curvature_agnostic_kernel, driver `benchmarking/sign_prediction.py`).

For each evaluation point x:
1. Kernel: the curvature-agnostic Gaussian W = exp(-|x-y|^2 / sigma^2), sigma = nu * mean
   nearest-neighbour distance, nu bisected until the median row support (entries >= 1e-5, self
   included) is within `tolerance` of `knn`; alpha-normalisation, P = D^-1 (W + 1e-8 I).
2. The entropy H_M(x, t) of the rows P^t_x (entries <= 1e-5 zeroed, renormalised), t = 1..t_max, and
   the diffusion-trajectory length d_x(t) (d_x(1) = 0, plus sqrt JS(P^{t+1}_x, P^t_x) per step).
3. The same at the centre (row 0) of a flat comparison space E (`comparison`, a
   colosseum.estimators.flat.ComparisonSpace: dc_entropy's default is a uniform sample of the unit
   d-ball with as many points as the cloud), built through the same kernel with the same
   nu (sigma from E's own distances), drawn `comparison_trials` times.
4. match = "trajectory" (DC2): d* = locality * min(d_x(t_max), min over trials d_E(t_max)); H is
   linearly interpolated at d* on every curve; k(x) = mean over trials H_E(d*) - H_M(x; d*).
   match = "time" (an option, not in the reference): both walks are compared after the same number of
   steps t* = locality * t_max (H linear in t between steps): k(x) = mean over trials H_E(t*) - H_M(x, t*).
Positive curvature keeps the walk concentrated (lower entropy than flat): k > 0.
The output is a signed score in nats, not calibrated scalar curvature.

Defaults are the reference's "95%" sign-test setting: knn 120 +- 5, alpha 0, t = 1..39, locality 0.9,
3 comparison trials, no smoothing.

Deliberate differences from the reference (its bugs):
- d* is set per evaluation point from its own trajectory (the reference takes the mean over the
  evaluated rows), so the estimate at x does not depend on which other rows are evaluated; with
  dim_source = "local_pca" the dimension is likewise estimated at each row alone.
- The H(d) curves of all comparison trials are averaged (the reference used only the last trial).
- The kernel is tuned afresh on every call from the call's own points (no cached kernel).
- Smoothing k <- P^2 k is not applied (it needs every row; the reference skips it with idx too).
- All randomness (the comparison draws) comes from `seed`; the draws at a row depend on (seed, d)
  only for point-independent comparison spaces, or on (seed, d, x) for point-dependent ones.
- A row whose walk never leaves x (d_x(t_max) = 0) abstains (NaN).

Known behaviour (measured, see tests/test_dc_methods.py): the entropy at a single point fluctuates by
~0.05-0.2 nats from draw to draw (the Poisson count of points the walk covers); the curvature signal is
about S * t_h / 2 nats (t_h = heat time of the walk, ~ t * sigma^2 / 4), so the sign is reliable only
when the walk covers a region comparable to the curvature radius with many points, without reaching
the patch's boundary. At the defaults (the walk covers ~0.24 * t * knn ~ 1100 points in 2-d, ~4500 in
3-d) that is n ~ 3000 in 2-d and n ~ 6000-10 000 in 3-d; on much larger clouds the walk is small
against the curvature radius and offsets of ~0.05-0.1 nats dominate (a 20 000-point cap or plane reads
~ -0.1 in trajectory mode). match = "time" was cleaner on 2-d caps, saddles and the torus, but turns
positive on 3-d saddles once the walk reaches the box's boundary; "trajectory" held there.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

from ..contract import Estimate
from . import walks
from .flat import ComparisonSpace, comparison_stats
from .kernels import KernelSpec, build_graph_sparse
from .local_dimension import point_dimensions

MATCHES = ("trajectory", "time")


# ----------------------------------------------------------------------------- entropy and trajectory length

def clean_distribution(p: jax.Array, floor: float = 1e-5) -> jax.Array:
    """Zero entries <= floor and renormalise (rows along the last axis)."""
    p = jnp.where(p > floor, p, 0.0)
    return p / jnp.sum(p, axis=-1, keepdims=True)


@jax.jit
def entropy(p: jax.Array) -> jax.Array:
    """Shannon entropy in nats along the last axis (after `clean_distribution`)."""
    q = clean_distribution(p)
    return -jnp.sum(jnp.where(q > 0, q * jnp.log(jnp.where(q > 0, q, 1.0)), 0.0), axis=-1)


def _kl(p, q):
    return jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0) / jnp.where(q > 0, q, 1.0)), 0.0),
                   axis=-1)


@jax.jit
def js_divergence(p: jax.Array, q: jax.Array) -> jax.Array:
    """Jensen-Shannon divergence (nats) between distributions along the last axis."""
    p, q = clean_distribution(p), clean_distribution(q)
    m = 0.5 * (p + q)
    return 0.5 * _kl(p, m) + 0.5 * _kl(q, m)


def trajectory(rows_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entropy H(t) and diffusion-trajectory length d(t) (cumulative sqrt JS between consecutive
    steps, d(1) = 0) of P^t rows shaped (T, m, n); both returned as (T, m)."""
    r = jnp.asarray(rows_t)
    H = entropy(r)
    steps = jnp.sqrt(jnp.maximum(js_divergence(r[1:], r[:-1]), 0.0))
    d = jnp.concatenate([jnp.zeros((1, r.shape[1])), jnp.cumsum(steps, axis=0)])
    return np.asarray(H), np.asarray(d)


def trajectory_rows(P: np.ndarray | sp.csr_matrix, rows: np.ndarray, t_max: int,
                    max_elements: int = walks.MAX_ELEMENTS) -> tuple[np.ndarray, np.ndarray]:
    """`trajectory` of the rows of P^1 .. P^t_max at `rows` (`walks.power_row_chunks`: no more than about
    `max_elements` entries of P^t rows held at once); H and d shaped (t_max, len(rows)), float64.

    The statistics run in JAX's default precision (float32 unless x64 is on): on a 20 000-point cap
    they differ from a float64 run by ~1e-6 nats and are ~1.5x faster.
    """
    H, d = [], []
    for _, rows_t in walks.power_row_chunks(P, rows, t_max, max_elements):
        h, dd = trajectory(rows_t)
        H.append(np.asarray(h, dtype=np.float64))
        d.append(np.asarray(dd, dtype=np.float64))
    return np.concatenate(H, axis=1), np.concatenate(d, axis=1)


# ----------------------------------------------------------------------------- the curvature

def _at(x: float, xp: np.ndarray, fp: np.ndarray) -> float:
    return float(np.interp(x, xp, fp))


def entropy_curvature(points: np.ndarray, eval_idx: np.ndarray, dim: int, *, seed: int,
                      comparison: ComparisonSpace, knn: int, tolerance: int, alpha: float, t_max: int,
                      locality: float, comparison_trials: int, dim_source: str, match: str) -> Estimate:
    """DC2 at `eval_idx` against `comparison` (see the module docstring); diagnostics d_star, t_star,
    H_M, H_E, nu, dim."""
    if match not in MATCHES:
        raise ValueError(f"DC2: match must be one of {MATCHES}, got {match!r}")
    spec = KernelSpec(kind="agnostic", knn=knn, tolerance=tolerance, alpha=alpha)
    dims = point_dimensions(points, eval_idx, dim, dim_source)
    graph = build_graph_sparse(points, spec)  # = build_graph (same nu, same P), CSR and faster
    nu = graph.nu
    H_M, d_M = trajectory_rows(graph.P, eval_idx, t_max)  # (T, m)

    def flat_curve(E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g_E = build_graph_sparse(E, spec, nu=nu)  # same kernel construction, same nu, sigma from E
        H, d = trajectory_rows(g_E.P, np.array([0]), t_max)
        return H[:, 0], d[:, 0]

    flats = comparison_stats(comparison, points, eval_idx, dims, trials=comparison_trials, seed=seed,
                             stat=flat_curve)
    steps = np.arange(1, t_max + 1, dtype=np.float64)
    m = len(eval_idx)
    est, d_star, t_star, h_m, h_e = (np.full(m, np.nan) for _ in range(5))
    for j in range(m):
        if not d_M[-1, j] > 0:  # the walk never leaves x: no trajectory to compare
            continue
        curves = flats[j]
        if match == "trajectory":
            d_star[j] = locality * min(d_M[-1, j], min(d[-1] for _, d in curves))
            h_e[j] = np.mean([_at(d_star[j], d, H) for H, d in curves])
            h_m[j] = _at(d_star[j], d_M[:, j], H_M[:, j])
            t_star[j] = _at(d_star[j], d_M[:, j], steps)
        else:
            t_star[j] = max(1.0, locality * t_max)
            h_e[j] = np.mean([_at(t_star[j], steps, H) for H, _ in curves])
            h_m[j] = _at(t_star[j], steps, H_M[:, j])
            d_star[j] = _at(t_star[j], steps, d_M[:, j])
        est[j] = h_e[j] - h_m[j]
    return Estimate(values=est, diagnostics={
        "d_star": d_star,            # matched trajectory length (in time mode: x's length at t*)
        "t_star": t_star,            # steps x's walk took to reach the match point
        "H_M": h_m,                  # entropy of x's walk at the match point (nats)
        "H_E": h_e,                  # mean flat entropy at the match point (nats)
        "nu": np.full(m, nu),        # tuned bandwidth factor
        "dim": dims.astype(np.float64),
    })
