"""The corruptions every dataset takes (colosseum.corruptions): outliers and heteroscedastic noise.

Their promises: at 0 the draw is the dataset's own, bit for bit; the clean draw of a seed is the same with
and without them; evaluation rows are never replaced and keep their truth; outliers are uniform in the
clean cloud's bounding box; the noise's standard deviation runs linearly from noise (1 - spread) to
noise (1 + spread) along a direction; they are dataset parameters (identity, columns); plugins get them.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from colosseum import corruptions, registry
from colosseum.cells import CellSpec
from colosseum.registry import DATASET

SMALL = {"n_points": 400}


def own_draw(name: str, seed: int, **params):
    """The dataset function called directly, without the registry's corruption stage."""
    e = registry.entry(DATASET, name)
    bound = {k: v for k, v in e.bind(params).items() if k not in corruptions.SHARED}
    return e.func(seed=seed, **bound)


@pytest.mark.parametrize("name", ["saddle", "torus", "klein_bottle", "sphere_product", "revolution"])
def test_at_zero_the_draw_is_the_datasets_own_bit_for_bit(name):
    for noise in (0.0, 0.02):
        via_registry = registry.make_dataset(name, seed=3, noise=noise, **SMALL)
        direct = own_draw(name, 3, noise=noise, **SMALL)
        np.testing.assert_array_equal(via_registry.points, direct.points)
        np.testing.assert_array_equal(via_registry.curvature, direct.curvature)
        np.testing.assert_array_equal(via_registry.eval_idx, direct.eval_idx)


def test_outliers_replace_only_non_evaluation_rows_uniformly_in_the_clean_box():
    n, frac = 3000, 0.2
    clean = registry.make_dataset("saddle", seed=1, n_points=n, n_eval=40)
    dirty = registry.make_dataset("saddle", seed=1, n_points=n, n_eval=40, outliers=frac)
    rows = dirty.meta["outlier_rows"]
    assert rows.size == dirty.meta["outlier_count"] == round(frac * (n - 40))
    assert not np.intersect1d(rows, dirty.eval_idx).size  # evaluation rows are never replaced
    keep = np.setdiff1d(np.arange(n), rows)
    np.testing.assert_array_equal(dirty.points[keep], clean.points[keep])  # the clean draw is unchanged
    np.testing.assert_array_equal(dirty.curvature, clean.curvature)
    np.testing.assert_array_equal(dirty.eval_idx, clean.eval_idx)
    lo, hi = clean.points.min(axis=0), clean.points.max(axis=0)
    out = dirty.points[rows]
    assert np.all(out >= lo) and np.all(out <= hi)
    for k in range(out.shape[1]):  # uniform in the box, coordinate by coordinate
        assert stats.kstest(out[:, k], stats.uniform(lo[k], hi[k] - lo[k]).cdf).pvalue > 1e-3
    # the outliers' own stream: the same rows whatever the dataset's noise, and with noise the clean
    # cloud's box is used (not the noisy cloud's)
    noisy = registry.make_dataset("saddle", seed=1, n_points=n, n_eval=40, outliers=frac, noise=0.05)
    np.testing.assert_array_equal(noisy.meta["outlier_rows"], rows)
    np.testing.assert_array_equal(noisy.points[rows], out)


