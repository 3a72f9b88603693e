"""DC2's statistics (colosseum.estimators.dc2): entropy, Jensen-Shannon trajectory length, and their
chunked computation on rows of P^t. Small clouds, fast."""
from __future__ import annotations

import math

import numpy as np

from colosseum.estimators import dc2, kernels


def _cloud(n: int = 400, seed: int = 0) -> np.ndarray:
    """A curved 2-d sheet in R^3 (the graph of a saddle), uniform in its parameters."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, size=(n, 2))
    return np.column_stack([u, 0.5 * (u[:, 0] ** 2 - u[:, 1] ** 2)])


# ----------------------------------------------------------------------------- trajectory statistics

def test_trajectory_of_a_constant_uniform_distribution():
    n, k = 50, 20
    p = np.zeros(n)
    p[:k] = 1.0 / k
    H, d = dc2.trajectory(np.tile(p, (5, 3, 1)))  # (T=5, m=3, n)
    assert H.shape == d.shape == (5, 3)
    np.testing.assert_allclose(H, math.log(k), rtol=1e-6)
    np.testing.assert_allclose(d, 0.0, atol=1e-6)


def test_trajectory_length_adds_sqrt_js_steps():
    n = 8
    a, b = np.zeros(n), np.zeros(n)
    a[:4], b[4:] = 0.25, 0.25  # disjoint supports: JS = log 2
    c = np.full(n, 1.0 / n)     # JS(b, c) = log 2 - 3/4 log 3 + ... computed below
    rows = np.stack([a, b, c])[:, None, :]
    H, d = dc2.trajectory(rows)
    m = 0.5 * (b + c)
    kl = lambda p, q: np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / q), 0))  # noqa: E731
    js_bc = 0.5 * kl(b, m) + 0.5 * kl(c, m)
    np.testing.assert_allclose(d[:, 0], [0.0, math.sqrt(math.log(2)), math.sqrt(math.log(2)) + math.sqrt(js_bc)],
                               rtol=1e-5)
    np.testing.assert_allclose(H[:, 0], [math.log(4), math.log(4), math.log(8)], rtol=1e-6)


def test_entries_at_or_below_the_floor_are_dropped_before_the_entropy():
    p = np.array([0.5, 0.5 - 2e-6, 1e-6, 1e-6])
    np.testing.assert_allclose(float(dc2.entropy(p)), math.log(2), rtol=1e-6)


def _numpy_trajectory(rows_t: np.ndarray, floor: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Float64 reference: entropy after dropping entries <= floor, cumulative sqrt JS length."""
    q = np.where(rows_t > floor, rows_t, 0.0)
    q = q / q.sum(axis=-1, keepdims=True)
    logq = np.log(np.where(q > 0, q, 1.0))
    H = -np.sum(q * logq, axis=-1)
    a, b = q[1:], q[:-1]
    m = 0.5 * (a + b)
    logm = np.log(np.where(m > 0, m, 1.0))
    js = 0.5 * np.sum(a * (logq[1:] - logm), axis=-1) + 0.5 * np.sum(b * (logq[:-1] - logm), axis=-1)
    d = np.concatenate([np.zeros((1, q.shape[1])), np.cumsum(np.sqrt(np.maximum(js, 0)), axis=0)])
    return H, d


def test_trajectory_rows_match_a_float64_reference_in_chunks():
    g = kernels.build_graph(_cloud(200), kernels.KernelSpec(knn=15, tolerance=2))
    rows = np.array([3, 50, 199, 0])
    H0, d0 = _numpy_trajectory(np.stack([np.linalg.matrix_power(g.P, t)[rows] for t in range(1, 13)]))
    H1, d1 = dc2.trajectory_rows(g.P, rows, 12, max_elements=2 * 12 * 200)  # chunks of 2 rows
    assert H1.dtype == np.float64 and H1.shape == (12, 4)
    np.testing.assert_allclose(H1, H0, atol=2e-5)
    np.testing.assert_allclose(d1, d0, atol=2e-5)


