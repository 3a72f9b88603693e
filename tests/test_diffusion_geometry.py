"""diffusion_geometry (Jones 2024): agreement with the authors' code, the mathematics, and the costs.

Reference fixture: tests/data/diffusion_geometry_reference.npz holds four clouds (a nearly closed unit
sphere, the torus, a d = 3 quadric graph in R^4, a noisy saddle; drawn with colosseum datasets) and the
values of the authors' Scalar_Curvature(X, d, n0=50) on every point, written by
`python bench/bench_diffusion_geometry.py --reference PATH --write-fixture ...` (the authors' code has
no licence and runs in the bench's own environment). Ours solves the same eigenproblem to machine
precision and forms the same quantities (every fixture cloud has D <= d + frame_normals, where the frame
is exact), so beyond the required Pearson r >= 0.99 and 97 % sign agreement the values must agree to
1e-6 of their range: only rounding and the eigensolver's start vector differ.

Equivariance is exact in the algorithm (bandwidths are relative, Γ and the Hessians are built from
differences, the kNN graph depends on distances only), so a rotated, translated or scaled cloud
(S -> S / λ²) must give the same values up to rounding amplified by the eigensolver: 1e-6 of the range.

Clouds are small (1000-2000 points, ~0.3 s each) to keep the file near 10 s.
"""
from __future__ import annotations

import functools
import json
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from colosseum import registry
from colosseum.contract import SkipCell
from colosseum.estimators import diffusion_geometry as dg

FIXTURE = Path(__file__).parent / "data" / "diffusion_geometry_reference.npz"


def unit_sphere(n: int, seed: int) -> np.ndarray:
    g = np.random.default_rng(seed).normal(size=(n, 3))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


@functools.cache
def sample(name: str, seed: int = 0, **params):
    return registry.make_dataset(name, seed=seed, **params)


@functools.cache
def fixture():
    data = np.load(FIXTURE)
    meta = json.loads(str(data["meta"]))
    return {c["label"]: (data[f"{c['label']}_points"], int(data[f"{c['label']}_dim"]),
                         data[f"{c['label']}_reference"]) for c in meta["clouds"]}


# ----------------------------------------------------------------------------- the authors' code

@pytest.mark.parametrize("label", ["sphere", "torus", "quadric_d3", "noisy_saddle"])
def test_agrees_with_the_authors_scalar_curvature(label):
    points, dim, ref = fixture()[label]
    ours = dg.scalar_curvature(points, dim, seed=0).scalar
    assert np.corrcoef(ours, ref)[0, 1] >= 0.99
    assert np.mean(np.sign(ours) == np.sign(ref)) >= 0.97
    assert np.max(np.abs(ours - ref)) <= 1e-6 * np.ptp(ref)


def test_the_plugin_returns_the_evaluation_rows_of_the_whole_cloud_computation():
    points, dim, ref = fixture()["torus"]
    rows = np.array([5, 0, 17, 1199])
    est = registry.make_method("diffusion_geometry").estimate(points, rows, dim, seed=0)
    np.testing.assert_allclose(est.values, ref[rows], rtol=0, atol=1e-6 * np.ptp(ref))
    assert set(est.diagnostics) == {"unbandlimited", "metric_scale"}


# ----------------------------------------------------------------------------- the mathematics

def test_unit_sphere_reads_two():
    """Closed unit S² (S = 2): the band-limited estimate is a field with about n0 degrees of freedom, so
    its median over the sphere has a standard error of ~1.2533 sd / sqrt(n0) (sd: its spread over the
    points, ~0.55 at n = 2000); the kernel's own bias is of order its width² 4ε ~ 0.01 (1 %). Allowed:
    three standard errors plus 0.05 (~0.35 in all)."""
    res = dg.scalar_curvature(unit_sphere(2000, seed=0), 2, seed=0)
    se = 1.2533 * np.std(res.scalar) / math.sqrt(50)
    assert 4 * res.operator.epsilon < 0.05
    assert abs(np.median(res.scalar) - 2.0) <= 3 * se + 0.05
    assert np.std(res.scalar) < 0.5 * 2.0  # a field around 2, not noise that hides a wrong centre


