"""Subspace-constrained mean shift (Ozertem & Erdogmus, "Locally defined principal curves and surfaces",
JMLR 12, 2011): every point moved up the Gaussian kernel density of the noisy cloud, but only across the
manifold, until it sits on the density's d-dimensional ridge.

At a point y, with weights c_i = exp(-|x_i - y|^2 / (2 h^2)) over its k nearest data points, the mean-shift
vector is m = sum c_i x_i / sum c_i - y, and the (scaled) Hessian of the density is
H = sum c_i (u_i u_i^T / h^2 - I) with u_i = x_i - y. Its D - d most negative eigenvalues span the
directions across the ridge; the step is y <- y + V V^T m with V those eigenvectors. The data stay the
noisy cloud; iterations stop when the largest step falls below `tol` x h or after `max_iter`.
h = `bandwidth` x the median distance to the k_h-th nearest neighbour.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .local_frames import neighbours


def scms_projection(points: np.ndarray, dim: int, *, k: int, bandwidth: float, k_h: int, max_iter: int,
                    tol: float) -> np.ndarray:
    data = np.asarray(points, dtype=np.float64)
    tree = cKDTree(data)
    h = bandwidth * float(np.median(neighbours(data, data, k_h + 1, tree)[0][:, -1]))
    y = data.copy()
    D = data.shape[1]
    active = np.ones(len(y), dtype=bool)
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        if not rows.size:
            break
        _, idx = neighbours(data, y[rows], k, tree)
        u = data[idx] - y[rows, None, :]                                  # (n, k, D)
        c = np.exp(-np.sum(u * u, axis=2) / (2 * h * h))                  # (n, k)
        s = np.maximum(c.sum(axis=1, keepdims=True), 1e-300)
        m = np.einsum("nk,nkD->nD", c, u) / s
        H = np.einsum("nk,nkD,nkE->nDE", c, u, u) / (h * h) - s[:, :, None] * np.eye(D)
        _, vecs = np.linalg.eigh(H)                                       # ascending eigenvalues
        V = vecs[:, :, : D - dim]                                         # across the ridge
        step = np.einsum("nDc,nEc,nE->nD", V, V, m)
        y[rows] += step
        active[rows] = np.linalg.norm(step, axis=1) > tol * h
    return y
