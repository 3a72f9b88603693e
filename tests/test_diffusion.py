"""Building blocks of the diffusion-curvature family (colosseum.diffusion): kernels, P, rows of P^t,
trajectory statistics, tuning, comparison spaces and the per-point helpers. Small clouds, fast."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from colosseum import diffusion as dfn
from colosseum.sampling import random_rotation

SPECS = [
    dfn.KernelSpec(kind="agnostic", knn=20, tolerance=2),
    dfn.KernelSpec(kind="agnostic", knn=20, tolerance=2, alpha=1.0),
    dfn.KernelSpec(kind="fixed", knn=20, nu=2.5, alpha=0.5),
    dfn.KernelSpec(kind="adaptive", knn=8, alpha=1.0),
]
SPEC_IDS = ["agnostic", "agnostic-a1", "fixed", "adaptive"]


def _cloud(n: int = 400, seed: int = 0) -> np.ndarray:
    """A curved 2-d sheet in R^3 (the graph of a saddle), uniform in its parameters."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, size=(n, 2))
    return np.column_stack([u, 0.5 * (u[:, 0] ** 2 - u[:, 1] ** 2)])


def _dense(P) -> np.ndarray:
    return P.toarray() if sp.issparse(P) else np.asarray(P)


# ----------------------------------------------------------------------------- P and its powers

@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_rows_of_P_sum_to_one_and_are_nonnegative(spec):
    P = _dense(dfn.build_graph(_cloud(), spec).P)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert (P >= 0).all()
    assert (np.diag(P) > 0).all()  # self-loops are kept


@pytest.mark.parametrize("sparse", [False, True], ids=["dense-path", "sparse-path"])
def test_power_rows_equal_rows_of_the_dense_matrix_power(sparse):
    P = _dense(dfn.build_graph(_cloud(150), dfn.KernelSpec(knn=15, tolerance=2)).P)
    rows = np.array([0, 7, 149, 7])  # repeated rows are fine
    got = dfn.power_rows(sp.csr_matrix(P) if sparse else P, rows, 6)
    assert got.shape == (6, len(rows), len(P))
    for t in range(1, 7):
        want = np.linalg.matrix_power(P, t)[rows]
        # the dense path runs in JAX's default float32; the sparse path in float64
        np.testing.assert_allclose(got[t - 1], want, rtol=0, atol=1e-6 if not sparse else 1e-13)


def test_the_sparse_path_is_used_above_dense_max():
    small = dfn.build_graph(_cloud(200), dfn.KernelSpec(knn=15, tolerance=2))
    assert isinstance(small.P, np.ndarray)
    big = dfn.build_graph(_cloud(dfn.DENSE_MAX + 1), dfn.KernelSpec(knn=10, tolerance=2))
    assert sp.issparse(big.P)


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_build_graph_sparse_equals_build_graph(spec):
    pts = _cloud(500, seed=3)
    a, b = dfn.build_graph(pts, spec), dfn.build_graph_sparse(pts, spec)
    assert sp.issparse(b.P)
    np.testing.assert_allclose(b.P.toarray(), _dense(a.P), rtol=0, atol=1e-14)
    assert (a.nu == b.nu) or (math.isnan(a.nu) and math.isnan(b.nu))
    assert a.sigma == pytest.approx(b.sigma, rel=1e-15)
    if spec.kind == "agnostic":  # a given nu is reused, not re-tuned
        assert dfn.build_graph_sparse(pts, spec, nu=1.7).nu == 1.7


# ----------------------------------------------------------------------------- tuning

@pytest.mark.parametrize("knn,tol", [(12, 2), (40, 3), (120, 5)])
def test_tune_nu_hits_the_target_median_support(knn, tol):
    pts = _cloud(1500, seed=knn)
    spec = dfn.KernelSpec(knn=knn, tolerance=tol)
    nu = dfn.tune_nu(pts, spec)
    P = _dense(dfn.build_graph(pts, spec, nu=nu).P)
    support = (P > 0).sum(axis=1)  # kernel entries >= cutoff, self included
    assert abs(np.median(support) - knn) <= tol
    assert dfn.tune_nu_fast(pts, spec) == nu  # the fast tuner returns exactly the same nu


def test_tune_nu_fast_equals_tune_nu_on_varied_clouds():
    rng = np.random.default_rng(7)
    clouds = [_cloud(300, 1), rng.standard_normal((800, 3)), rng.uniform(size=(600, 4)),
              np.concatenate([rng.standard_normal((400, 2)) * 0.1, rng.standard_normal((50, 2)) * 5])]
    for pts in clouds:
        for knn, tol in [(5, 1), (30, 3), (90, 5)]:
            spec = dfn.KernelSpec(knn=knn, tolerance=tol)
            assert dfn.tune_nu_fast(pts, spec) == dfn.tune_nu(pts, spec)


# ----------------------------------------------------------------------------- scale-free kernels

@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@pytest.mark.parametrize("builder", [dfn.build_graph, dfn.build_graph_sparse], ids=["build_graph", "sparse"])
def test_P_is_invariant_under_rotation_translation_and_scaling(spec, builder):
    pts = _cloud(300, seed=5)
    rng = np.random.default_rng(11)
    moved = 7.3 * pts @ random_rotation(3, rng).T + rng.uniform(-50, 50, size=3)
    a, b = builder(pts, spec), builder(moved, spec)
    np.testing.assert_allclose(_dense(b.P), _dense(a.P), rtol=0, atol=1e-9)
    assert (a.nu == b.nu) or (math.isnan(a.nu) and math.isnan(b.nu))


