"""dc_entropy (DC2) and dc_laziness: signs where the methods are supposed to work, invariances,
determinism, purity, the comparison hook, and the output contract.

Where the methods are supposed to work. Both compare a random walk on the cloud with a walk on a flat
sample of the same size. The curvature signal is ~ S * t_h (t_h the heat time of the walk), the noise
the Poisson fluctuation of the points the walk covers (~0.05-0.2 nats of entropy at one point). So the
walk must cover a region comparable to the curvature radius, with many points, without saturating the
patch: large caps (cap_angle 2 on the unit sphere), saddles with strong curvature (scale 2 on
[-1, 1]^d), n = 3000 in 2-d and 6000 in 3-d (in 3-d a walk of 39 steps on knn 120 covers ~4500 points
and saturates a 3000-point patch), the torus with 3000 points (tube radius 1: the walk spans the tube).
dc_entropy runs at its (reference) defaults; dc_laziness's reference defaults (t 8, knn 120) move the
walk too little on 3000 points, so its sign tests run a longer walk on a wider kernel.
A single draw is noisy (the comparison space is redrawn per seed too), so each sign assertion is on the
mean over 3 seeds (2 for the torus, with 4 rim points each); in the measurements behind these choices
(6 seeds each) every single seed already had the right sign but the 2-d cap at dc_entropy's defaults
(5 of 5 positive, the smallest +0.009).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from colosseum import registry
from colosseum.estimators import dc2, laziness
from colosseum.estimators.flat import ComparisonSpace
from colosseum.sampling import random_rotation

METHODS = ("dc_entropy", "dc_laziness")
SEEDS = (0, 1, 2)

#: (label, dataset, params, expected sign of S at the centre)
CASES = {
    "cap-2d": ("sphere_cap", dict(dim=2, cap_angle=2.0, n_points=3000), +1),
    "saddle-2d": ("saddle", dict(dim=2, scale=2.0, n_points=3000), -1),
    "cap-3d": ("sphere_cap", dict(dim=3, cap_angle=2.0, n_points=6000), +1),
    "saddle-3d": ("saddle", dict(dim=3, scale=2.0, n_points=6000), -1),
}

#: method parameters per intrinsic dimension, where the walk covers a curvature-radius-sized region
PARAMS = {
    "dc_entropy": {2: {}, 3: {}},  # the reference defaults: knn 120 +- 5, t 1..39, locality 0.9, 3 trials
    "dc_laziness": {2: dict(knn=300, t=32), 3: dict(t=32)},
}


@functools.cache
def _sample(case: str, seed: int):
    name, params, _ = CASES[case]
    return registry.make_dataset(name, seed=seed, n_eval=1, **params)  # eval row 0: the centre


@functools.cache
def _estimate(method: str, case: str, seed: int):
    s = _sample(case, seed)
    return registry.make_method(method, **PARAMS[method][s.dim]).estimate(s.points, s.eval_idx, s.dim, seed=seed)


@functools.cache
def _default_cap():
    """The sphere_cap dataset at its defaults: 1000 points, 8 evaluation rows (shared by the small tests,
    so that JAX compiles the entropy statistics for few shapes)."""
    return registry.make_dataset("sphere_cap", seed=0)


@functools.cache
def _torus(seed: int):
    """A 3000-point ring torus (R 2, r 1) and 4 evaluation rows nearest each rim (theta 0 and pi)."""
    s = registry.make_dataset("torus", seed=seed, n_points=3000, n_eval=400)
    theta = np.angle(np.exp(1j * s.meta["eval_params"][:, 0]))
    outer = np.argsort(np.abs(theta))[:4]
    inner = np.argsort(np.pi - np.abs(theta))[:4]
    return s, s.eval_idx[outer], s.curvature[outer], s.eval_idx[inner], s.curvature[inner]


# ----------------------------------------------------------------------------- signs

@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("method", METHODS)
def test_sign_at_the_centre_of_caps_and_saddles(method, case):
    truth = [_sample(case, s).curvature[0] for s in SEEDS]
    assert all(np.sign(t) == CASES[case][2] for t in truth)  # the datasets' truth agrees with the math
    values = np.array([_estimate(method, case, s).values[0] for s in SEEDS])
    assert np.isfinite(values).all()
    assert np.sign(values.mean()) == CASES[case][2], f"{method} on {case}: per-seed estimates {values}"


TORUS_PARAMS = {"dc_entropy": {}, "dc_laziness": dict(knn=300, t=32)}


@pytest.mark.parametrize("method", METHODS)
def test_torus_outer_rim_positive_inner_rim_negative(method):
    outer_est, inner_est = [], []
    for seed in (0, 1):
        s, outer, s_outer, inner, s_inner = _torus(seed)
        assert (s_outer > 0.6).all() and (s_inner < -1.9).all()  # S = 2/3 outside, -2 inside
        est = registry.make_method(method, **TORUS_PARAMS[method])(s.points, np.concatenate([outer, inner]), 2,
                                                                   seed=seed)
        outer_est.append(est[:4])
        inner_est.append(est[4:])
    outer_est, inner_est = np.array(outer_est), np.array(inner_est)
    assert outer_est.mean() > 0, f"outer rim estimates {outer_est}"
    assert inner_est.mean() < 0, f"inner rim estimates {inner_est}"


# ----------------------------------------------------------------------------- invariances and purity

def _rotate(p, rng):
    return p @ random_rotation(p.shape[1], rng).T


TRANSFORMS = {
    "rotation": _rotate,
    "translation": lambda p, rng: p + rng.uniform(-100, 100, size=p.shape[1]),
    "scaling": lambda p, rng: 0.013 * p,
}


@pytest.mark.parametrize("transform", list(TRANSFORMS))
@pytest.mark.parametrize("method", METHODS)
def test_rigid_motions_and_scaling_change_nothing(method, transform):
    """The kernels are scale-free (bandwidths from neighbour distances) and the flat space is drawn in
    its own units, so the estimate (not only its sign) is unchanged, to float32 rounding."""
    case = "saddle-2d"
    s, base = _sample(case, 0), _estimate(method, case, 0)
    moved = TRANSFORMS[transform](s.points, np.random.default_rng(3))
    est = registry.make_method(method, **PARAMS[method][2]).estimate(moved, s.eval_idx, 2, seed=0)
    np.testing.assert_allclose(est.values, base.values, rtol=0, atol=1e-5)
    assert np.sign(est.values[0]) == np.sign(base.values[0]) == CASES[case][2]


@pytest.mark.parametrize("method", METHODS)
def test_deterministic_for_a_seed_and_independent_of_the_other_rows(method):
    """Same seed, same numbers; the value at a row does not depend on which other rows are evaluated
    (per-point locality scale, comparison draws keyed by seed and dimension)."""
    case = "cap-2d"
    s, base = _sample(case, 0), _estimate(method, case, 0)
    m = registry.make_method(method, **PARAMS[method][2])
    rows = np.array([17, 0, 2500, 3, 1999, 42, 7, 1000])  # 8 rows, as on the torus: one compiled shape
    again = m.estimate(s.points, rows, 2, seed=0)
    assert again.values[1] == base.values[0]
    for key in base.diagnostics:
        np.testing.assert_array_equal(again.diagnostics[key][1], base.diagnostics[key][0])
    other = m(s.points, s.eval_idx, 2, seed=1)
    assert other[0] != base.values[0]  # another seed draws other comparison spaces


# ----------------------------------------------------------------------------- the comparison hook

CORES = {"dc_entropy": dc2.entropy_curvature, "dc_laziness": laziness.laziness_curvature}


@pytest.mark.parametrize("method", METHODS)
def test_a_given_comparison_space_is_used(method):
    """A comparison space (as the neural flatteners provide) that returns the data itself, with the
    evaluation point moved to row 0, makes the walk on E the walk on M: the estimate is exactly 0."""
    def itself(points, eval_row, dim, n, rng):
        order = np.concatenate([[eval_row], np.delete(np.arange(len(points)), eval_row)])
        return points[order]

    s = _default_cap()
    params = {**registry.entry("method", method).defaults, "knn": 40, "tolerance": 3,
              "comparison": ComparisonSpace("test_itself", itself, point_independent=False)}
    est = CORES[method](s.points, s.eval_idx, 2, seed=0, **params)
    np.testing.assert_allclose(est.values, 0.0, atol=1e-5)


# ----------------------------------------------------------------------------- the output contract

@pytest.mark.parametrize("method", METHODS)
def test_defaults_give_finite_estimates_and_diagnostics_on_a_default_sample(method):
    s = _default_cap()
    est = registry.make_method(method).estimate(s.points, s.eval_idx, s.dim, seed=0)
    assert est.values.shape == s.eval_idx.shape and est.values.dtype == np.float64
    assert np.isfinite(est.values).all()
    assert {"nu", "dim"} <= set(est.diagnostics)
    for val in est.diagnostics.values():
        assert val.shape == s.eval_idx.shape
    np.testing.assert_array_equal(est.diagnostics["dim"], 2.0)


def test_dc_entropy_options_time_matching_and_local_pca_dimension():
    s = _default_cap()
    est = registry.make_method("dc_entropy", match="time", dim_source="local_pca", knn=40,
                               tolerance=3).estimate(s.points, s.eval_idx, 1, seed=0)  # dim 1 given, 2 estimated
    assert np.isfinite(est.values).all()
    np.testing.assert_array_equal(est.diagnostics["dim"], 2.0)
    np.testing.assert_allclose(est.diagnostics["t_star"], 0.9 * 39)
    np.testing.assert_allclose(est.values, est.diagnostics["H_E"] - est.diagnostics["H_M"])


@pytest.mark.parametrize("method", METHODS)
def test_a_point_whose_walk_cannot_move_abstains(method):
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.uniform(-1, 1, size=(999, 2)), [[1e3, 1e3]]])  # row 999: far from all others
    pts = np.column_stack([pts, np.zeros(len(pts))])
    est = registry.make_method(method, knn=30, tolerance=3)(pts, np.array([0, 1, 2, 3, 4, 5, 6, 999]), 2)
    assert np.isfinite(est[:7]).all() and np.isnan(est[7])


@pytest.mark.parametrize("method,bad", [
    ("dc_entropy", dict(match="distance")), ("dc_entropy", dict(locality=0.0)), ("dc_entropy", dict(t_max=1)),
    ("dc_entropy", dict(comparison="nope")), ("dc_laziness", dict(kernel="fixed")),
    ("dc_laziness", dict(neighbourhood=0.0)), ("dc_laziness", dict(comparison_trials=0)),
])
def test_bad_parameters_raise(method, bad):
    pts = np.random.default_rng(0).standard_normal((100, 3))
    with pytest.raises(ValueError):
        registry.make_method(method, **bad)(pts, np.array([0, 1]), 2)
