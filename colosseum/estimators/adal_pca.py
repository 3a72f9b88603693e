"""AdaL-PCA (Zhang, Mezrag, ..., Wolf, Rieck, arXiv 2502.03750, 2025): principal curvatures of a surface
from normal curvatures in an adaptively chosen neighbourhood, then S = 2 kappa_1 kappa_2.

Reference: LydiaMez/AdaL-PCA, `adlPCA.py` (no licence; read for the method, nothing copied). Surfaces
(d = 2) only: the method reads one normal direction. Per evaluation point x, with y - x the offsets of
the other points and every length in units of L (below):

1. Radius grid r_i = `radius_step` * i, i = 1 .. `n_radii` (the authors: 0.01 .. 1.49). At each r, the
   Gaussian-weighted second-moment matrix G(r) = sum_{|y - x| <= r} exp(-|y - x|^2 / r) (y - x)(y - x)^T
   (not mean-centred: the offsets from x, as the reference's SVD of the weighted offsets), its singular
   values s_1 >= s_2 >= ... (the square roots of G's eigenvalues) and the ratio (s_1 + s_2) / sum_k s_k:
   near 1 while the ball looks flat, falling as it bends. (The reference's kernel divides |y - x|^2 by
   the radius itself, not its square; kept.)
2. eps = the grid radius whose ratio is closest to `target_ratio` (0.85); tau = the radius of the
   smallest ratio (first on ties, both).
3. The frame: the top three eigenvectors of G(eps). In R^3 the normal n is their third (the cross
   product of the first two, up to sign); for codimension > 1 (D > 3) the three span the ambient R^3 the
   method works in, offsets are projected onto it and n is again the third.
4. For every tau-neighbour (0 < |y - x| <= tau) the normal curvature c = 2 <n, t> / |t|^2, t the
   (projected) offset: exact 1/R for every point of a sphere of radius R.
5. kappa_1, kappa_2 = means of the largest and smallest `principal_fraction` (30 %) of the c, weighted by
   exp(-|y - x|^2 / (2 eps)) (the square root of step 1's kernel, as the reference); S = 2 kappa_1 kappa_2.
   The sign of n is arbitrary: flipping it maps (kappa_1, kappa_2) to (-kappa_2, -kappa_1), so S is
   invariant.

Units (a choice of this port): the authors' grid is absolute (0.01 .. 1.49 in the data's units), tuned on
unit-sized clouds (unit sphere; their torus R = 1, r = 0.375), and on a cloud scaled by 10 it would
read every ball as a tiny flat disc. Here lengths are in units of L, the cloud's radius of gyration
(root-mean-square distance of the points to their centroid), as the other local methods of this
project (quadratic_fit, ball_volume) do: L is exactly 1 on the unit sphere, so the authors' numbers carry
over as they are, and L, unlike a k-NN distance, does not depend on the sampling density, so the grid
keeps covering the same share of the shape at any n. The estimate is then equivariant: scaling the cloud
by lam scales eps and tau by lam and S by 1/lam^2; rotations and translations change nothing.

Departures from the reference code, all bugs: `epsilon_and_tau` passes the float radius as `n_neighbors`
to `kneighbors` (current scikit-learn rejects it; a radius query is meant and used here); it returns
0.01 * argmin, one grid step below the radius whose ratio it picked (and tau = 0, an empty neighbourhood,
when the first radius wins); here the radius itself is used.

Diagnostics: `pca_radius` (eps), `radius` (tau), `n_ball` (tau-neighbours). A point abstains (NaN) when
fewer than 1 / principal_fraction points lie in its tau-ball (no principal mean can be formed).
"""
from __future__ import annotations

import numpy as np

from ..contract import Estimate


def rms_radius(points: np.ndarray) -> float:
    """The cloud's radius of gyration: root-mean-square distance of the points to their centroid."""
    return float(np.sqrt(np.mean(np.sum((points - points.mean(axis=0)) ** 2, axis=1))))