# ----------------------------------------------------------------------------- trajectory statistics

def test_trajectory_of_a_constant_uniform_distribution():
    n, k = 50, 20
    p = np.zeros(n)
    p[:k] = 1.0 / k
    H, d = dfn.trajectory(np.tile(p, (5, 3, 1)))  # (T=5, m=3, n)
    assert H.shape == d.shape == (5, 3)
    np.testing.assert_allclose(H, math.log(k), rtol=1e-6)
    np.testing.assert_allclose(d, 0.0, atol=1e-6)


def test_trajectory_length_adds_sqrt_js_steps():
    n = 8
    a, b = np.zeros(n), np.zeros(n)
    a[:4], b[4:] = 0.25, 0.25  # disjoint supports: JS = log 2
    c = np.full(n, 1.0 / n)     # JS(b, c) = log 2 - 3/4 log 3 + ... computed below
    rows = np.stack([a, b, c])[:, None, :]
    H, d = dfn.trajectory(rows)
    m = 0.5 * (b + c)
    kl = lambda p, q: np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / q), 0))  # noqa: E731
    js_bc = 0.5 * kl(b, m) + 0.5 * kl(c, m)
    np.testing.assert_allclose(d[:, 0], [0.0, math.sqrt(math.log(2)), math.sqrt(math.log(2)) + math.sqrt(js_bc)],
                               rtol=1e-5)
    np.testing.assert_allclose(H[:, 0], [math.log(4), math.log(4), math.log(8)], rtol=1e-6)


def test_entries_at_or_below_the_floor_are_dropped_before_the_entropy():
    p = np.array([0.5, 0.5 - 2e-6, 1e-6, 1e-6])
    np.testing.assert_allclose(float(dfn.entropy(p)), math.log(2), rtol=1e-6)


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
    g = dfn.build_graph(_cloud(200), dfn.KernelSpec(knn=15, tolerance=2))
    rows = np.array([3, 50, 199, 0])
    H0, d0 = _numpy_trajectory(np.stack([np.linalg.matrix_power(g.P, t)[rows] for t in range(1, 13)]))
    H1, d1 = dfn.trajectory_rows(g.P, rows, 12, max_elements=2 * 12 * 200)  # chunks of 2 rows
    assert H1.dtype == np.float64 and H1.shape == (12, 4)
    np.testing.assert_allclose(H1, H0, atol=2e-5)
    np.testing.assert_allclose(d1, d0, atol=2e-5)


def test_interp_curve_per_column():
    xp = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]])
    fp = np.array([[0.0, 10.0], [1.0, 20.0], [4.0, 30.0]])
    np.testing.assert_allclose(dfn.interp_curve(np.array([0.5, 3.0]), xp, fp), [0.5, 25.0])


# ----------------------------------------------------------------------------- comparison spaces

def test_uniform_comparison_is_a_ball_sample_centred_at_row_0():
    E = dfn.comparison("uniform")(np.zeros((5, 3)), 0, 3, 2000, np.random.default_rng(0))
    assert E.shape == (2000, 3)
    np.testing.assert_array_equal(E[0], 0.0)
    r = np.linalg.norm(E, axis=1)
    assert r.max() <= 1.0
    assert abs(np.mean(r <= 0.5) - 0.5 ** 3) < 0.03  # volume-uniform: P(r <= 1/2) = 1/8 in 3-d


def test_unknown_comparison_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown comparison space 'nope'; known: .*uniform"):
        dfn.comparison("nope")


def test_comparison_stats_depend_only_on_seed_dim_and_row(monkeypatch):
    monkeypatch.setattr(dfn, "_COMPARISONS", dict(dfn._COMPARISONS))
    calls = []

    @dfn.register_comparison("test_local")
    def local(points, eval_row, dim, n, rng):  # a point-dependent space, like a neural flattener
        calls.append(eval_row)
        return points[eval_row] + rng.standard_normal((n, dim))

    pts = _cloud(30)
    stat = lambda E: E[1].copy()  # noqa: E731
    both = dfn.comparison_stats("test_local", pts, np.array([4, 9]), np.array([3, 3]), trials=2, seed=5, stat=stat)
    alone = dfn.comparison_stats("test_local", pts, np.array([9]), np.array([3]), trials=2, seed=5, stat=stat)
    assert calls == [4, 4, 9, 9, 9, 9]
    np.testing.assert_array_equal(both[1], alone[0])
    assert not np.array_equal(both[0][0], both[0][1])  # the trials are different draws
    # a point-independent space is drawn once per trial and dimension, shared by the rows
    shared = dfn.comparison_stats("uniform", pts, np.array([4, 9]), np.array([2, 2]), trials=3, seed=5, stat=stat)
    assert shared[0] is shared[1] and len(shared[0]) == 3


def test_point_dimensions_given_and_local_pca():
    pts = _cloud(500)
    idx = np.array([0, 10, 20])
    np.testing.assert_array_equal(dfn.point_dimensions(pts, idx, 2, "given"), [2, 2, 2])
    np.testing.assert_array_equal(dfn.point_dimensions(pts, idx, 1, "local_pca"), [2, 2, 2])
    with pytest.raises(ValueError, match="dim_source"):
        dfn.point_dimensions(pts, idx, 2, "guess")
