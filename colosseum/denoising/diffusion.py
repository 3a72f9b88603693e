"""Diffusion smoothing of the coordinates, MAGIC-style: X <- P^t X with P the Markov matrix of an adaptive
Gaussian kernel on the kNN graph (van Dijk et al., "Recovering gene interactions from single-cell data
using data diffusion", Cell 174, 2018: bandwidth the distance to the ka-th neighbour, t a few steps).

Each step replaces a point by a kernel-weighted mean of its neighbours: noise normal to the manifold
averages out, and so does some of the curvature (a sphere shrinks toward its centroid by about the walk's
variance over twice the radius), which is what a sign estimator must survive.
"""
from __future__ import annotations

import numpy as np

from ..estimators.kernels import KernelSpec, build_graph_sparse


def diffusion_smoothing(points: np.ndarray, dim: int, *, knn: int, t: int, alpha: float) -> np.ndarray:
    P = build_graph_sparse(np.asarray(points, dtype=np.float64), KernelSpec(kind="adaptive", knn=knn, alpha=alpha)).P
    x = np.array(points, dtype=np.float64)
    for _ in range(t):
        x = P @ x
    return x
