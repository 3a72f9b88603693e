"""Sritharan, Wang & Hormoz (PNAS 2021): local PCA, quadratic second fundamental form, Gauss equation.

Reference: hormoz-lab/ManifoldCurvature (MATLAB; `calibrate_at_point.m`, `fit_density_profile.m`,
`neighborhood_compute.m`, `quadfit.m`, `curvature_expression.m`, `CurvParams.m`). Written afresh
from the paper; no code is copied.

Per evaluation point x, with D the ambient dimension and d the intrinsic one:

1. N_min = max(C(d+1, 2), D) + 2 points are the least a regression may use; the first radius r0 is
   the distance to the `redundancy`·N_min-th nearest point (x itself counts as the first).
2. The density exponent k is the slope of log N(r) against log r on `n_radius_grid` log-spaced
   radii from r0 to the farthest point (the first and the two last grid radii are left out, as in
   the reference, to avoid the saturation at the cloud's extent).
3. The radius adapts to the target standard error of the second-fundamental-form coefficients:
   r <- r (se / se_target)^(2 / (k + 4)), at most `max_iter` times, stopping at
   |se / se_target - 1| < `se_tol`; a growing ball takes at least one new point, a shrinking one
   that would lose at most one point stops; the final radius is clipped to [r0, farthest point].
4. PCA of the ball (centred at its mean) gives d tangent coordinates t and the normal coordinates
   (the components whose variance relative to the first exceeds `trivial_var`; at least one).
5. Each normal coordinate is regressed on [1, t_i t_j (i <= j)] (no linear terms: the PCA frame
   is tangent); the Hessian is H_ii = 2 beta_ii, H_ij = beta_ij (i < j).
6. Gauss equation: S = sum_alpha [(tr H^alpha)^2 - |H^alpha|_F^2].
7. Error bar dS = sqrt(grad_beta S^T Cov_beta grad_beta S) with Cov_beta = Sigma (x) (X^T X)^-1
   (Sigma the maximum-likelihood residual covariance of the normal coordinates, as MATLAB's
   `mvregress`); se is the largest standard error of the Hessian-form coefficients (the
   off-diagonal ones halved, as in `quadfit.m`).

Units (a choice of this port): the reference's se_targ is in 1/length and its published values
were tuned on unit spheres. Here `se_target` is dimensionless: the target actually used is
se_target / L, with L the cloud's radius of gyration (root-mean-square distance of the points to
their centroid), which is exactly 1 on the unit sphere S^d the authors used. So the authors'
values carry over as they are, and the estimate is equivariant: scaling the cloud by lambda scales
every radius by lambda and S by 1/lambda^2; rotations and translations change nothing.
Default 0.05: the authors' value for noisy or high-dimensional spheres, and also their clean-S^2
value .017 carried from N = 1e4 to this benchmark's N ~ 1e3 (at a fixed radius se grows like
N^(-1/2): .017 * sqrt(10) = .054). On clean data se is tiny, so the ball shrinks to its floor
(2 N_min points) and single estimates scatter (unit S^2 cap: sign always right, |error| ~ 25%);
a smaller se_target (.017) gives 5-10% there but lets strongly curved saddles at N = 1000, d >= 3
grow their ball to the whole cloud.

Diagnostics: `radius` (final ball radius), `error_bar` (dS), `n_ball` (points in the ball).
A point abstains (NaN) when the cloud has fewer than `redundancy`·N_min points.
"""
from __future__ import annotations

import math

import numpy as np

from ..contract import Estimate


