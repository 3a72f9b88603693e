"""The intrinsic dimension at an evaluation row: given, or estimated by local PCA at that row alone.

Used by the diffusion methods whose flat comparison space needs a dimension (`dim_source`). Estimating
at each row alone keeps a row's value independent of which other rows are evaluated.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def local_pca_dimension(points: np.ndarray, rows: np.ndarray, k: int = 50, threshold: float = 0.9) -> int:
    """Median over `rows` of the number of principal components explaining `threshold` of the
    variance of each row's k nearest neighbours (clipped to [1, D - 1])."""
    tree = cKDTree(points)
    _, idx = tree.query(points[rows], k=min(k + 1, len(points)))
    dims = []
    for nb in idx:
        x = points[nb] - points[nb].mean(axis=0)
        s = np.linalg.svd(x, compute_uv=False) ** 2
        dims.append(int(np.searchsorted(np.cumsum(s) / s.sum(), threshold) + 1))
    return max(1, min(int(np.median(dims)), points.shape[1] - 1))


def point_dimensions(points: np.ndarray, eval_idx: np.ndarray, dim: int, source: str = "given") -> np.ndarray:
    """The intrinsic dimension used at each evaluation row: `dim` ("given"), or a local-PCA estimate
    made at that row alone ("local_pca", `local_pca_dimension` on its 50 neighbours)."""
    eval_idx = np.asarray(eval_idx)
    if source == "given":
        return np.full(eval_idx.shape, int(dim), dtype=np.int64)
    if source == "local_pca":
        return np.array([local_pca_dimension(points, np.array([x])) for x in eval_idx], dtype=np.int64)
    raise ValueError(f"dim_source must be 'given' or 'local_pca', got {source!r}")
