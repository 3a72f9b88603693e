"""Local-PCA tangent projection, iterated: each point moved onto the d-dimensional principal plane of its
k nearest neighbours (Little, Maggioni & Rosasco, "Multiscale geometric methods for data sets I:
multiscale SVD, noise and curvature", ACHA 43, 2017: the local SVD separates the d tangent directions from
the noise directions once the neighbourhood is larger than the noise and smaller than the curvature radius).

Each iteration recomputes every neighbourhood on the current cloud and projects all points at once.
A plane has no curvature, so the projection flattens what lies inside one neighbourhood: k trades noise
removal against that bias (k nearest points span about sqrt(k / N) of a unit patch in d = 2).
"""
from __future__ import annotations

import numpy as np

from .local_frames import neighbours, weighted_frames


def tangent_projection(points: np.ndarray, dim: int, *, k: int, iterations: int) -> np.ndarray:
    x = np.array(points, dtype=np.float64)
    for _ in range(iterations):
        _, idx = neighbours(x, x, k)
        nb = x[idx]
        mean, vecs = weighted_frames(nb, np.ones(idx.shape))
        V = vecs[:, :, :dim]                                         # (n, D, d) tangent frame
        x = mean + np.einsum("nDd,nEd,nE->nD", V, V, x - mean)
    return x
