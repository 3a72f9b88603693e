"""Second-fundamental-form regression with data-chosen neighbourhoods (kappakit's `SFFRegressor`,
`regress_sff_auto`; Wang, Kiani & Weber), then the Gauss equation.

Reference: Weber-GeoML/kappakit 0.1.0 (MIT), `kappakit/estimation/regression/regression.py`; the method
follows Cao et al. 2020 and Sritharan et al. 2021. Written afresh and vectorised; no code is copied.
Per evaluation point x, with the cloud's points sorted by distance to x (x itself first) and
n_min = max(`min_points`, D) (kappakit: max(30, D)):

1. Tangent frame. For every neighbourhood size m = n_min + 1 .. N (the m nearest points; kappakit grows
   an IncrementalPCA one point at a time from n_min and never scores n_min itself), the covariance of
   those points (divided by m - 1, as scikit-learn's `explained_variance_`) and its eigengap
   lambda_d - lambda_(d+1) (1-based, decreasing). The frame is the PCA of the size with the largest gap
   (the first on ties): its mean mu and its eigenvectors, the first d tangent, the other D - d normal
   (all of them, trivial ones included, as kappakit).
2. Coordinates of every sorted point in that frame, centred at mu (not at x): t (d), y (D - d).
3. Regression of each normal coordinate on [1, t_i t_j (i <= j)]: an intercept, no linear terms.
   Size: for every m = n_min + 1 .. N the running R^2 that kappakit's recursive least squares reports,
   R^2(m) = 1 - SSE(m) / SST(m) per normal coordinate, averaged over them, with SST(m) the sum of squares
   of y about its mean over the first m points and SSE(m) = the in-sample residual sum of squares of
   the fit on the first n_min points plus, for each later point j <= m, its residual under the fit on
   the first j points (the point included: the "post-update" prediction). The fit of the size with the
   largest R^2 (first on ties) is kept.
4. Hessians H^alpha_ii = 2 beta_ii, H^alpha_ij = beta_ij (i < j), and the Gauss equation
   S = sum_alpha [(tr H^alpha)^2 - |H^alpha|_F^2].

Deliberate departures from kappakit 0.1.0:
- The gap. kappakit keeps the size that maximises `explained_variance_[d] - explained_variance_[d-1]`,
  which is lambda_(d+1) - lambda_d, minus the gap: the neighbourhood whose top d directions stand out
  least. As the gap grows with the neighbourhood that is mostly the smallest size scanned (31 points; a
  median of 31-35 on the four clouds of the fixture), but on a nearly round closed shape, where the whole
  cloud has lambda_d ~ lambda_(d+1), it is sometimes the whole cloud: up to 950 of the fixture sphere's 1000
  points; on another 1000-point unit sphere 977-1000 points at three of three points tried, with S 3.4-5.0
  (truth 2). Here the gap itself is maximised, as the method is specified for this project. On a unit
  sphere that is the hemisphere around x, whose PCA frame is exactly the tangent plane; on a bounded patch
  and on the torus it is the whole cloud, a global frame: on a quadric graph the fit then reads the centre's
  Hessians at every point (the right sign there, the wrong size off the centre), on the torus a frame
  unrelated to the tangent plane (Pearson -0.77 with the truth on the fixture's torus; kappakit as released
  0.64). `gap="relative"` maximises (lambda_d - lambda_(d+1)) / lambda_d instead, which is scale-free and
  stays local: the smallest size on clean data, as kappakit in practice, growing with noise until the
  tangent variance dominates it, and never the whole of a round shape (0.98 on the fixture's torus).
- Exact least squares on the d(d+1)/2 distinct products instead of recursive least squares on all d^2
  products started from P = 1e6 I (a ridge of 1e-6 on every coefficient, the intercept included, in
  the data's units): the fitted values are the same up to that ridge, and without it the estimate is
  exactly equivariant under scaling.
- kappakit scores a normal coordinate whose SST is at most 1e-12 (absolute) as R^2 = 1 when its SSE is
  also at most 1e-12, else 0; here both are compared with 1e-12 times the total variance of the same
  points, the same test made scale-free (it only matters for exactly flat normal directions).
- Ties in distance are broken by row order (a stable sort); kappakit's quicksort breaks them arbitrarily.
bench/bench_sff.py runs kappakit itself with its PCA size pinned to ours and tests/test_sff_regressor.py
compares the two.

Units: S is in 1/length^2 of the data; rotations, translations and scalings act exactly (no length
parameter). Cost per evaluation point: a sort, N covariance updates and eigendecompositions of D x D
matrices (O(N D^3)) and N solves of (1 + d(d+1)/2)-square systems, all vectorised; memory O(N D^2) in
blocks. Diagnostics: `n_pca` (points in the PCA neighbourhood), `n_ball` (points in the regression),
`radius` (distance of the farthest regression point), `r2` (the running R^2 of that size). A point
abstains (NaN) when the cloud has fewer than n_min + 1 points.
"""
from __future__ import annotations