def quadratic_design(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Design matrix [1, t_i t_j (i <= j)] and the index pairs (i, j) of its quadratic columns."""
    d = t.shape[1]
    ii, jj = np.triu_indices(d)
    return np.concatenate([np.ones((len(t), 1)), t[:, ii] * t[:, jj]], axis=1), ii, jj


def fit_second_fundamental_form(ball: np.ndarray, dim: int, trivial_var: float) -> dict:
    """PCA frame and quadratic fit on one neighbourhood; S, its error bar and the coefficient se."""
    centred = ball - ball.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    var = sv ** 2
    keep = np.nonzero(var / var[0] > trivial_var)[0]
    n_top = max(int(keep[-1]) + 1 if keep.size else 0, dim + 1)
    coords = centred @ vt[:n_top].T
    t, y = coords[:, :dim], coords[:, dim:]
    X, ii, jj = quadratic_design(t)
    n = len(X)
    gram_inv = np.linalg.pinv(X.T @ X)
    beta = gram_inv @ (X.T @ y)                       # (p, c)
    resid = y - X @ beta
    sigma = resid.T @ resid / n                       # (c, c) maximum-likelihood residual covariance
    b = beta[1:]                                      # quadratic coefficients, rows follow (ii, jj)
    diag = ii == jj
    # S = sum_alpha 4 (sum_i b_ii)^2 - 4 sum_i b_ii^2 - 2 sum_{i<j} b_ij^2  (H_ii = 2 b_ii, H_ij = b_ij)
    tr = b[diag].sum(axis=0)                          # (c,)
    S = float(np.sum(4 * tr ** 2 - 4 * np.sum(b[diag] ** 2, axis=0) - 2 * np.sum(b[~diag] ** 2, axis=0)))
    grad = np.zeros_like(beta)                        # dS/dbeta, zero for the constant term
    grad[1:][diag] = 8 * (tr[None, :] - b[diag])
    grad[1:][~diag] = -4 * b[~diag]
    # Cov(beta_a, beta_b) = sigma_ab (X^T X)^-1  ->  dS^2 = sum_ab sigma_ab g_a^T M g_b
    dS2 = float(np.sum(sigma * (grad.T @ gram_inv @ grad)))
    half = np.where(diag, 1.0, 0.5)                   # the form's off-diagonal coefficient is b_ij / 2
    se = float(np.sqrt(np.max(np.abs(np.outer(np.diag(gram_inv)[1:] * half ** 2, np.diag(sigma))))))
    return {"S": S, "dS": math.sqrt(max(dS2, 0.0)), "se": se}


def density_exponent(dist_sorted: np.ndarray, start: int, n_grid: int) -> float:
    """Slope of log N(r) against log r on a log-spaced grid from dist_sorted[start] to the farthest point."""
    lo, hi = dist_sorted[start], dist_sorted[-1]
    if not (lo > 0 and hi > lo):
        return float("nan")
    radii = np.exp(np.linspace(np.log(lo), np.log(hi), n_grid))
    counts = np.searchsorted(dist_sorted, radii, side="right")
    sel = slice(1, n_grid - 2)
    slope = np.polyfit(np.log(radii[sel]), np.log(counts[sel]), 1)[0]
    return float(slope)


def curvature_at_point(dist_sorted: np.ndarray, order: np.ndarray, points: np.ndarray, dim: int,
                       se_abs: float, *, n_min: int, redundancy: float, max_iter: int, se_tol: float,
                       n_radius_grid: int, trivial_var: float) -> tuple[float, float, float, int]:
    n = len(dist_sorted)
    first = math.ceil(redundancy * n_min) - 1                # 0-based row of the redundancy*N_min-th point
    if first >= n:
        return (float("nan"),) * 3 + (0,)
    r0 = dist_sorted[first]
    k = density_exponent(dist_sorted, first, n_radius_grid)
    if not np.isfinite(k) or k <= 0:
        k = float(dim)                                         # degenerate profile: use the manifold's
    r = r0
    seen: set[int] = set()
    for _ in range(max_iter):
        if not r < dist_sorted[-1]:
            break
        n_ball = int(np.searchsorted(dist_sorted, r, side="right"))
        if n_ball < n_min or n_ball in seen:
            break
        fit = fit_second_fundamental_form(points[order[:n_ball]], dim, trivial_var)
        alpha = fit["se"] / se_abs
        if abs(alpha - 1) < se_tol or not np.isfinite(alpha):
            break
        r = r * alpha ** (2.0 / (k + 4.0))
        if alpha > 1:
            r = max(r, dist_sorted[min(n_ball, n - 1)])         # a growing ball takes at least one more point
        elif r > dist_sorted[max(n_ball - 2, 0)]:
            break                                               # shrinking would drop at most one point
        seen.add(n_ball)
    r = min(max(r, r0), dist_sorted[-1])
    n_ball = int(np.searchsorted(dist_sorted, r, side="right"))
    fit = fit_second_fundamental_form(points[order[:n_ball]], dim, trivial_var)
    return fit["S"], fit["dS"], float(r), n_ball


def quadratic_fit_curvature(points: np.ndarray, eval_idx: np.ndarray, dim: int, *, se_target: float,
                            max_iter: int, se_tol: float, redundancy: float, n_radius_grid: int,
                            trivial_var: float) -> Estimate:
    """Sritharan et al. at `eval_idx` (see the module docstring)."""
    pts = np.asarray(points, dtype=np.float64)
    big_d = pts.shape[1]
    n_min = max(math.comb(dim + 1, 2), big_d) + 2
    scale = float(np.sqrt(np.mean(np.sum((pts - pts.mean(axis=0)) ** 2, axis=1))))
    se_abs = se_target / scale if scale > 0 else float("nan")
    m = len(eval_idx)
    S, dS, radius = np.full(m, np.nan), np.full(m, np.nan), np.full(m, np.nan)
    n_ball = np.zeros(m, dtype=np.int64)
    for a, row in enumerate(eval_idx):
        dist = np.linalg.norm(pts - pts[row], axis=1)
        order = np.argsort(dist, kind="stable")
        S[a], dS[a], radius[a], n_ball[a] = curvature_at_point(
            dist[order], order, pts, dim, se_abs, n_min=n_min, redundancy=redundancy, max_iter=max_iter,
            se_tol=se_tol, n_radius_grid=n_radius_grid, trivial_var=trivial_var)
    return Estimate(values=S, diagnostics={"radius": radius, "error_bar": dS, "n_ball": n_ball})