def ratio_profile(offsets: np.ndarray, dist: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ratios (R,), second-moment matrices (R, D, D)) of the Gaussian-weighted offsets on the radius grid."""
    w = np.where(dist[None, :] <= radii[:, None], np.exp(-dist[None, :] ** 2 / radii[:, None]), 0.0)
    outer = (offsets[:, :, None] * offsets[:, None, :]).reshape(len(offsets), -1)
    big_d = offsets.shape[1]
    gram = (w @ outer).reshape(len(radii), big_d, big_d)
    s = np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0.0, None))[:, ::-1]
    total = s.sum(axis=1)
    ratio = np.divide(s[:, 0] + s[:, 1], total, out=np.ones_like(total), where=total > 0)
    return ratio, gram


def principal_means(curv: np.ndarray, weights: np.ndarray, fraction: float) -> tuple[float, float]:
    """Weighted means of the largest and of the smallest `fraction` of the normal curvatures."""
    m = int(fraction * len(curv))
    if m < 1:
        return float("nan"), float("nan")
    order = np.argsort(curv, kind="stable")
    top, bottom = order[-m:], order[:m]
    k1 = float(np.sum(weights[top] * curv[top]) / np.sum(weights[top]))
    k2 = float(np.sum(weights[bottom] * curv[bottom]) / np.sum(weights[bottom]))
    return k1, k2


def curvature_at_point(offsets: np.ndarray, radii: np.ndarray, *, target_ratio: float,
                       principal_fraction: float) -> tuple[float, float, float, int]:
    """(S, eps, tau, tau-neighbours) at the point whose offsets y - x (in units of L) are given."""
    dist = np.linalg.norm(offsets, axis=1)
    near = dist <= radii[-1]
    offsets, dist = offsets[near], dist[near]
    ratio, gram = ratio_profile(offsets, dist, radii)
    i_eps = int(np.argmin(np.abs(ratio - target_ratio)))
    i_tau = int(np.argmin(ratio))
    eps, tau = float(radii[i_eps]), float(radii[i_tau])
    _, vecs = np.linalg.eigh(gram[i_eps])
    frame = vecs[:, ::-1][:, :3]                      # top three directions: the ambient R^3
    ball = (dist > 0) & (dist <= tau)
    t = offsets[ball] @ frame
    sq = np.sum(t ** 2, axis=1)
    keep = sq > 0
    t, sq, d_ball = t[keep], sq[keep], dist[ball][keep]
    curv = 2.0 * t[:, 2] / sq
    k1, k2 = principal_means(curv, np.exp(-d_ball ** 2 / (2.0 * eps)), principal_fraction)
    return 2.0 * k1 * k2, eps, tau, int(len(curv))


def adal_pca_curvature(points: np.ndarray, eval_idx: np.ndarray, *, target_ratio: float, radius_step: float,
                       n_radii: int, principal_fraction: float) -> Estimate:
    """AdaL-PCA scalar curvature of a surface at `eval_idx` (see the module docstring)."""
    pts = np.asarray(points, dtype=np.float64)
    scale = rms_radius(pts)
    m = len(eval_idx)
    S, eps, tau = np.full(m, np.nan), np.full(m, np.nan), np.full(m, np.nan)
    n_ball = np.zeros(m, dtype=np.int64)
    if not scale > 0:
        return Estimate(values=S, diagnostics={"pca_radius": eps, "radius": tau, "n_ball": n_ball})
    radii = radius_step * np.arange(1, n_radii + 1)
    for a, row in enumerate(eval_idx):
        s, e, t, n = curvature_at_point((pts - pts[row]) / scale, radii, target_ratio=target_ratio,
                                        principal_fraction=principal_fraction)
        S[a], eps[a], tau[a], n_ball[a] = s / scale ** 2, e * scale, t * scale, n
    return Estimate(values=S, diagnostics={"pca_radius": eps, "radius": tau, "n_ball": n_ball})
