"""The families beyond quadrics: bumps, revolution, sphere_product, image_manifold.

Every truth is checked independently of autodiff: closed forms (products of spheres, the ring torus,
graphs by their analytic derivatives), finite differences of the image renderer with a Gauss equation
written here in NumPy, the continuum limit of the image family, Gauss-Bonnet on the tori; sampling
against areas computed here; sign balance, interior evaluation rows, determinism.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from colosseum import geometry, preview, registry
from colosseum.contract import SkipCell
from colosseum.registry import DATASET


def plugin(name: str) -> dict:
    return registry.entry(DATASET, name).func.__globals__


def gauss_scalar_curvature(jac: np.ndarray, second: np.ndarray) -> np.ndarray:
    """S from Jacobians (m, D, d) and second derivatives (m, D, d, d) by the Gauss equation in NumPy
    (normal projection with g^-1, Riemann tensor contracted twice): independent of colosseum.geometry."""
    out = []
    for j, h in zip(jac, second):
        g = j.T @ j
        ginv = np.linalg.inv(g)
        normal = np.eye(j.shape[0]) - j @ ginv @ j.T
        ii = np.einsum("DE,Eij->Dij", normal, h)
        riem = np.einsum("Dik,Djl->ijkl", ii, ii) - np.einsum("Dil,Djk->ijkl", ii, ii)
        out.append(np.einsum("ik,jl,ijkl->", ginv, ginv, riem))
    return np.array(out)


def graph_derivatives(theta: np.ndarray, x: np.ndarray, dim: int, codim: int, n_bumps: int):
    """Analytic Jacobian (m, D, d) and second derivatives (m, D, d, d) of the bump graph (x, f(x))."""
    n_c = codim * n_bumps * dim
    h = theta[0]
    centres = theta[1:1 + n_c].reshape(codim, n_bumps, dim)
    widths = theta[1 + n_c:1 + n_c + codim * n_bumps].reshape(codim, n_bumps)
    amps = theta[1 + n_c + codim * n_bumps:].reshape(codim, n_bumps)
    z = x[:, None, None, :] / h - centres  # (m, c, K, d)
    e = amps * np.exp(-0.5 * np.sum(z * z, axis=-1) / widths**2)  # (m, c, K)
    grad = -np.einsum("mck,mckd->mcd", e / widths**2, z)
    hess = (np.einsum("mck,mcki,mckj->mcij", e / widths**4, z, z)
            - np.einsum("mck,ij->mcij", e / widths**2, np.eye(dim))) / h
    m = len(x)
    jac = np.concatenate([np.broadcast_to(np.eye(dim), (m, dim, dim)), grad], axis=1)
    second = np.concatenate([np.zeros((m, dim, dim, dim)), hess], axis=1)
    return jac, second


def chi_square_ok(counts: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """(statistic, its 0.999 quantile) of Pearson's test of counts against cell probabilities."""
    expected = counts.sum() * probs / probs.sum()
    stat = float(np.sum((counts - expected) ** 2 / expected))
    return stat, float(stats.chi2.ppf(0.999, len(counts) - 1))


# ----------------------------------------------------------------------------- bumps

@pytest.mark.parametrize("kw", [{}, {"codim": 2, "n_bumps": 3},
                                {"dim": 3, "n_points": 2000, "eval_radius": 0.25, "cone_angle": 60.0}])
def test_bumps_truth_is_the_graphs_gauss_equation(kw):
    s = registry.make_dataset("bumps", seed=3, **kw)
    dim, codim, k = kw.get("dim", 2), kw.get("codim", 1), kw.get("n_bumps", 4)
    x = np.asarray(s.meta["eval_params"])
    jac, second = graph_derivatives(s.meta["surface_theta"], x, dim, codim, k)
    np.testing.assert_allclose(s.curvature, gauss_scalar_curvature(jac, second), rtol=1e-8, atol=1e-10)
    if dim == 2 and codim == 1:  # and the surface-graph closed form 2 (f_xx f_yy - f_xy^2) / (1 + |grad f|^2)^2
        gr, hs = jac[:, 2], second[:, 2]
        closed = 2 * (hs[:, 0, 0] * hs[:, 1, 1] - hs[:, 0, 1] ** 2) / (1 + np.sum(gr * gr, axis=1)) ** 2
        np.testing.assert_allclose(s.curvature, closed, rtol=1e-8, atol=1e-10)


