"""Flattening-quality figures of a flattened neighbourhood Z (NumPy; MMD in JAX, also used as a loss).

`radial_distortion` (mean relative error of |z_j - z_0| against d_M), `knn_overlap` (mean fraction of
shared k nearest neighbours), `mmd2` (unbiased MMD^2, multi-scale Gaussian kernel), `flatness` (MMD^2
to a uniform d-ball after the radial-quantile scaling) and `radial_w1` (W1 between the radial
distributions after the same scaling; defined for any sample, also one with no point-to-point
correspondence such as a uniform ball).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy.spatial import cKDTree

from ..balls import uniform_ball
from .neighbourhood import Neighbourhood

#: Bandwidths (sigma, unit-ball scale) of the multi-scale Gaussian MMD kernel sum_i exp(-d^2 / 2 sigma_i^2).
MMD_BANDWIDTHS = (0.05, 0.1, 0.2, 0.4, 0.8)


def radial_distortion(Z: np.ndarray, radial: np.ndarray) -> float:
    """Mean over j != 0 of | |Z_j - Z_0| - radial_j | / radial_j (row 0 is the centre)."""
    Z, radial = np.asarray(Z, dtype=np.float64), np.asarray(radial, dtype=np.float64)
    r = np.linalg.norm(Z[1:] - Z[0], axis=1)
    ok = radial[1:] > 0
    return float(np.mean(np.abs(r[ok] - radial[1:][ok]) / radial[1:][ok]))


def _knn_sets(A: np.ndarray, k: int) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 2 and A.shape[0] == A.shape[1] and np.allclose(np.diag(A), 0) and np.allclose(A, A.T):
        D = A.copy()  # a distance matrix
        np.fill_diagonal(D, np.inf)
        return np.argsort(D, axis=1, kind="stable")[:, :k]
    _, idx = cKDTree(A).query(A, k=k + 1)
    return idx[:, 1:]


def knn_overlap(A: np.ndarray, B: np.ndarray, k: int = 10) -> float:
    """Mean over points of |kNN_A(i) & kNN_B(i)| / k. A and B are point arrays (rows in
    correspondence, any dimensions) or square distance matrices."""
    a, b = _knn_sets(A, k), _knn_sets(B, k)
    return float(np.mean([len(np.intersect1d(x, y)) / k for x, y in zip(a, b)]))


def sqdist(x: jax.Array, y: jax.Array) -> jax.Array:
    """Squared Euclidean distances between the rows of x and y (jnp, clipped at 0)."""
    return jnp.maximum(jnp.sum(x * x, 1)[:, None] + jnp.sum(y * y, 1)[None, :] - 2 * x @ y.T, 0.0)


def mmd2_jax(x: jax.Array, y: jax.Array, bandwidths: tuple[float, ...] = MMD_BANDWIDTHS) -> jax.Array:
    """Unbiased MMD^2 with the kernel sum_i exp(-|a - b|^2 / (2 sigma_i^2))."""
    def k(a, b):
        d2 = sqdist(a, b)
        return sum(jnp.exp(-d2 / (2.0 * s * s)) for s in bandwidths)
    n, m = x.shape[0], y.shape[0]
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    nb = len(bandwidths)
    return ((jnp.sum(kxx) - n * nb) / (n * (n - 1)) + (jnp.sum(kyy) - m * nb) / (m * (m - 1))
            - 2.0 * jnp.mean(kxy))


def mmd2(X: np.ndarray, Y: np.ndarray, bandwidths: tuple[float, ...] = MMD_BANDWIDTHS) -> float:
    """Unbiased estimate of MMD^2 between samples X and Y (may be slightly negative when equal in law)."""
    return float(mmd2_jax(jnp.asarray(X, jnp.float32), jnp.asarray(Y, jnp.float32), tuple(bandwidths)))


def unit_scale(Z: np.ndarray, quantile: float = 0.9) -> np.ndarray:
    """Z centred at row 0 and scaled so that its radial q-quantile is q^(1/d), that of the unit d-ball."""
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z[0]
    r = np.quantile(np.linalg.norm(Z[1:], axis=1), quantile)
    return Z * (quantile ** (1.0 / Z.shape[1]) / r)


def flatness(Z: np.ndarray, seed: int = 0, quantile: float = 0.9) -> float:
    """MMD^2 between Z (centred at row 0, radial-quantile scaled) and a uniform unit d-ball sample of
    the same size drawn from `seed`: about 0 for a uniform ball, larger the less uniform Z is."""
    U = uniform_ball(len(Z), Z.shape[1], np.random.default_rng([int(seed), 7]))
    return mmd2(unit_scale(Z, quantile), U)


def radial_w1(Z: np.ndarray, radial: np.ndarray, quantile: float = 0.9) -> float:
    """W1 distance between the distribution of |Z_j - Z_0| and that of the data's radial distances
    d_M(x_0, x_j), each divided by its own q-quantile (scale-free; no correspondence needed)."""
    from scipy.stats import wasserstein_distance

    Z = np.asarray(Z, dtype=np.float64)
    r = np.linalg.norm(Z[1:] - Z[0], axis=1)
    rd = np.asarray(radial, dtype=np.float64)[1:]
    return float(wasserstein_distance(r / np.quantile(r, quantile), rd / np.quantile(rd, quantile)))


def quality(Z: np.ndarray, nb: Neighbourhood, seed: int = 0, k: int = 10) -> dict[str, float]:
    """The flattening-quality figures of a flattened neighbourhood Z (rows in correspondence with nb)."""
    return {"radial_distortion": radial_distortion(Z, nb.radial),
            "knn_overlap": knn_overlap(nb.X, Z, k=min(k, nb.n - 1)),
            "mmd": flatness(Z, seed),
            "radial_w1": radial_w1(Z, nb.radial)}
