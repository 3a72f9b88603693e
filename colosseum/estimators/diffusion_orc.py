"""Diffusion-ORC: signed Wasserstein contraction of diffusion measures (DC-repo
`diffusion_curvature/wasserstein_signed.py`, `WassersteinSignedCurvature` / `DiffusionORC`).

For an evaluation point i: mu_i = P^t delta_i (rows of P^t from colosseum.estimators.walks, adaptive kernel
with bandwidth = distance to the knn-th neighbour and anisotropic normalisation alpha). Its W1 spread
s_i = sum_z mu_i(z) d(i, z), with d the shortest-path metric of the symmetric k-NN graph with Euclidean
edge lengths (colosseum.estimators.knn; the reference's `kneighbors_graph(X, knn, mode="distance")` under an
undirected Dijkstra). Partners j are drawn without replacement from the points with
d(i, j) in [band_lo, band_hi] x s_i (the band widened by 1.5x steps up to 4x while it is empty), and

    kappa(i) = mean over partners of 1 - W1(mu_i, mu_j) / d(i, j),

W1 by exact EMD (POT) with the same graph metric as ground cost, after truncating each measure to its
largest atoms holding `support_mass` of the mass (at most `max_support` atoms; walks.truncate) and
renormalising.
The sign is native: in flat space W1 = d by translation invariance; positive curvature contracts
diffusions (W1 < d). Points without any partner abstain (NaN).

Differences from the reference (on purpose): partners come from a generator seeded by (seed, i), so the
estimate at i does not depend on which other rows are evaluated (the reference draws them from one
seed-42 stream in row order); ground costs come from Dijkstra runs from the atoms of mu_i only, truncated at
d(i, a) + max_b d(i, b) (exact, since d(a, b) <= d(a, i) + d(i, b)), instead of full rows from every
atom of both measures; W1 is solved on the two supports directly (the reference pads both to their union
with zero masses and symmetrises the cost matrix: the same value, since Dijkstra distances are symmetric).
The reference's `t='auto'` and far-pair calibration are not ported (its default is t = 8).

`output: kappa` (default, the reference's `orc_`) returns kappa(i), dimensionless. `output: scalar`
rescales it by the second moment of mu_i (Ollivier: kappa ~ Ric(v, v) sigma^2 / 2 for an isotropic
measure of per-coordinate variance sigma^2, and Ric averages to S / n over directions):
S_hat = 2 n^2 kappa / m2, m2 = sum_z mu_i(z) d(i, z)^2 (approximate: graph distances, non-Gaussian mu).
Diagnostics: kappa, spread (s_i), m2, partners (number used), partner_distance (mean d(i, j)),
support (atoms kept of mu_i).
"""
from __future__ import annotations

import numpy as np
import ot

from ..contract import Estimate
from .kernels import KernelSpec, build_graph
from .knn import KnnGraph, knn_graph, shortest_paths
from .walks import power_rows, truncate

OUTPUTS = ("kappa", "scalar")


def _truncated(mu: np.ndarray, support_mass: float, max_support: int) -> tuple[np.ndarray, np.ndarray]:
    """(atom rows, renormalised weights): the largest atoms holding `support_mass` of mu, at most
    `max_support` of them (ties broken by row number, for determinism)."""
    idx, w = truncate(mu, support_mass, max_support)
    return idx, w / w.sum()


def pick_partners(d_i: np.ndarray, i: int, spread: float, band_lo: float, band_hi: float, n_pairs: int,
                  rng: np.random.Generator) -> np.ndarray:
    finite = np.isfinite(d_i)
    widen = 1.0
    while True:
        cand = np.flatnonzero(finite & (d_i >= band_lo * spread / widen) & (d_i <= band_hi * spread * widen))
        cand = cand[cand != i]
        if cand.size or widen >= 4.0:
            break
        widen *= 1.5
    if cand.size == 0:
        return cand
    return rng.choice(cand, size=min(n_pairs, cand.size), replace=False)


def source_distances(graph: KnnGraph, sources: np.ndarray, targets: np.ndarray, limits: np.ndarray,
                     chunk: int = 64) -> np.ndarray:
    """Graph distances from `sources` to `targets` (|sources| x |targets|); Dijkstra from source a is
    exact up to limits[a] (inf beyond). Sources run in chunks sorted by limit, each with the largest
    limit in the chunk, so no block larger than chunk x n is held."""
    out = np.empty((sources.size, targets.size))
    order = np.argsort(limits, kind="stable")
    for a in range(0, sources.size, chunk):
        sel = order[a:a + chunk]
        out[sel] = shortest_paths(graph, sources[sel], float(limits[sel].max()))[:, targets]
    return out


