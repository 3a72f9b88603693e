"""Headroom in the battery: noise relative to the diameter, a sampling-density gradient, flat controls."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from colosseum import registry, sampling
from colosseum.domains import Box


def test_noise_relative_to_the_diameter_uses_the_clean_clouds_diameter():
    clean = registry.make_dataset("saddle", seed=3, n_points=400, noise_scale="diameter", noise=0.0)
    noisy = registry.make_dataset("saddle", seed=3, n_points=400, noise_scale="diameter", noise=0.05)
    assert clean.meta["diameter"] == pytest.approx(pdist(clean.points).max(), rel=1e-12)  # rotation keeps distances
    assert noisy.meta["noise_sd"] == pytest.approx(0.05 * clean.meta["diameter"], rel=1e-12)
    # the residuals are N(0, sd^2) per coordinate: their sample sd is within 5 % of sd (400 x 3 draws)
    resid = noisy.points - clean.points
    assert np.std(resid) == pytest.approx(noisy.meta["noise_sd"], rel=0.05)
    np.testing.assert_array_equal(noisy.curvature, clean.curvature)


@pytest.mark.parametrize("slope", [0.0, 0.5, 0.9])
def test_the_density_gradient_puts_the_expected_share_on_the_dense_side(slope):
    """Density 1 + s x on [-1, 1]: the share with x > 0 is (1 + s/2) / 2."""
    rng = np.random.default_rng(0)
    grad = sampling.DensityGradient(slope, 1.0)
    u = sampling.thin(lambda k: Box(2, 1.0).propose(k, rng), 20_000, grad, rng)
    share, want = np.mean(u[:, 0] > 0), (1 + slope / 2) / 2
    assert abs(share - want) < 4 * np.sqrt(want * (1 - want) / len(u))


def test_the_density_gradient_reaches_volume_uniform_sampling_and_leaves_the_truth():
    import jax.numpy as jnp

    rng = np.random.default_rng(1)

    def embed(x):
        return jnp.concatenate([x, jnp.zeros(1)])

    u, _ = sampling.volume_uniform(embed, Box(2, 1.0), 20_000, rng, bound=1.0,
                                   gradient=sampling.DensityGradient(0.8, 1.0))
    assert abs(np.mean(u[:, 0] > 0) - 0.7) < 4 * np.sqrt(0.21 / len(u))
    cap = registry.make_dataset("sphere_cap", seed=0, density_slope=0.8, n_points=600)
    np.testing.assert_allclose(cap.curvature, 2.0, rtol=1e-12)
    q0 = registry.make_dataset("quadric", seed=0, n_points=600, density_slope=0.0)
    q8 = registry.make_dataset("quadric", seed=0, n_points=600, density_slope=0.8)
    assert q0.curvature[0] == q8.curvature[0]  # the same surface, sampled differently
    assert not np.array_equal(q0.points, q8.points)


@pytest.mark.parametrize("name, ambient", [("cylinder", 3), ("flat_torus", 4)])
def test_flat_controls_have_zero_curvature_and_are_bent(name, ambient):
    s = registry.make_dataset(name, seed=0, n_points=500)
    assert s.points.shape == (500, ambient)
    assert np.abs(s.curvature).max() < 1e-12
    # bent: the cloud spans every ambient direction (it is not a plane)
    sv = np.linalg.svd(s.points - s.points.mean(axis=0), compute_uv=False)
    assert sv[-1] / sv[0] > 0.1


def test_a_cylinder_patch_may_not_wrap_around():
    with pytest.raises(ValueError, match="wraps around"):
        registry.make_dataset("cylinder", seed=0, radius=0.3, half_width=1.0)


def test_density_slope_on_closed_surfaces_runs_along_the_first_ambient_coordinate():
    """Closed surfaces have no chart axis across them: the density grows along x. flat_torus (x = r cos u_1,
    u_1 uniform): P(x > 0) = 1/2 + s/pi. torus (area element prop. to rho = R + r cos(theta)):
    E[x] = s E[x^2] / (R + r) with E[x^2] = E[rho^2] / 2 = (R^2 + 1.5 r^2) / 2."""
    n, s = 6000, 0.8
    flat = registry.make_dataset("flat_torus", seed=0, n_points=n, n_eval=n, density_slope=s)
    share, want = np.mean(np.cos(flat.meta["eval_params"][:, 0]) > 0), 0.5 + s / np.pi
    assert abs(share - want) < 4 * np.sqrt(want * (1 - want) / n)
    R, r = 2.0, 1.0
    tor = registry.make_dataset("torus", seed=0, n_points=n, n_eval=n, density_slope=s)
    theta, phi = tor.meta["eval_params"].T
    x = (R + r * np.cos(theta)) * np.cos(phi)
    ex2 = (R**2 + 1.5 * r**2) / 2
    assert abs(x.mean() - s * ex2 / (R + r)) < 4 * np.sqrt(ex2 / n)
    base = registry.make_dataset("torus", seed=0, n_points=n, n_eval=n)
    np.testing.assert_allclose(tor.curvature, 2 * np.cos(theta) / (r * (R + r * np.cos(theta))), rtol=1e-9, atol=1e-12)
    assert abs(np.mean((R + r * np.cos(base.meta["eval_params"][:, 0])) * np.cos(base.meta["eval_params"][:, 1]))) \
        < 4 * np.sqrt(ex2 / n)  # without the slope: centred


@pytest.mark.parametrize("name", ["ellipsoid", "hyperboloid", "klein_bottle"])
def test_density_slope_moves_the_cloud_and_keeps_the_truth_function(name):
    """The slope shifts the cloud's mean along the direction it names by many standard errors."""
    from colosseum import geometry

    n = 2000
    tilted = registry.make_dataset(name, seed=1, n_points=n, density_slope=0.8)
    p = registry.entry("dataset", name).func.__globals__
    embed = {"ellipsoid": lambda: p["ellipsoid_embedding"](3.0, 2.0, 1.0),
             "hyperboloid": lambda: p["hyperboloid_embedding"](1.0, 1.0),
             "klein_bottle": lambda: p["klein_embedding"](p["patch_model"](3))}[name]()
    np.testing.assert_allclose(tilted.curvature, geometry.scalar_curvature(embed, tilted.meta["eval_params"]),
                               rtol=1e-9, atol=1e-12)
    # the direction: x for the ellipsoid, the height parameter for the strip, v_1 for the Klein bottle
    every = {"n_points": n, "n_eval": n, **({"eval_margin": 0.0} if name == "hyperboloid" else {})}
    u = registry.make_dataset(name, seed=1, density_slope=0.8, **every).meta["eval_params"]
    coord = geometry.points(embed, u)[:, 0] if name != "hyperboloid" else u[:, 0]
    u0 = registry.make_dataset(name, seed=1, **every).meta["eval_params"]
    coord0 = geometry.points(embed, u0)[:, 0] if name != "hyperboloid" else u0[:, 0]
    se = np.std(coord0) / np.sqrt(len(coord0))
    assert coord.mean() - coord0.mean() > 8 * se, (coord.mean(), coord0.mean(), se)
