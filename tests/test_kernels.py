"""Diffusion kernels and walks (colosseum.estimators.kernels, .walks): P, rows of P^t, tuning, scale-free
kernels, the truncation of a measure. Small clouds, fast."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from colosseum.estimators import kernels, walks
from colosseum.sampling import random_rotation

SPECS = [
    kernels.KernelSpec(kind="agnostic", knn=20, tolerance=2),
    kernels.KernelSpec(kind="agnostic", knn=20, tolerance=2, alpha=1.0),
    kernels.KernelSpec(kind="fixed", knn=20, nu=2.5, alpha=0.5),
    kernels.KernelSpec(kind="adaptive", knn=8, alpha=1.0),
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
    P = _dense(kernels.build_graph(_cloud(), spec).P)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert (P >= 0).all()
    assert (np.diag(P) > 0).all()  # self-loops are kept


@pytest.mark.parametrize("sparse", [False, True], ids=["dense-path", "sparse-path"])
def test_power_rows_equal_rows_of_the_dense_matrix_power(sparse):
    P = _dense(kernels.build_graph(_cloud(150), kernels.KernelSpec(knn=15, tolerance=2)).P)
    rows = np.array([0, 7, 149, 7])  # repeated rows are fine
    got = walks.power_rows(sp.csr_matrix(P) if sparse else P, rows, 6)
    assert got.shape == (6, len(rows), len(P))
    for t in range(1, 7):
        want = np.linalg.matrix_power(P, t)[rows]
        # the dense path runs in JAX's default float32; the sparse path in float64
        np.testing.assert_allclose(got[t - 1], want, rtol=0, atol=1e-6 if not sparse else 1e-13)


def test_the_sparse_path_is_used_above_dense_max():
    small = kernels.build_graph(_cloud(200), kernels.KernelSpec(knn=15, tolerance=2))
    assert isinstance(small.P, np.ndarray)
    big = kernels.build_graph(_cloud(kernels.DENSE_MAX + 1), kernels.KernelSpec(knn=10, tolerance=2))
    assert sp.issparse(big.P)


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_build_graph_sparse_equals_build_graph(spec):
    pts = _cloud(500, seed=3)
    a, b = kernels.build_graph(pts, spec), kernels.build_graph_sparse(pts, spec)
    assert sp.issparse(b.P)
    np.testing.assert_allclose(b.P.toarray(), _dense(a.P), rtol=0, atol=1e-14)
    assert (a.nu == b.nu) or (math.isnan(a.nu) and math.isnan(b.nu))
    assert a.sigma == pytest.approx(b.sigma, rel=1e-15)
    if spec.kind == "agnostic":  # a given nu is reused, not re-tuned
        assert kernels.build_graph_sparse(pts, spec, nu=1.7).nu == 1.7


# ----------------------------------------------------------------------------- tuning

@pytest.mark.parametrize("knn,tol", [(12, 2), (40, 3), (120, 5)])
def test_tune_nu_hits_the_target_median_support(knn, tol):
    pts = _cloud(1500, seed=knn)
    spec = kernels.KernelSpec(knn=knn, tolerance=tol)
    nu = kernels.tune_nu(pts, spec)
    P = _dense(kernels.build_graph(pts, spec, nu=nu).P)
    support = (P > 0).sum(axis=1)  # kernel entries >= cutoff, self included
    assert abs(np.median(support) - knn) <= tol
    assert kernels.tune_nu_fast(pts, spec) == nu  # the fast tuner returns exactly the same nu


def test_tune_nu_fast_equals_tune_nu_on_varied_clouds():
    rng = np.random.default_rng(7)
    clouds = [_cloud(300, 1), rng.standard_normal((800, 3)), rng.uniform(size=(600, 4)),
              np.concatenate([rng.standard_normal((400, 2)) * 0.1, rng.standard_normal((50, 2)) * 5])]
    for pts in clouds:
        for knn, tol in [(5, 1), (30, 3), (90, 5)]:
            spec = kernels.KernelSpec(knn=knn, tolerance=tol)
            assert kernels.tune_nu_fast(pts, spec) == kernels.tune_nu(pts, spec)


# ----------------------------------------------------------------------------- scale-free kernels

@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@pytest.mark.parametrize("builder", [kernels.build_graph, kernels.build_graph_sparse], ids=["build_graph", "sparse"])
def test_P_is_invariant_under_rotation_translation_and_scaling(spec, builder):
    pts = _cloud(300, seed=5)
    rng = np.random.default_rng(11)
    moved = 7.3 * pts @ random_rotation(3, rng).T + rng.uniform(-50, 50, size=3)
    a, b = builder(pts, spec), builder(moved, spec)
    np.testing.assert_allclose(_dense(b.P), _dense(a.P), rtol=0, atol=1e-9)
    assert (a.nu == b.nu) or (math.isnan(a.nu) and math.isnan(b.nu))




# ----------------------------------------------------------------------------- chunks and truncation

def test_power_row_chunks_cover_the_rows_in_order():
    P = kernels.build_graph(_cloud(120), kernels.KernelSpec(knn=12, tolerance=2)).P
    rows = np.array([5, 0, 119, 7, 60])
    whole = walks.power_rows(sp.csr_matrix(P), rows, 4)
    parts = list(walks.power_row_chunks(P, rows, 4, max_elements=2 * 4 * 120))  # 2 rows per chunk
    assert [sl for sl, _ in parts] == [slice(0, 2), slice(2, 4), slice(4, 5)]
    np.testing.assert_array_equal(np.concatenate([r for _, r in parts], axis=1), whole)
    PT = sp.csr_matrix(P).T.tocsr()
    np.testing.assert_array_equal(walks.last_power_rows(PT, rows, 4), whole[-1])


def test_truncate_keeps_the_heaviest_atoms_holding_the_mass():
    p = np.array([0.1, 0.4, 0.0, 0.2, 0.2, 0.1])
    rows, mass = walks.truncate(p, 0.7)
    assert rows.tolist() == [1, 3, 4] and mass.tolist() == [0.4, 0.2, 0.2]  # ties by row number
    assert walks.truncate(p, 1.0)[0].tolist() == [1, 3, 4, 0, 5]            # every atom with p > 0
    assert walks.truncate(p, 0.99, max_atoms=2)[0].tolist() == [1, 3]
    assert walks.truncate(p, 1e-9)[0].tolist() == [1]                        # at least one atom
