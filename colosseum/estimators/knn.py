"""The one k-nearest-neighbour graph with Euclidean edge lengths, its shortest paths, and geodesics.

The graph is the symmetric union of the k-nearest-neighbour relations (i ~ j when j is among the k
nearest neighbours of i or i among those of j), stored as a CSR matrix whose entries are Euclidean
edge LENGTHS (never affinities: the old DC benchmark passed kernel affinities to ORC as lengths, which
inverts its geometry). It is Isomap's graph: Ollivier-Ricci and Forman-Ricci use its edges,
diffusion-ORC and Hickok-Blumberg its shortest paths, the neural flatteners its geodesics. Only the
rows a method needs are expanded (`rows`; Dijkstra from a few sources with a distance limit): nothing
here builds a dense n x n matrix unless asked for all distances.

The neighbour search is scipy's cKDTree, the shortest paths scipy's Dijkstra.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

#: Edges shorter than this fraction of the median k-NN length (duplicate points) are stored with that
#: length: a stored 0 would read as "no edge". Graph curvatures give such edges curvature 0, as
#: GraphRicciCurvature does when d(x, y) < 1e-7.
ZERO_LENGTH = 1e-9


@dataclass(frozen=True)
class KnnGraph:
    """Symmetric k-NN graph: `lengths` (CSR, Euclidean edge lengths), `k`, and `scale`, the median
    distance from a point to its k nearest neighbours (over the rows whose neighbours were looked up)."""

    lengths: sp.csr_matrix
    k: int
    scale: float

    @property
    def n(self) -> int:
        return self.lengths.shape[0]

    def neighbours(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        """(neighbour rows, edge lengths) of node u."""
        a, b = self.lengths.indptr[u], self.lengths.indptr[u + 1]
        return self.lengths.indices[a:b], self.lengths.data[a:b]

    def degree(self, u: int) -> int:
        return int(self.lengths.indptr[u + 1] - self.lengths.indptr[u])


def knn_graph(points: np.ndarray, k: int, rows: np.ndarray | None = None,
              tree: cKDTree | None = None) -> KnnGraph:
    """The symmetric (union) k-NN graph of `points` with Euclidean edge lengths.

    rows: the points whose k nearest neighbours are looked up (default all). A shortest path that stays
    within distance r of its source only visits points within r, so the rows near the sources suffice.
    tree: a cKDTree of `points` already built.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if not 1 <= k < n:
        raise ValueError(f"k-NN graph needs 1 <= k < n = {n}, got k = {k}")
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    dist, idx = (tree or cKDTree(points)).query(points[rows], k=k + 1)
    # drop each point itself; with duplicate points it need not come first, so remove it by index
    src = np.repeat(rows, k + 1)
    keep = idx.ravel() != src
    src, cols, d = src[keep], idx.ravel()[keep], dist.ravel()[keep]
    # a point with k or more duplicates keeps k + 1 others; trim to exactly k per row (nearest first)
    counts = np.bincount(np.repeat(np.arange(len(rows)), k + 1)[keep], minlength=len(rows))
    if (counts > k).any():
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.arange(len(src)) - np.repeat(first, counts)
        src, cols, d = src[rank < k], cols[rank < k], d[rank < k]
    scale = float(np.median(d))
    if scale <= 0:
        raise ValueError("more than half of all k-NN distances are 0 (duplicate points): no length scale")
    d = np.maximum(d, ZERO_LENGTH * scale)
    A = sp.coo_matrix((d, (src, cols)), shape=(n, n)).tocsr()
    A = A.maximum(A.T).tocsr()  # union of the two directions; lengths are symmetric anyway
    A.sort_indices()
    return KnnGraph(lengths=A, k=int(k), scale=scale)


def shortest_paths(graph: KnnGraph, sources: np.ndarray | None = None, limit: float = np.inf) -> np.ndarray:
    """Graph distances from `sources` (default all nodes) to every node, shape (len(sources), n); exact up
    to `limit`, inf beyond (Dijkstra stops there). The graph is symmetric, so it is searched as directed."""
    return dijkstra(graph.lengths, directed=True, indices=None if sources is None else np.asarray(sources),
                    limit=limit)


def connected_knn_graph(points: np.ndarray, k: int) -> KnnGraph:
    """`knn_graph` with k (clipped to [1, n - 1]) doubled until the graph is connected (at worst the
    complete graph), so that every geodesic distance is finite."""
    n = len(points)
    k = max(1, min(int(k), n - 1))
    tree = cKDTree(np.asarray(points, dtype=np.float64))
    while True:
        graph = knn_graph(points, k, tree=tree)
        if k >= n - 1 or connected_components(graph.lengths, directed=False)[0] == 1:
            return graph
        k = min(2 * k, n - 1)


def geodesic_distances(points: np.ndarray, k: int = 30, sources: np.ndarray | None = None) -> np.ndarray:
    """Graph-geodesic distances: rows `sources` (default all) of the Dijkstra distances on the connected
    symmetrised kNN graph (`connected_knn_graph`), all finite."""
    return shortest_paths(connected_knn_graph(points, k), sources)