def test_noise_spread_scales_the_datasets_noise_linearly_along_a_direction():
    n, sd, spread = 4000, 0.05, 0.6
    clean = registry.make_dataset("sphere_cap", seed=2, n_points=n, noise=0.0)
    homo = registry.make_dataset("sphere_cap", seed=2, n_points=n, noise=sd)
    hetero = registry.make_dataset("sphere_cap", seed=2, n_points=n, noise=sd, noise_spread=spread)
    assert hetero.meta["noise_spread_applied"] is True
    np.testing.assert_array_equal(hetero.curvature, clean.curvature)
    mult, direction = hetero.meta["noise_multiplier"], hetero.meta["noise_spread_direction"]
    # the multiplier is affine in the clean point's position along the direction, from 1 - s to 1 + s
    proj = clean.points @ direction
    t = (2 * proj - proj.min() - proj.max()) / (proj.max() - proj.min())
    np.testing.assert_allclose(mult, 1 + spread * t, atol=1e-12)
    assert mult.min() == pytest.approx(1 - spread) and mult.max() == pytest.approx(1 + spread)
    # the dataset's own noise draw, scaled row by row (its law: N(0, (m_i sd)^2 I))
    np.testing.assert_allclose(hetero.points - clean.points, mult[:, None] * (homo.points - clean.points),
                               atol=1e-12)
    resid = (hetero.points - clean.points) / mult[:, None] / sd  # standard normal, every row alike
    z2 = np.sum(resid**2, axis=1)
    dims = clean.points.shape[1]
    for part in np.array_split(np.argsort(mult), 4):  # each quarter along the direction: E|z|^2 = D
        assert abs(z2[part].mean() - dims) < 4 * np.sqrt(2 * dims / part.size)
    raw = np.sum((hetero.points - clean.points) ** 2, axis=1)  # and the raw noise does grow along it
    assert raw[mult > 1.3].mean() > 2.5 * raw[mult < 0.7].mean()


def test_noise_spread_without_noise_and_determinism():
    a = registry.make_dataset("torus", seed=4, noise_spread=0.5, **SMALL)
    np.testing.assert_array_equal(a.points, registry.make_dataset("torus", seed=4, **SMALL).points)
    assert a.meta["noise_spread_applied"] is False
    kw = {"noise": 0.03, "noise_spread": 0.4, "outliers": 0.1, **SMALL}
    b, c = (registry.make_dataset("klein_bottle", seed=5, **kw) for _ in range(2))
    np.testing.assert_array_equal(b.points, c.points)
    assert b.points.shape == (400, 8) and b.meta["outlier_count"] == round(0.1 * (400 - 64))


def test_corruptions_are_dataset_parameters_with_types_and_identity():
    e = registry.entry(DATASET, "quadric")
    assert e.defaults["outliers"] == 0.0 and e.defaults["noise_spread"] == 0.0
    for params, match in (({"outliers": 0.5}, "outliers"), ({"noise_spread": 1.0}, "noise_spread"),
                          ({"outliers": -0.1}, "outliers")):
        with pytest.raises(ValueError, match=match):
            registry.make_dataset("saddle", seed=0, **params)
    plain = CellSpec.create("saddle", {}, "constant", {}, 0)
    dirty = CellSpec.create("saddle", {"outliers": 0.1}, "constant", {}, 0)
    assert plain.key != dirty.key and dirty.dataset_params["outliers"] == 0.1
    assert CellSpec.create("saddle", {"outliers": 0}, "constant", {}, 0).key == plain.key  # coerced


def test_a_dataset_may_not_declare_a_corruption_itself():
    def make(*, seed: int, outliers: float = 0.0):
        raise AssertionError("never drawn")

    with pytest.raises(TypeError, match="reserved"):
        registry.register_dataset("declares_outliers_itself")(make)
    assert "declares_outliers_itself" not in registry.list_datasets()


def test_plugin_datasets_get_the_corruptions_without_edits():
    from colosseum.contract import Sample

    def toy(*, seed: int, n: int = 30):
        rng = np.random.default_rng(seed)
        return Sample(points=rng.standard_normal((n, 3)), eval_idx=np.array([0, 1]), curvature=np.array([1.0, -1.0]),
                      dim=2)

    out = corruptions.draw(toy, 4, {"n": 30, "outliers": 0.25, "noise_spread": 0.0})
    clean = toy(seed=4)
    assert out.meta["outlier_count"] == 7  # round(0.25 * 28)
    np.testing.assert_array_equal(out.points[:2], clean.points[:2])
    assert (out.points != clean.points).any(axis=1).sum() == 7