def test_torus_follows_the_truth():
    """Torus R = 2, r = 1: S = 2 cos θ / (r (R + r cos θ)) varies with θ only, and |x|² = R² + r² + 2Rr cos θ
    (the cloud is rotated about the torus's centre). Band-limited to the first 50 eigenfunctions
    (λ_50 ~ 8 on this torus, so θ-harmonics up to cos 2θ; the truth's decay like (2 - √3)^k) the truth
    keeps Pearson > 0.99 with itself, checked here, so band-limiting is not what limits the estimate. The
    authors' code reaches 0.985 at 3000 points and ours computes the same numbers: below 0.9 at 2000
    points is a regression."""
    s = sample("torus", n_points=2000, n_eval=64)
    res = dg.scalar_curvature(s.points, s.dim, seed=0)
    cos = (np.sum(s.points ** 2, axis=1) - 5.0) / 4.0
    truth = 2 * cos / (2 + cos)
    np.testing.assert_allclose(truth[s.eval_idx], s.curvature, atol=1e-9)
    assert np.corrcoef(res.operator.band_limit(truth), truth)[0, 1] > 0.99
    assert np.corrcoef(res.scalar[s.eval_idx], s.curvature)[0, 1] >= 0.9


def test_sign_on_a_sphere_cap_and_a_saddle():
    """Evaluation rows lie in the inner half of each patch, where the boundary's error, which
    band-limiting spreads inwards, is small: at most 2 of 16 rows may be wrong, and the mean has the sign."""
    for name, params, sign in [("sphere_cap", {"cap_angle": 2.0}, 1.0), ("saddle", {}, -1.0)]:
        s = sample(name, n_points=1500, n_eval=16, **params)
        est = dg.scalar_curvature(s.points, s.dim, seed=0).scalar[s.eval_idx]
        assert np.sign(np.mean(est)) == sign
        assert np.mean(np.sign(est) == np.sign(s.curvature)) >= 14 / 16


@pytest.mark.parametrize("move", ["rotate", "translate", "scale"])
def test_equivariant_under_rigid_motions_and_scaling(move):
    """Scaling by 4 multiplies every distance² by 16 = 2^4, a whole number of steps of the reference's
    absolute ε grid (2^¼), so the kernel is the same and S / 16 exact."""
    s = sample("saddle", n_points=1000, n_eval=8)
    base = dg.scalar_curvature(s.points, s.dim, seed=0).scalar
    rng = np.random.default_rng(1)
    if move == "rotate":
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        moved, factor = s.points @ q.T, 1.0
    elif move == "translate":
        moved, factor = s.points + np.array([100.0, -250.0, 40.0]), 1.0
    else:
        moved, factor = 4.0 * s.points, 1.0 / 16.0
    out = dg.scalar_curvature(moved, s.dim, seed=0).scalar
    assert np.max(np.abs(out - factor * base)) <= 1e-6 * np.ptp(factor * base)
    assert np.array_equal(np.sign(out), np.sign(base))


def test_other_scales_move_epsilon_to_a_neighbouring_grid_point():
    """Scaled by 3 (9 is not a power of 2^¼), the slope profile of log ΣK moves by a fraction of a grid step
    and ε lands on a grid point within a step (2^¼) of 9 ε: a slightly different kernel width, so S · 9
    stays close to S but is not equal to it (as in the reference)."""
    s = sample("saddle", n_points=1000, n_eval=8)
    base = dg.scalar_curvature(s.points, s.dim, seed=0)
    out = dg.scalar_curvature(3.0 * s.points, s.dim, seed=0)
    assert abs(math.log2(out.operator.epsilon / (9 * base.operator.epsilon))) <= 0.25 + 1e-12
    assert np.corrcoef(9 * out.scalar, base.scalar)[0, 1] >= 0.99
    assert np.mean(np.sign(out.scalar) == np.sign(base.scalar)) >= 0.95


def test_a_flat_patch_has_no_normal_space_and_reads_zero():
    """A plane patch in R^3: the band-limited cloud spans d = 2 directions, nothing is normal, S = 0."""
    s = sample("plane", n_points=600, n_eval=8)
    res = dg.scalar_curvature(s.points, s.dim, seed=0)
    assert res.rank == 2
    assert np.max(np.abs(res.scalar)) < 1e-10


# ----------------------------------------------------------------------------- sparse, exact, reproducible