import numpy as np

from ..contract import Estimate
from .quadratic_fit import quadratic_design

#: Rows of D x D outer products held at once when scanning the covariance of growing neighbourhoods.
BLOCK_ENTRIES = 4_000_000
#: A normal coordinate whose sum of squares is below this fraction of the neighbourhood's total is flat.
FLAT_NORMAL = 1e-12


def eigengaps(sorted_offsets: np.ndarray, dim: int, n_min: int, relative: bool = False) -> np.ndarray:
    """lambda_d - lambda_(d+1) of the covariance of the first m rows (divided by lambda_d when `relative`), for
    m = n_min + 1 .. N (index m - n_min - 1)."""
    n, big_d = sorted_offsets.shape
    block = max(1, BLOCK_ENTRIES // (big_d * big_d))
    s1, s2 = np.zeros(big_d), np.zeros((big_d, big_d))
    gaps = []
    for a in range(0, n, block):
        x = sorted_offsets[a:a + block]
        c1 = s1 + np.cumsum(x, axis=0)
        c2 = s2 + np.cumsum(x[:, :, None] * x[:, None, :], axis=0)
        s1, s2 = c1[-1], c2[-1]
        m = np.arange(a + 1, a + len(x) + 1, dtype=np.float64)
        sel = m > n_min
        if not sel.any():
            continue
        m, c1, c2 = m[sel], c1[sel], c2[sel]
        cov = (c2 - c1[:, :, None] * c1[:, None, :] / m[:, None, None]) / (m - 1)[:, None, None]
        lam = np.linalg.eigvalsh(cov)[:, ::-1]
        gap = lam[:, dim - 1] - lam[:, dim]
        if relative:
            gap = np.divide(gap, lam[:, dim - 1], out=np.zeros_like(gap), where=lam[:, dim - 1] > 0)
        gaps.append(gap)
    return np.concatenate(gaps) if gaps else np.zeros(0)


def pca_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, eigenvectors as columns by decreasing variance) of `points`."""
    mu = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - mu, full_matrices=False)
    if vt.shape[0] < points.shape[1]:                    # fewer points than dimensions: complete the basis
        q, _ = np.linalg.qr(np.concatenate([vt.T, np.eye(points.shape[1])], axis=1))
        vt = q.T
    return mu, vt.T


def running_r2(X: np.ndarray, y: np.ndarray, n_min: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(SSE(m), SST(m), coefficients beta(m)) for m = n_min + 1 .. N, shapes (N - n_min, c) and
    (N - n_min, p, c): the terms of kappakit's running R^2 (module docstring, step 3)."""
    n, p = X.shape
    A = np.cumsum(X[:, :, None] * X[:, None, :], axis=0)[n_min - 1:]          # m = n_min .. N
    b = np.cumsum(X[:, :, None] * y[:, None, :], axis=0)[n_min - 1:]
    try:
        beta = np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        beta = np.linalg.pinv(A) @ b
    sse0 = np.sum((y[:n_min] - X[:n_min] @ beta[0]) ** 2, axis=0)            # in-sample, first n_min rows
    resid = y[n_min:] - np.einsum("jp,jpc->jc", X[n_min:], beta[1:])          # row j under the fit on rows <= j
    sse = sse0 + np.cumsum(resid ** 2, axis=0)
    m = np.arange(n_min + 1, n + 1, dtype=np.float64)[:, None]
    sy = np.cumsum(y, axis=0)[n_min:]
    sst = np.cumsum(y ** 2, axis=0)[n_min:] - sy ** 2 / m
    return sse, sst, beta[1:]


