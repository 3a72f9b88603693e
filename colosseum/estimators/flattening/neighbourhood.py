"""One evaluation point's neighbourhood, ready for flattening: its k nearest rows (centre first), the
points relative to the centre, their graph geodesics d_M (Dijkstra on the connected kNN graph of
colosseum.estimators.knn) and the unit of length of training (the radial q-quantile of d_M).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..knn import geodesic_distances


def neighbourhood_rows(points: np.ndarray, centre: int, size: int) -> np.ndarray:
    """The `size` nearest rows of `centre` (ambient distance), the centre first."""
    n = len(points)
    k = min(int(size), n)
    _, idx = cKDTree(points).query(points[centre], k=k)
    idx = np.atleast_1d(idx)
    idx = np.concatenate([[centre], idx[idx != centre]])[:k]
    return idx.astype(np.int64)


@dataclass(frozen=True)
class Neighbourhood:
    """One evaluation point's neighbourhood, ready for flattening.

    rows: rows of the cloud (centre first); X: (n, D) points minus the centre; dM: (n, n) graph
    geodesics; radial: dM[0]; scale: the q-quantile of radial (the unit of training).
    """

    rows: np.ndarray
    X: np.ndarray
    dM: np.ndarray
    scale: float

    @property
    def radial(self) -> np.ndarray:
        return self.dM[0]

    @property
    def n(self) -> int:
        return len(self.rows)


def make_neighbourhood(points: np.ndarray, centre: int, size: int, graph_knn: int = 30,
                       quantile: float = 0.9) -> Neighbourhood:
    points = np.asarray(points, dtype=np.float64)
    rows = neighbourhood_rows(points, centre, size)
    X = points[rows] - points[centre]
    dM = geodesic_distances(X, graph_knn)
    scale = float(np.quantile(dM[0, 1:], quantile))
    if not scale > 0:
        raise ValueError("the neighbourhood has no extent (duplicate points)")
    return Neighbourhood(rows=rows, X=X, dM=dM, scale=scale)
