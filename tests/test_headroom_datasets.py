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