def r2_profile(sse: np.ndarray, sst: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Mean over normal coordinates of 1 - SSE / SST; a flat coordinate (SST <= FLAT_NORMAL * total) scores
    1 when its SSE is also below that, else 0 (kappakit's rule, made scale-free)."""
    tol = FLAT_NORMAL * total[:, None]
    flat = sst <= tol
    r2 = np.where(flat, np.where(sse <= tol, 1.0, 0.0), 1.0 - sse / np.where(flat, 1.0, sst))
    return r2.mean(axis=1)


def scalar_from_hessians(H: np.ndarray) -> float:
    """Gauss equation S = sum_alpha [(tr H^alpha)^2 - |H^alpha|_F^2] for Hessians H (c, d, d)."""
    tr = np.trace(H, axis1=1, axis2=2)
    return float(np.sum(tr ** 2) - np.sum(H ** 2))


def hessians(beta_quad: np.ndarray, dim: int) -> np.ndarray:
    """(c, d, d) Hessians from the coefficients of t_i t_j (i <= j), rows in np.triu_indices order."""
    ii, jj = np.triu_indices(dim)
    c = beta_quad.shape[1]
    H = np.zeros((c, dim, dim))
    coef = np.where((ii == jj)[:, None], 2.0 * beta_quad, beta_quad)          # (p - 1, c)
    H[:, ii, jj] = coef.T
    H[:, jj, ii] = coef.T
    return H


def curvature_at_point(sorted_offsets: np.ndarray, dim: int, n_min: int,
                       relative_gap: bool = False) -> tuple[float, int, int, float]:
    """(S, PCA size, regression size, R^2) from the offsets of the points to x, sorted by distance."""
    gaps = eigengaps(sorted_offsets, dim, n_min, relative_gap)
    m_pca = n_min + 1 + int(np.argmax(gaps))
    mu, vecs = pca_frame(sorted_offsets[:m_pca])
    coords = (sorted_offsets - mu) @ vecs
    t, y = coords[:, :dim], coords[:, dim:]
    X, _, _ = quadratic_design(t)
    sse, sst, beta = running_r2(X, y, n_min)
    total = np.cumsum(np.sum(coords ** 2, axis=1))[n_min:] \
        - np.sum(np.cumsum(coords, axis=0)[n_min:] ** 2, axis=1) / np.arange(n_min + 1, len(coords) + 1)
    r2 = r2_profile(sse, sst, total)
    best = int(np.argmax(r2))
    return scalar_from_hessians(hessians(beta[best][1:], dim)), m_pca, n_min + 1 + best, float(r2[best])


def sff_regression_curvature(points: np.ndarray, eval_idx: np.ndarray, dim: int, *, min_points: int,
                             gap: str = "absolute") -> Estimate:
    """kappakit's SFF regression at `eval_idx` (see the module docstring)."""
    pts = np.asarray(points, dtype=np.float64)
    n, big_d = pts.shape
    n_min = max(int(min_points), big_d)
    m = len(eval_idx)
    S, radius, r2 = np.full(m, np.nan), np.full(m, np.nan), np.full(m, np.nan)
    n_pca, n_ball = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    diagnostics = {"n_pca": n_pca, "n_ball": n_ball, "radius": radius, "r2": r2}
    if gap not in ("absolute", "relative"):
        raise ValueError(f"gap must be 'absolute' or 'relative', got {gap!r}")
    if n <= n_min:
        return Estimate(values=S, diagnostics=diagnostics)
    for a, row in enumerate(eval_idx):
        offsets = pts - pts[row]
        dist = np.linalg.norm(offsets, axis=1)
        order = np.argsort(dist, kind="stable")
        S[a], n_pca[a], n_ball[a], r2[a] = curvature_at_point(offsets[order], dim, n_min, gap == "relative")
        radius[a] = dist[order[n_ball[a] - 1]]
    return Estimate(values=S, diagnostics=diagnostics)
