"""adal_pca (AdaL-PCA): what must hold, from the mathematics of the method.

- On a sphere of radius R every normal curvature 2<n, y - x>/|y - x|^2 is exactly 1/R when n is the true
  normal, so kappa_1 = kappa_2 = 1/R and S = 2/R^2 exactly; a sample symmetric under rotations about x
  (rings of equally spaced points) makes the weighted PCA's third direction exactly the normal. On a random
  sample the only error is the tilt delta of the estimated normal: it adds +-2 sin(delta) <u, t>/|t|^2 to
  the normal curvatures, which moves kappa_1 up and kappa_2 down by about the same amount a, so
  S = 2(cos^2 delta - a^2)/R^2: a bias below 2/R^2, of second order in the tilt, shrinking as n grows.
- Sign: positive on sphere caps, negative on the saddle graph (S < 0 at every point of it), also when the
  surface is rotated into R^4 (ambient_dim = 4).
- S is intrinsic and the radius grid is in units of the cloud's RMS radius: rigid motions change
  nothing, scaling by lam divides S by lam^2.
- Codimension 2: the method reads one normal, the third local PCA direction, i.e. the normal with the
  larger second moment (the moments are not mean-centred). For (x, y, a|x|^2/2, b(x^2 - y^2)/2) around the
  origin the a-normal's second moment is a^2 E[r^4]/4 and the b-normal's b^2 E[r^4]/8, so the method reads
  the a-part (umbilic: S ~ 2a^2 > 0) when a^2 > b^2/2 and the b-part (S < 0) otherwise, while the truth is
  2(a^2 - b^2): for a^2 < b^2 < 2a^2 its sign is wrong.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from colosseum import registry
from colosseum.contract import SkipCell

METHOD = "adal_pca"


@functools.cache
def sample(name: str, n_points: int = 2000, n_eval: int = 8, seed: int = 0, **params):
    return registry.make_dataset(name, seed=seed, n_points=n_points, n_eval=n_eval, **params)


def estimate(points, rows, dim=2, **params):
    return registry.make_method(METHOD, **params).estimate(points, np.asarray(rows), dim, seed=0)


def unit_sphere(n: int, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed).standard_normal((n, 3))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def symmetric_rings(radius: float, n_rings: int = 60, per_ring: int = 24, theta_max: float = 2.5) -> np.ndarray:
    """The north pole (row 0) and rings of equally spaced points at polar angles up to theta_max."""
    pts = [np.array([[0.0, 0.0, radius]])]
    for k in range(1, n_rings + 1):
        theta = theta_max * k / n_rings
        phi = 2 * np.pi * np.arange(per_ring) / per_ring + 0.1 * k
        pts.append(radius * np.c_[np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
                                  np.full(per_ring, np.cos(theta))])
    return np.concatenate(pts)


@pytest.mark.parametrize("radius", [1.0, 3.0])
def test_exact_on_a_sphere_sample_symmetric_about_the_point(radius):
    est = estimate(symmetric_rings(radius), [0])
    np.testing.assert_allclose(est.values, 2.0 / radius ** 2, rtol=1e-9)
    assert est.diagnostics["n_ball"][0] > 100


def test_unit_sphere_within_the_tilt_bias():
    """2000 uniform points on the unit S^2 (closed, S = 2): the tilt bias is downwards and of second order,
    so the median lies at or just below 2 (10 % below, 2.5 % above for the third-order asymmetry of a random
    sample) and no point is off by more than 20 % (at 1000 points the worst is 35 % low, at 4000 points 7 %)."""
    est = estimate(unit_sphere(2000), np.arange(24)).values
    assert 1.8 <= np.median(est) <= 2.05, est
    assert np.all(np.abs(est - 2.0) <= 0.4), est


@pytest.mark.parametrize("ambient_dim", [None, 4])
def test_signs_on_sphere_caps_and_saddles(ambient_dim):
    cap, saddle = sample("sphere_cap", ambient_dim=ambient_dim), sample("saddle", ambient_dim=ambient_dim)
    assert cap.points.shape[1] == (ambient_dim or 3)
    cap_est = estimate(cap.points, cap.eval_idx).values
    saddle_est = estimate(saddle.points, saddle.eval_idx).values
    assert np.all(cap_est > 0), cap_est
    assert np.all(saddle_est < 0), (saddle_est, saddle.curvature)


def test_rigid_motions_and_scaling():
    s = sample("saddle", n_points=1000, n_eval=4)
    base = estimate(s.points, s.eval_idx)
    rng = np.random.default_rng(1)
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    moved = estimate(s.points @ (q * np.sign(np.diag(r))).T + rng.normal(scale=5.0, size=3), s.eval_idx)
    np.testing.assert_allclose(moved.values, base.values, rtol=1e-6)
    lam = 3.0
    scaled = estimate(lam * s.points, s.eval_idx)
    np.testing.assert_allclose(scaled.values, base.values / lam ** 2, rtol=1e-6)
    np.testing.assert_allclose(scaled.diagnostics["radius"], lam * base.diagnostics["radius"], rtol=1e-9)
    assert np.array_equal(np.sign(scaled.values), np.sign(base.values))


def test_deterministic_row_independent_and_diagnostics():
    s = sample("sphere_cap", n_points=1000, n_eval=5)
    a, b = estimate(s.points, s.eval_idx), estimate(s.points, s.eval_idx)
    np.testing.assert_array_equal(a.values, b.values)
    assert set(a.diagnostics) == {"pca_radius", "radius", "n_ball"}
    for key, val in a.diagnostics.items():
        assert val.shape == s.eval_idx.shape, key
        np.testing.assert_array_equal(val, b.diagnostics[key])
    np.testing.assert_array_equal(estimate(s.points, s.eval_idx[2:3]).values, a.values[2:3])
    # both radii lie on the grid: multiples of 0.01 RMS radius, at most 1.49 of it
    L = np.sqrt(np.mean(np.sum((s.points - s.points.mean(axis=0)) ** 2, axis=1)))
    for key in ("pca_radius", "radius"):
        steps = a.diagnostics[key] / (0.01 * L)
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
        assert np.all((steps >= 1 - 1e-9) & (steps <= 149 + 1e-9))
    assert np.all(a.diagnostics["n_ball"] >= 10)


@pytest.mark.parametrize("dim", [1, 3])
def test_any_dimension_but_two_is_a_skipped_cell(dim):
    s = sample("sphere_cap", n_points=300, n_eval=2, dim=3)
    with pytest.raises(SkipCell, match="d = 2"):
        registry.make_method(METHOD)(s.points, s.eval_idx, dim, seed=0)


def test_a_surface_of_r3_placed_in_r4_gives_the_same_estimate():
    s = sample("saddle", n_points=1000, n_eval=4)
    q, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((4, 4)))
    in_r4 = s.points @ q[:3]                                   # an isometry of R^3 onto a 3-plane of R^4
    np.testing.assert_allclose(estimate(in_r4, s.eval_idx).values, estimate(s.points, s.eval_idx).values,
                               rtol=1e-6)


def _two_normals(a: float, b: float) -> np.ndarray:
    u = np.random.default_rng(0).uniform(-1, 1, (3000, 2))
    u[0] = 0.0
    return np.c_[u, a * np.sum(u ** 2, axis=1) / 2, b * (u[:, 0] ** 2 - u[:, 1] ** 2) / 2]


@pytest.mark.parametrize("a, b", [(1.0, 1.2), (0.5, 1.5), (1.5, 0.5)])
def test_codimension_two_reads_the_normal_with_the_larger_second_moment(a, b):
    """The estimate is that of the surface with the other normal component removed (within 15 %: the two
    clouds' eps and tau differ a little), so it has that component's sign: for (1, 1.2) the truth 2(a^2 - b^2)
    is negative and the estimate positive."""
    est = float(estimate(_two_normals(a, b), [0]).values[0])
    read_a = a * a > b * b / 2
    single = float(estimate(_two_normals(a, 0.0) if read_a else _two_normals(0.0, b), [0]).values[0])
    assert np.sign(est) == np.sign(single) == (1 if read_a else -1), (est, single)
    assert abs(est - single) <= 0.15 * abs(single), (est, single)