def test_high_ambient_dimension_keeps_a_bounded_frame_and_agrees_with_the_full_one():
    """A noisy sphere cap in R^20: the band-limited cloud spans all 20 directions; with 8 normal directions
    per frame (f = 10 < r = 20) the values stay within 5 % of the range of the full frame's (exact) ones,
    since what is dropped is second order in the edge length."""
    s = sample("sphere_cap", n_points=1000, n_eval=8, cap_angle=2.0, ambient_dim=20, noise=0.01)
    full = dg.scalar_curvature(s.points, s.dim, seed=0, frame_normals=18)
    part = dg.scalar_curvature(s.points, s.dim, seed=0)
    assert (full.rank, full.frame, part.frame) == (20, 20, 10)
    assert np.max(np.abs(part.scalar - full.scalar)) <= 0.05 * np.ptp(full.scalar)
    assert np.mean(np.sign(part.scalar) == np.sign(full.scalar)) >= 0.97


def test_the_filtered_eigensolver_finds_the_plain_one_s_eigenpairs(monkeypatch):
    """Clouds of at least 4 subsamples place a Chebyshev filter with the subsample's λ_n0 (defaults: from
    2000 points; here n0 = 20 and a 300-point subsample, so that 1500 points take that path). The
    eigenpairs must be ARPACK's own. A cut above λ_n0 must be refused, not trusted."""
    x = sample("torus", n_points=1500, n_eval=8).points
    monkeypatch.setattr(dg, "FILTER_SUBSAMPLE", 300)
    calls = []
    real = dg._chebyshev_top
    monkeypatch.setattr(dg, "_chebyshev_top", lambda *a: calls.append(a[3]) or real(*a))
    filtered = dg.diffusion_operator(x, n0=20, seed=0)
    assert len(calls) == 1
    monkeypatch.setattr(dg, "FILTER_SUBSAMPLE", 10**9)
    plain = dg.diffusion_operator(x, n0=20, seed=0)
    assert len(calls) == 1
    np.testing.assert_allclose(filtered.eigenvalues, plain.eigenvalues, rtol=1e-9, atol=1e-9)
    overlap = filtered.eigenfunctions.T @ (plain.density[:, None] * plain.eigenfunctions)
    assert np.min(np.abs(np.diag(overlap))) > 1 - 1e-8
    M = dg._kernel(x, 20, 32, 8, 0.0).symmetric_laplacian()[0]
    assert dg._chebyshev_top(M, 20, np.ones(len(x)), -0.5 * plain.eigenvalues[-1]) is None


def test_deterministic_for_a_seed_and_seeds_differ_only_by_the_solver_tolerance():
    x = sample("torus", n_points=1000, n_eval=8).points
    a = dg.scalar_curvature(x, 2, seed=3).scalar
    b = dg.scalar_curvature(x, 2, seed=3).scalar
    c = dg.scalar_curvature(x, 2, seed=4).scalar
    assert np.array_equal(a, b)
    assert np.max(np.abs(a - c)) <= 1e-6 * np.ptp(a)


def test_memory_stays_far_below_one_dense_n_by_n_matrix():
    """n = 6000: one n x n float64 matrix is 288 MB (the reference holds two, and n x D³ arrays). Every
    array here is O(n k + n n0 + n r f); NumPy reports its buffers to tracemalloc. Bound: 100 MB."""
    x = unit_sphere(6000, seed=1)
    tracemalloc.start()
    try:
        res = dg.scalar_curvature(x, 2, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(res.scalar).all()
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB"


# ----------------------------------------------------------------------------- degenerate input

def test_degenerate_clouds_are_declined():
    method = registry.make_method("diffusion_geometry")
    few = unit_sphere(40, seed=0)  # fewer than n0 + 2 points
    with pytest.raises(SkipCell, match="at least"):
        method(few, np.arange(3), 2, seed=0)
    copies = np.repeat(unit_sphere(100, seed=0), 8, axis=0)  # every point 8 times: zero bandwidth
    with pytest.raises(SkipCell, match="copies"):
        method(copies, np.arange(3), 2, seed=0)
    line = np.outer(np.random.default_rng(0).uniform(-1, 1, 300), [1.0, 2.0, 0.5])  # a segment, read as d = 2
    with pytest.raises(SkipCell, match="spans"):
        method(line, np.arange(3), 2, seed=0)
    with pytest.raises(ValueError, match="k_ep"):
        registry.make_method("diffusion_geometry", k_ep=40)(unit_sphere(300, 0), np.arange(3), 2, seed=0)