def test_bumps_at_a_critical_point_the_hessian_formula_holds():
    """One bump per component: at its centre the gradient vanishes, S = (tr H)^2 - |H|^2 = d(d-1) a^2."""
    fam = plugin("bumps")["bumps_family"]
    for dim in (2, 3):
        h, w, amp = 1.5, 0.4, -0.3
        theta = np.concatenate([[h], np.full(dim, 0.1), [w], [amp]])
        a = amp / (w**2 * h)  # H = -a I at the centre
        s = geometry.scalar_curvature(geometry.Family(fam(dim, 1, 1), theta), np.full(dim, 0.1 * h))
        assert float(s) == pytest.approx(dim * (dim - 1) * a**2, rel=1e-10)


def test_bumps_rows_are_interior_clearly_signed_and_balanced_by_sign():
    shares = []
    for seed in range(6):
        s = registry.make_dataset("bumps", seed=seed, n_eval=16)
        x = np.asarray(s.meta["eval_params"])
        assert np.all(1.0 - np.abs(x).max(axis=1) >= 0.3 - 1e-12)  # eval_margin * half_width inside the box
        assert np.all(np.abs(s.curvature) > s.meta["eval_threshold"]) and s.meta["eval_threshold"] >= 0.05
        assert np.sum(s.curvature > 0) == 8  # balanced by row selection, in every draw
        shares.append(np.mean(s.curvature > 0))
    assert np.mean(shares) == 0.5
    odd = [registry.make_dataset("bumps", seed=seed, n_eval=5) for seed in (0, 1)]
    assert [int(np.sum(o.curvature > 0)) for o in odd] == [3, 2]  # the extra row follows the seed's parity


def row_params(sample, embed, check: int = 200) -> np.ndarray:
    """meta["row_params"] of a noise-free sample, checked against its points: the embedded parameters
    have the points' pairwise distances (the cloud is the embedding, rotated)."""
    u = np.asarray(sample.meta["row_params"])
    assert u.shape == (len(sample.points), sample.dim)
    sub = np.arange(min(check, len(u)))
    emb = geometry.points(embed, u[sub])
    pts = np.asarray(sample.points)[sub]
    d_emb = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    np.testing.assert_allclose(np.linalg.norm(pts[:, None] - pts[None], axis=-1), d_emb, atol=1e-9)
    return u


def test_bumps_are_volume_uniform():
    """Counts in a 4 x 4 grid of parameter cells against the cells' areas (analytic sqrt(1 + |grad f|^2))."""
    n = 20_000
    s = registry.make_dataset("bumps", seed=2, n_points=n, n_eval=2)
    theta = s.meta["surface_theta"]
    u = row_params(s, geometry.Family(plugin("bumps")["bumps_family"](2, 1, 4), theta))
    m = 400
    axis = (np.arange(m) + 0.5) / m * 2 - 1
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    area = np.sqrt(1 + np.sum(graph_derivatives(theta, grid, 2, 1, 4)[0][:, 2] ** 2, axis=1))
    cell = lambda x: np.minimum(((x + 1) * 2).astype(int), 3)  # noqa: E731 - index of the 4 x 4 cell
    probs = np.bincount(cell(grid[:, 0]) * 4 + cell(grid[:, 1]), weights=area, minlength=16)
    counts = np.bincount(cell(u[:, 0]) * 4 + cell(u[:, 1]), minlength=16).astype(float)
    stat, limit = chi_square_ok(counts, probs)
    assert stat < limit, (stat, limit)
    flat = np.ones(16)  # uniform in the box: must be refused (the test has power)
    assert chi_square_ok(counts, flat)[0] > limit


