"""The shape datasets: truth from the Gauss equation agrees with closed forms at the sampled
parameters, samplers are uniform in area, evaluation points stay inside, bad input is refused."""
from __future__ import annotations

import numpy as np
import pytest

from colosseum import registry
from colosseum.domains import Rect


def _params(sample):
    return np.asarray(sample.meta["eval_params"])


def test_torus_truth_and_theta_distribution():
    R, r = 2.0, 1.0
    s = registry.make_dataset("torus", seed=4, major_radius=R, minor_radius=r, n_points=4000, n_eval=4000)
    theta = _params(s)[:, 0]
    np.testing.assert_allclose(s.curvature, 2 * np.cos(theta) / (r * (R + r * np.cos(theta))), rtol=1e-9,
                               atol=1e-12)
    assert s.curvature.min() < -1.5 and s.curvature.max() > 0.6  # both signs, inner and outer rim
    # area-uniform: P(|theta| < pi/2) = (pi R + 2 r) / (2 pi R)
    p = (np.pi * R + 2 * r) / (2 * np.pi * R)
    share = np.mean(np.abs(theta) < np.pi / 2)
    assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / theta.size)


def test_ellipsoid_truth_matches_closed_form():
    a, b, c = 3.0, 2.0, 1.0
    s = registry.make_dataset("ellipsoid", seed=2, a=a, b=b, c=c, n_points=800, n_eval=200)
    t, f = _params(s).T
    closed = 2 * a**2 * b**2 * c**2 / (a**2 * b**2 * np.cos(f) ** 2
                                       + c**2 * (b**2 * np.cos(t) ** 2 + a**2 * np.sin(t) ** 2) * np.sin(f) ** 2) ** 2
    np.testing.assert_allclose(s.curvature, closed, rtol=1e-7)
    assert (s.curvature > 0).all()


def test_hyperboloid_strip_truth_and_interior():
    a, c, h = 2.0, 1.0, 1.5
    s = registry.make_dataset("hyperboloid", seed=0, a=a, c=c, half_height=h, eval_margin=0.5)
    u = _params(s)[:, 0]
    np.testing.assert_allclose(s.curvature, -2 * c**2 / ((a**2 + c**2) * u**2 + c**2) ** 2, rtol=1e-9)
    assert s.curvature[0] == pytest.approx(-2.0)  # row 0 on the waist
    assert np.all(np.abs(u) <= 0.5 * h + 1e-12)


def test_saddle_truth_and_sphere_cap_truth():
    s = registry.make_dataset("saddle", seed=1, n_eval=20)
    x, y = _params(s).T
    np.testing.assert_allclose(s.curvature, -8 / (1 + 4 * x**2 + 4 * y**2) ** 2, rtol=1e-9)
    for d, rad in ((2, 1.0), (3, 2.0), (5, 0.5)):
        cap = registry.make_dataset("sphere_cap", seed=0, dim=d, radius=rad, n_points=300)
        np.testing.assert_allclose(cap.curvature, d * (d - 1) / rad**2, rtol=1e-9)
        np.testing.assert_allclose(np.linalg.norm(cap.points - cap.points.mean(0), axis=1).max() <= 2 * rad, True)


def test_plane_is_flat_and_left_out_of_sign_scores():
    s = registry.make_dataset("plane", seed=0, dim=3, ambient_dim=5)
    assert s.points.shape == (1000, 5)
    np.testing.assert_allclose(s.curvature, 0.0, atol=1e-12)
    assert (np.abs(s.curvature) <= s.meta["zero_tol"]).all()


@pytest.mark.parametrize("name", ["torus", "ellipsoid", "hyperboloid", "plane", "sphere_cap", "saddle"])
def test_determinism_noise_and_ambient(name):
    a = registry.make_dataset(name, seed=7, n_points=400, ambient_dim=6, noise=0.01)
    b = registry.make_dataset(name, seed=7, n_points=400, ambient_dim=6, noise=0.01)
    c = registry.make_dataset(name, seed=8, n_points=400, ambient_dim=6, noise=0.01)
    assert a.points.shape == (400, 6)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.curvature, b.curvature)
    assert not np.array_equal(a.points, c.points)
    assert a.meta["eval_rows_noised"] is True


@pytest.mark.parametrize("name,params,match", [
    ("torus", {"noise": -0.1}, "noise"),
    ("torus", {"minor_radius": 3.0}, "minor_radius < major_radius"),
    ("torus", {"ambient_dim": 2}, "ambient_dim"),
    ("saddle", {"dim": 2, "ambient_dim": 2}, "ambient_dim"),
    ("sphere_cap", {"cap_angle": 4.0}, "cap_angle"),
    ("hyperboloid", {"half_height": -1.0}, "half_height"),
    ("ellipsoid", {"n_eval": 5000}, "n_eval"),
    ("plane", {"noise": -1.0}, "noise"),
])
def test_bad_parameters_raise(name, params, match):
    with pytest.raises(ValueError, match=match):
        registry.make_dataset(name, seed=0, **params)


def test_rect_boundary_distance_plain_and_periodic():
    u = np.array([[0.0, 1.0], [0.9, 1.0], [0.0, 0.1]])
    np.testing.assert_allclose(Rect((-1.0, 0.0), (1.0, 2.0)).boundary_distance(u), [1.0, 0.1, 0.1])
    assert np.isinf(Rect((-1.0, 0.0), (1.0, 2.0), periodic=True).boundary_distance(u)).all()  # a closed surface

