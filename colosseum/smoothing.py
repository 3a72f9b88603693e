"""Denoising of results: estimates diffused over the cloud's kNN graph and read at the evaluation rows.

With `smooth_t = t > 0` the runner asks the method for every row within t hops of an evaluation row on the
symmetric kNN graph (`KNN` neighbours), then averages the finite estimates by t steps of the lazy random
walk on that graph (a row's value is the mean of its neighbours', itself included, weighted equally) and
reads the result at the evaluation rows. A t-step walk from an evaluation row never leaves its t-hop
neighbourhood, so evaluating that neighbourhood is exact. Abstentions (NaN, ±inf) are left out of every
average; a row whose whole neighbourhood abstains abstains. Methods registered with
`smoothable=False` (the neural flatteners: seconds per row) decline with SkipCell.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Neighbours per row of the smoothing graph.
KNN = 10


def neighbourhood(points: np.ndarray, eval_idx: np.ndarray, t: int, knn: int = KNN) -> tuple[np.ndarray, sp.csr_matrix]:
    """(rows within t hops of the evaluation rows, sorted; the graph's adjacency with self-loops)."""
    from .estimators.knn import knn_graph

    graph = knn_graph(points, min(knn, len(points) - 1))
    A = graph.lengths.copy()
    A.data[:] = 1.0
    A = (A + sp.identity(A.shape[0], format="csr")).tocsr()
    reach = np.zeros(A.shape[0], dtype=bool)
    reach[eval_idx] = True
    for _ in range(t):
        reach = (A @ reach.astype(np.float64)) > 0
    return np.flatnonzero(reach), A


def smooth(values: np.ndarray, rows: np.ndarray, A: sp.csr_matrix, eval_idx: np.ndarray, t: int) -> np.ndarray:
    """t random-walk averages of `values` (given at `rows`) over the graph, read at `eval_idx`."""
    sub = A[rows][:, rows].tocsr()
    P = sp.diags(1.0 / np.asarray(sub.sum(axis=1)).ravel()) @ sub
    ok = np.isfinite(values)
    v, w = np.where(ok, values, 0.0), ok.astype(np.float64)
    for _ in range(t):
        v, w = P @ v, P @ w
    at = np.searchsorted(rows, eval_idx)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w[at] > 0, v[at] / w[at], np.nan)