def test_bumps_determinism_and_bad_parameters():
    a, b = (registry.make_dataset("bumps", seed=4, n_points=400, noise=0.01) for _ in range(2))
    c = registry.make_dataset("bumps", seed=5, n_points=400, noise=0.01)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.curvature, b.curvature)
    assert not np.array_equal(a.points, c.points)
    for params, match in (({"amp_min": 0.5, "amp_max": 0.2}, "amp_min"), ({"eval_radius": 0.4}, "eval_margin"),
                          ({"dim": 4}, "dim")):
        with pytest.raises(ValueError, match=match):
            registry.make_dataset("bumps", seed=0, **params)
    with pytest.raises(SkipCell, match="ambient_dim=2 is below the 3 dimensions its shape needs"):
        registry.make_dataset("bumps", seed=0, ambient_dim=2)  # a battery's rotation that does not apply


# ----------------------------------------------------------------------------- revolution

def section_curve(theta: np.ndarray, t: np.ndarray):
    """(rho, z, |gamma'|) of the cross-section in NumPy (derivative analytic), for areas and Pappus."""
    big_r, a, b, tilt = theta[:4]
    k = np.arange(2, (len(theta) - 4) // 2 + 2)
    alpha, beta = theta[4:4 + k.size], theta[4 + k.size:]
    r = 1 + np.cos(np.outer(t, k)) @ alpha + np.sin(np.outer(t, k)) @ beta
    dr = (-np.sin(np.outer(t, k)) * k) @ alpha + (np.cos(np.outer(t, k)) * k) @ beta
    x, y = a * r * np.cos(t), b * r * np.sin(t)
    dx, dy = a * (dr * np.cos(t) - r * np.sin(t)), b * (dr * np.sin(t) + r * np.cos(t))
    rho = big_r + np.cos(tilt) * x - np.sin(tilt) * y
    z = np.sin(tilt) * x + np.cos(tilt) * y
    return rho, z, np.hypot(dx, dy)


def test_revolution_with_a_circular_tube_is_the_ring_torus():
    R, r = 2.0, 0.7
    s = registry.make_dataset("revolution", seed=5, major_radius=R, tube_radius=r, max_aspect=1.0, wobble=0.0,
                              n_eval=64)
    angle = np.asarray(s.meta["eval_params"])[:, 0] + s.meta["section_tilt"]  # angle around the tube
    np.testing.assert_allclose(s.curvature, 2 * np.cos(angle) / (r * (R + r * np.cos(angle))), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_revolution_gauss_bonnet_and_area(seed):
    """Integral of K dA over the torus = 2 pi chi = 0 (periodic trapezoid rule, spectrally accurate), with the
    dataset's own truth and area element; the area equals Pappus' 2 pi * length * centroid distance."""
    embed = plugin("revolution")["drawn_surface"](seed)
    m = 256
    t = np.arange(m) / m * 2 * np.pi - np.pi
    grid = np.stack(np.meshgrid(t, np.array([-np.pi, 0.0]), indexing="ij"), -1).reshape(-1, 2)
    k_da = 0.5 * geometry.scalar_curvature(embed, grid) * geometry.volume_element(embed, grid)
    cell = (2 * np.pi / m) * np.pi  # dt * dphi, with two phi columns standing for 2 pi
    total, absolute = k_da.sum() * cell, np.abs(k_da).sum() * cell
    assert abs(total) < 1e-9 * absolute, (total, absolute)
    rho, _, speed = section_curve(embed.theta, t)
    area = geometry.volume_element(embed, grid).sum() * cell
    assert area == pytest.approx(2 * np.pi * np.sum(rho * speed) * 2 * np.pi / m, rel=1e-10)  # Pappus
    assert k_da.max() > 0 > k_da.min()  # a torus has both signs


def test_revolution_rows_are_balanced_by_sign_and_clearly_signed():
    for seed in range(4):
        s = registry.make_dataset("revolution", seed=seed, n_eval=20)
        assert np.sum(s.curvature > 0) == 10 and np.all(np.abs(s.curvature) > s.meta["eval_threshold"])
        assert s.meta["eval_threshold"] >= 0.02
    odd = [registry.make_dataset("revolution", seed=seed, n_eval=7) for seed in (2, 3)]
    assert [int(np.sum(o.curvature > 0)) for o in odd] == [4, 3]


def test_revolution_is_volume_uniform():
    """Counts of t in 12 bins against the bins' areas rho |gamma'| (NumPy), phi uniform (Kolmogorov-Smirnov)."""
    n = 20_000
    s = registry.make_dataset("revolution", seed=1, n_points=n, n_eval=2)
    embed = plugin("revolution")["drawn_surface"](1)
    u = row_params(s, embed)
    m = 1200
    t = (np.arange(m) + 0.5) / m * 2 * np.pi - np.pi
    rho, _, speed = section_curve(embed.theta, t)
    probs = (rho * speed).reshape(12, -1).sum(axis=1)
    counts = np.histogram(u[:, 0], bins=12, range=(-np.pi, np.pi))[0]
    stat, limit = chi_square_ok(counts, probs)
    assert stat < limit, (stat, limit)
    assert chi_square_ok(counts, np.ones(12))[0] > limit  # uniform in t is refused: the test has power
    assert stats.kstest(u[:, 1], stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3


def test_revolution_determinism_and_bad_parameters():
    a, b = (registry.make_dataset("revolution", seed=3, n_points=300, noise=0.01, ambient_dim=5) for _ in range(2))
    np.testing.assert_array_equal(a.points, b.points)
    assert a.points.shape == (300, 5)
    assert not np.array_equal(a.points, registry.make_dataset("revolution", seed=4, n_points=300, noise=0.01,
                                                               ambient_dim=5).points)
    for params, match in (({"wobble": 0.3}, "wobble"), ({"tube_radius": 1.9}, "axis"), ({"max_aspect": 0.5}, "max_aspect")):
        with pytest.raises(ValueError, match=match):
            registry.make_dataset("revolution", seed=0, **params)


# ----------------------------------------------------------------------------- sphere_product

@pytest.mark.parametrize("dims, radii", [([2, 1], [1.0, 1.0]), ([2, 2], [1.0, 2.0]), ([3, 1], [1.5, 0.7]),
                                         ([1, 1], [1.0, 0.5]), ([2, 3, 1], [1.0, 2.0, 0.5])])
def test_sphere_product_truth_is_the_closed_form(dims, radii):
    s = registry.make_dataset("sphere_product", seed=1, dims=dims, radii=radii, n_points=300)
    want = sum(a * (a - 1) / r**2 for a, r in zip(dims, radii))
    np.testing.assert_allclose(s.curvature, want, rtol=1e-10, atol=1e-12)
    assert s.dim == sum(dims) and s.points.shape == (300, sum(a + 1 for a in dims))
    # the clean points lie on the product of spheres of those radii (rotation and noise aside: pairwise
    # distances of the eval rows' unit vectors, scaled, equal those of their points)
    units, pts = np.asarray(s.meta["eval_params"]), s.points[s.eval_idx]
    scaled = units * np.repeat(radii, [a + 1 for a in dims])
    np.testing.assert_allclose(np.linalg.norm(scaled[:, None] - scaled[None], axis=-1),
                               np.linalg.norm(pts[:, None] - pts[None], axis=-1), atol=1e-9)


def test_sphere_product_samples_each_factor_uniformly():
    """Archimedes: a coordinate of a uniform point on S^2 is uniform on [-1, 1]; a circle's angle is
    uniform; the factors are independent."""
    n = 4000
    s = registry.make_dataset("sphere_product", seed=2, dims=[2, 1], radii=[1.0, 3.0], n_points=n, n_eval=n)
    units = np.asarray(s.meta["eval_params"])
    assert stats.kstest(units[:, 2], stats.uniform(-1, 2).cdf).pvalue > 1e-3
    assert stats.kstest(np.arctan2(units[:, 4], units[:, 3]), stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3
    assert abs(stats.pearsonr(units[:, 2], units[:, 3])[0]) < 4 / np.sqrt(n)
    slope = 0.6  # density 1 + s x_1 on the first factor: P(x_1 > 0) = (1 + s / 2) / 2
    t = registry.make_dataset("sphere_product", seed=2, dims=[2, 1], n_points=n, n_eval=n, density_slope=slope)
    share, want = np.mean(np.asarray(t.meta["eval_params"])[:, 0] > 0), (1 + slope / 2) / 2
    assert abs(share - want) < 4 * np.sqrt(want * (1 - want) / n)


def test_sphere_product_parameters_are_checked():
    for params, match in (({"dims": [2, 1], "radii": [1.0]}, "one entry per factor"), ({"dims": [0, 2]}, "dimension"),
                          ({"radii": [1.0, -1.0]}, "positive"), ({"dims": [1.5, 1]}, "integers")):
        with pytest.raises(ValueError, match=match):
            registry.make_dataset("sphere_product", seed=0, **params)
    with pytest.raises(SkipCell, match="ambient_dim=4 is below the 5 dimensions"):
        registry.make_dataset("sphere_product", seed=0, ambient_dim=4)
    a, b = (registry.make_dataset("sphere_product", seed=3, dims=[2, 2], n_points=200, ambient_dim=8, noise=0.01)
            for _ in range(2))
    np.testing.assert_array_equal(a.points, b.points)
    assert a.points.shape == (200, 8)


# ----------------------------------------------------------------------------- image_manifold

IMAGE = {"n_points": 400, "n_eval": 16}  # one size for the image draws here: shared compilations


@pytest.fixture(scope="module")
def image_draws():
    return {dim: registry.make_dataset("image_manifold", seed=dim, dim=dim, **IMAGE) for dim in (2, 3, 4)}


def image_embed(dim: int, size: int = 16, normalise: str = "contrast", position_range: float = 0.3,
                width_min: float = 0.15, width_max: float = 0.3, elongation: float = 0.4):
    return plugin("image_manifold")["image_embed"](size, dim, normalise, position_range, width_min, width_max,
                                                   elongation, 1.0)


def test_image_truth_agrees_with_finite_differences_of_the_renderer(image_draws):
    """Second-order central differences of the rendered images (no autodiff) in the NumPy Gauss equation."""
    for dim, s in image_draws.items():
        u = np.asarray(s.meta["eval_params"])[:6]
        h = 1e-3
        eye = np.eye(dim) * h
        f = lambda v: geometry.points(image_embed(dim), v)  # noqa: E731
        jac = np.stack([(f(u + eye[i]) - f(u - eye[i])) / (2 * h) for i in range(dim)], axis=-1)
        second = np.empty(jac.shape + (dim,))
        for i in range(dim):
            for j in range(dim):
                second[..., i, j] = (f(u + eye[i] + eye[j]) - f(u + eye[i] - eye[j]) - f(u - eye[i] + eye[j])
                                     + f(u - eye[i] - eye[j])) / (4 * h * h)
        # truncation O(h^2) ~ 1e-6 relative, rounding ~ 1e-16 / h^2 = 1e-10
        np.testing.assert_allclose(s.curvature[:6], gauss_scalar_curvature(jac, second), rtol=2e-4)


def test_unit_normalised_blobs_are_a_hyperbolic_plane_in_the_continuum():
    """Unit-norm Gaussian blobs are square roots of Gaussian densities (the Hellinger embedding): position and
    width make a hyperbolic plane, S = -2, whatever the parametrization. A 32 x 32 grid with round blobs well
    inside it is close to the continuum (tails cut at about e^-8)."""
    embed = image_embed(2, size=32, normalise="unit", position_range=0.2, width_min=0.1, width_max=0.2,
                        elongation=0.0)
    u = np.random.default_rng(0).uniform(-1, 1, size=(16, 2))
    np.testing.assert_allclose(geometry.scalar_curvature(embed, u), -2.0, atol=1e-3)


def test_image_rows_are_interior_and_clearly_curved(image_draws):
    for dim, s in image_draws.items():
        u = np.asarray(s.meta["eval_params"])
        assert np.all(1 - np.abs(u).max(axis=1) >= 0.2 - 1e-12)
        assert np.mean(np.abs(s.curvature) > 0.5) >= 0.9 and s.meta["nonzero_share"] >= 0.9
        assert s.points.shape == (400, 256) and s.meta["images"].shape == (8, 16, 16)
        # the images are the renderer's at the evaluation rows' parameters
        np.testing.assert_allclose(s.meta["images"].reshape(8, -1), geometry.points(image_embed(dim), u[:8]))


def test_image_manifold_is_volume_uniform():
    n = 10_000
    s = registry.make_dataset("image_manifold", seed=7, n_points=n, n_eval=16)
    embed = image_embed(2)
    u = row_params(s, embed)
    m = 60  # area of 4 x 4 parameter cells from finite-difference Jacobians of the renderer (no autodiff)
    axis = (np.arange(m) + 0.5) / m * 2 - 1
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    h = 1e-5
    jac = np.stack([(geometry.points(embed, grid + h * e) - geometry.points(embed, grid - h * e)) / (2 * h)
                    for e in np.eye(2)], axis=-1)
    area = np.sqrt(np.linalg.det(np.swapaxes(jac, 1, 2) @ jac))
    cell = lambda x: np.minimum(((x + 1) * 2).astype(int), 3)  # noqa: E731
    probs = np.bincount(cell(grid[:, 0]) * 4 + cell(grid[:, 1]), weights=area, minlength=16)
    counts = np.bincount(cell(u[:, 0]) * 4 + cell(u[:, 1]), minlength=16).astype(float)
    stat, limit = chi_square_ok(counts, probs)
    assert stat < limit, (stat, limit)
    assert chi_square_ok(counts, np.ones(16))[0] > limit


def test_image_preview_draws_the_images(tmp_path, image_draws):
    import matplotlib.image

    wide = matplotlib.image.imread(preview.draw(image_draws[2], tmp_path / "image.png"))
    plain = matplotlib.image.imread(preview.draw(registry.make_dataset("saddle", seed=0, n_points=200),
                                                 tmp_path / "saddle.png"))
    assert wide.shape[0] == plain.shape[0] and wide.shape[1] > 1.3 * plain.shape[1]  # a third panel: the images


def test_image_manifold_determinism_and_bad_parameters(image_draws):
    a, b = (registry.make_dataset("image_manifold", seed=2, noise=0.01, **IMAGE) for _ in range(2))
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.curvature, image_draws[2].curvature)  # the noise leaves the truth
    assert 0 < np.abs(a.points - image_draws[2].points).max() < 0.1
    for params, match in (({"width_min": 0.4}, "width_min"), ({"dim": 3, "elongation": 0.0}, "orientation"),
                          ({"normalise": "l1"}, "normalise")):
        with pytest.raises(ValueError, match=match):
            registry.make_dataset("image_manifold", seed=0, **params)
    with pytest.raises(SkipCell, match="ambient_dim=20 is below the 256 dimensions"):
        registry.make_dataset("image_manifold", seed=0, ambient_dim=20)  # the general battery's R^20
