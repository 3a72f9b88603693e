"""Batched local geometry shared by the denoisers: neighbour rows and weighted local PCA frames."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def neighbours(data: np.ndarray, at: np.ndarray, k: int, tree: cKDTree | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(distances, rows) of the k nearest rows of `data` to each row of `at` (itself included when in data)."""
    tree = tree or cKDTree(data)
    d, idx = tree.query(at, k=min(k, len(data)))
    return np.atleast_2d(d), np.atleast_2d(idx)


def weighted_frames(nbrs: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weighted means (n, D), eigenvectors (n, D, D) of the weighted covariances, columns by decreasing
    eigenvalue) of neighbourhoods nbrs (n, k, D) with weights (n, k)."""
    w = weights / weights.sum(axis=1, keepdims=True)
    mean = np.einsum("nk,nkD->nD", w, nbrs)
    c = nbrs - mean[:, None, :]
    cov = np.einsum("nk,nkD,nkE->nDE", w, c, c)
    _, vecs = np.linalg.eigh(cov)
    return mean, vecs[:, :, ::-1]