def diffusion_orc_curvature(points: np.ndarray, eval_idx: np.ndarray, dim: int, *, seed: int, t: int, knn: int,
                            alpha: float, n_pairs: int, band_lo: float, band_hi: float, support_mass: float,
                            max_support: int, output: str) -> Estimate:
    """Diffusion-ORC at `eval_idx` (see the module docstring)."""
    n = len(points)
    if output not in OUTPUTS:
        raise ValueError(f"diffusion_orc output must be one of {OUTPUTS}, got {output!r}")
    if not knn < n or not band_lo <= band_hi:
        raise ValueError(f"diffusion_orc needs knn < n = {n} and band_lo <= band_hi; got knn={knn}, "
                         f"band=({band_lo}, {band_hi})")
    P = build_graph(points, KernelSpec(kind="adaptive", knn=knn, alpha=alpha)).P
    geo = knn_graph(points, knn)
    m = len(eval_idx)
    # rows of P^t, (m, n); the dense path of power_rows runs in JAX's default float32
    mu = np.asarray(power_rows(P, eval_idx, t)[-1], dtype=np.float64)
    d_all = shortest_paths(geo, eval_idx, np.inf)  # (m, n), one source per eval point

    kappa, spread, m2 = np.full(m, np.nan), np.full(m, np.nan), np.full(m, np.nan)
    n_used, d_mean, support = np.zeros(m, dtype=np.int64), np.full(m, np.nan), np.zeros(m, dtype=np.int64)
    partners = []
    for r, i in enumerate(eval_idx):
        d_i = d_all[r]
        finite = np.isfinite(d_i)
        spread[r] = float(mu[r, finite] @ d_i[finite])
        m2[r] = float(mu[r, finite] @ d_i[finite] ** 2)
        rng = np.random.default_rng([seed, int(i)])
        partners.append(pick_partners(d_i, int(i), spread[r], band_lo, band_hi, n_pairs, rng)
                        if spread[r] > 0 else np.zeros(0, dtype=np.int64))
    flat = np.concatenate(partners) if partners else np.zeros(0, dtype=np.int64)
    mu_j_all = np.asarray(power_rows(P, flat, t)[-1], dtype=np.float64) if flat.size else np.zeros((0, n))

    start = 0
    for r, i in enumerate(eval_idx):
        js = partners[r]
        mu_js, start = mu_j_all[start:start + js.size], start + js.size
        if js.size == 0:
            continue
        d_i = d_all[r]
        si, wi = _truncated(mu[r], support_mass, max_support)
        si, wi = si[np.isfinite(d_i[si])], wi[np.isfinite(d_i[si])]  # mass in other components is dropped
        support[r] = si.size
        sup_j = []
        for mu_j in mu_js:
            sj, wj = _truncated(mu_j, support_mass, max_support)
            sup_j.append((sj[np.isfinite(d_i[sj])], wj[np.isfinite(d_i[sj])]))
        targets = np.unique(np.concatenate([s for s, _ in sup_j]))
        # d(a, b) <= d(a, i) + d(i, b): Dijkstra from the atoms a of mu_i only, each truncated at
        # d(a, i) + max_b d(i, b), is exact
        D = source_distances(geo, si, targets, (d_i[si] + float(d_i[targets].max())) * (1 + 1e-9))
        col = np.searchsorted(targets, np.concatenate([s for s, _ in sup_j]))
        vals, dists, start_j = [], [], 0
        for (sj, wj), j in zip(sup_j, js):
            C = D[:, col[start_j:start_j + sj.size]]
            start_j += sj.size
            if not np.isfinite(C).all():  # cannot happen within the limit; guard as the reference does
                C = np.where(np.isfinite(C), C, 2.0 * C[np.isfinite(C)].max())
            w1 = float(ot.emd2(wi / wi.sum(), wj / wj.sum(), C))
            vals.append(1.0 - w1 / d_i[j])
            dists.append(d_i[j])
        kappa[r], n_used[r], d_mean[r] = float(np.mean(vals)), len(vals), float(np.mean(dists))

    diag = {"kappa": kappa, "spread": spread, "m2": m2, "partners": n_used, "partner_distance": d_mean,
            "support": support}
    value = kappa if output == "kappa" else 2.0 * dim ** 2 * kappa / m2
    return Estimate(values=value, diagnostics=diag)
