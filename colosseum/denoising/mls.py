"""Moving least squares onto local quadrics: each point projected onto a quadratic surface fitted to its
weighted neighbourhood (Levin, "Mesh-independent surface interpolation", 2004; Alexa et al., "Computing
and rendering point set surfaces", IEEE TVCG 2003; for manifolds of any dimension and codimension, Sober &
Levin, "Manifold approximation by moving least-squares projection (MMLS)", Constructive Approximation 2020).

Per point x: its k nearest neighbours weighted by exp(-r^2 / h^2) with h the distance to the k-th of them;
the weighted PCA frame at their weighted mean (d tangent, D - d normal directions); every normal coordinate
fitted by weighted least squares as a polynomial of degree 2 in the tangent coordinates; x replaced by the
point of that surface above its own tangent coordinates. Unlike a plane, the quadric keeps the curvature
that sign estimators need. `iterations` repeats the projection on the projected cloud.
"""
from __future__ import annotations

import numpy as np

from .local_frames import neighbours, weighted_frames


def _design(t: np.ndarray) -> np.ndarray:
    """[1, t_i, t_i t_j (i <= j)] for tangent coordinates t (..., d)."""
    d = t.shape[-1]
    ii, jj = np.triu_indices(d)
    return np.concatenate([np.ones(t.shape[:-1] + (1,)), t, t[..., ii] * t[..., jj]], axis=-1)


def mls_projection(points: np.ndarray, dim: int, *, k: int, iterations: int, ridge: float = 1e-8) -> np.ndarray:
    data = np.array(points, dtype=np.float64)
    x = data.copy()
    for _ in range(iterations):
        dist, idx = neighbours(x, x, k)
        nb = x[idx]                                                   # (n, k, D)
        h = np.maximum(dist[:, -1:], 1e-300)
        w = np.exp(-(dist / h) ** 2)
        mean, vecs = weighted_frames(nb, w)
        T, N = vecs[:, :, :dim], vecs[:, :, dim:]                     # (n, D, d), (n, D, D - d)
        tn = np.einsum("nkD,nDd->nkd", nb - mean[:, None], T) / h[:, :, None]   # scaled tangent coords
        yn = np.einsum("nkD,nDc->nkc", nb - mean[:, None], N)
        X = _design(tn)                                               # (n, k, p)
        G = np.einsum("nk,nkp,nkq->npq", w, X, X) + ridge * np.eye(X.shape[-1])
        beta = np.linalg.solve(G, np.einsum("nk,nkp,nkc->npc", w, X, yn))   # (n, p, D - d)
        tx = np.einsum("nD,nDd->nd", x - mean, T) / h
        normal = np.einsum("np,npc->nc", _design(tx), beta)
        x = mean + np.einsum("nDd,nd->nD", T, tx * h) + np.einsum("nDc,nc->nD", N, normal)
    return x
