"""Ground truth (colosseum.geometry) against the closed forms of ground-truth.md §4, its invariances,
the volume-uniform samplers (colosseum.sampling) and the built-in datasets.

Embeddings close over numpy float64 arrays, never over jnp arrays built outside x64 mode (those would
be float32 and cost about 1e-8 relative precision).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from colosseum import domains, geometry, registry, sampling

RTOL = 1e-9


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- embeddings

def sphere_graph(r: float):
    def embed(x):
        return jnp.concatenate([x, jnp.sqrt(r * r - jnp.sum(x * x))[None]])
    return embed


def torus(big_r: float, r: float):
    def embed(u):
        th, ph = u[0], u[1]
        rho = big_r + r * jnp.cos(th)
        return jnp.stack([rho * jnp.cos(ph), rho * jnp.sin(ph), r * jnp.sin(th)])
    return embed


def surface_graph(f):
    def embed(u):
        return jnp.stack([u[0], u[1], f(u[0], u[1])])
    return embed


def d_saddle(d: int, start: int = 1):
    signs = np.array([(-1.0) ** j for j in range(start, start + d)])

    def embed(x):
        return jnp.concatenate([x, jnp.sum(signs * x * x)[None]])
    return embed


def hyperboloid(a: float, c: float):
    def embed(v):
        u, th = v[0], v[1]
        s = a * jnp.sqrt(u * u + 1)
        return jnp.stack([s * jnp.cos(th), s * jnp.sin(th), c * u])
    return embed


def ellipsoid(a: float, b: float, c: float):
    def embed(v):
        th, ph = v[0], v[1]
        return jnp.stack([a * jnp.cos(th) * jnp.sin(ph), b * jnp.sin(th) * jnp.sin(ph), c * jnp.cos(ph)])
    return embed


def round_sphere_angles(r: float):
    """S^2 of radius r in spherical angles (theta = polar, phi = azimuth); regular away from the poles."""
    def embed(v):
        th, ph = v[0], v[1]
        return r * jnp.stack([jnp.sin(th) * jnp.cos(ph), jnp.sin(th) * jnp.sin(ph), jnp.cos(th)])
    return embed


def generic_3fold(x):
    """A tilted, curved 3-manifold in R^5 (codim 2, non-zero gradient): the invariance test subject."""
    f1 = x[0] + 0.3 * x[1] ** 2 - 0.5 * x[0] * x[2] + 0.2 * x[2] ** 3 + 0.4 * x[0] ** 2
    f2 = jnp.sin(x[0]) * x[1] + 0.4 * x[2] ** 2 - 0.3 * x[1] ** 2 + 0.6 * x[0] * x[1]
    return jnp.concatenate([x, jnp.stack([f1, f2])])


# ----------------------------------------------------------------------------- closed forms

@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_sphere_graph(d):
    r = 1.7
    u = rng(d).uniform(-1, 1, size=(6, d)) * 0.7 * r / np.sqrt(d)  # inside the graph's ball
    u[0] = 0.0
    s = geometry.scalar_curvature(sphere_graph(r), u)
    np.testing.assert_allclose(s, np.full(6, d * (d - 1) / r**2), rtol=RTOL)


def test_torus():
    big_r, r = 2.5, 0.5
    th = np.array([0.0, 0.4, np.pi / 3, 2.0, 2 * np.pi / 3, np.pi, 4.5])
    u = np.stack([th, np.linspace(-3.0, 3.0, th.size)], axis=1)
    s = geometry.scalar_curvature(torus(big_r, r), u)
    expect = 2 * np.cos(th) / (r * (big_r + r * np.cos(th)))
    np.testing.assert_allclose(s, expect, rtol=RTOL, atol=1e-12)
    # range [-2/(r(R-r)), 2/(r(R+r))] = [-2, 4/3] at the inner and outer equators
    assert s[0] == pytest.approx(4 / 3, rel=RTOL)
    assert s[5] == pytest.approx(-2.0, rel=RTOL)
    assert abs(float(geometry.scalar_curvature(torus(big_r, r), np.array([np.pi / 2, 0.3])))) < 1e-12


def test_saddle_surface():
    u = np.array([[0.0, 0.0], [0.5, 0.0], [0.3, -0.7], [-1.0, 1.0], [0.1, 0.2]])
    s = geometry.scalar_curvature(surface_graph(lambda x, y: x * x - y * y), u)
    expect = -8.0 / (1 + 4 * u[:, 0] ** 2 + 4 * u[:, 1] ** 2) ** 2
    np.testing.assert_allclose(s, expect, rtol=RTOL)
    assert s[0] == pytest.approx(-8.0, rel=RTOL)


@pytest.mark.parametrize("d, expect", [(2, -8.0), (3, -8.0), (4, -16.0), (5, -16.0), (6, -24.0)])
def test_d_dimensional_saddle_at_origin(d, expect):
    s = geometry.scalar_curvature(d_saddle(d), np.zeros(d))
    assert float(s) == pytest.approx(expect, rel=RTOL)


def test_d_dimensional_saddle_sign_convention():
    # starting j at 0 instead of 1 flips f and leaves S unchanged: d = 5 gives 4 - 4d = -16 either way
    assert float(geometry.scalar_curvature(d_saddle(5, start=0), np.zeros(5))) == pytest.approx(-16.0, rel=RTOL)


def test_one_sheet_hyperboloid():
    a, c = 2.0, 1.0
    v = np.array([[0.0, 0.8], [0.7, 2.1], [-1.3, -1.0]])
    s = geometry.scalar_curvature(hyperboloid(a, c), v)
    assert s[0] == pytest.approx(-2.0, rel=RTOL)
    assert s[1] == pytest.approx(-2 / 3.45**2, rel=RTOL)  # (a^2 + c^2) u^2 + c^2 = 5 * 0.49 + 1 = 3.45
    u = v[:, 0]
    np.testing.assert_allclose(s, -2 * c**2 / ((a**2 + c**2) * u**2 + c**2) ** 2, rtol=RTOL)
    # other constants (the peer package hard-codes a = 2, c = 1): a = 1, c = 3 at u = 0.5
    a, c, u = 1.0, 3.0, 0.5
    expect = -2 * c**2 / ((a**2 + c**2) * u**2 + c**2) ** 2
    assert float(geometry.scalar_curvature(hyperboloid(a, c), np.array([u, 0.0]))) == pytest.approx(expect, rel=RTOL)


def test_ellipsoid():
    a, b, c = 3.0, 2.0, 1.0
    th, ph = 0.3, 1.0
    s = float(geometry.scalar_curvature(ellipsoid(a, b, c), np.array([th, ph])))
    assert s == pytest.approx(0.38638, rel=1e-5)  # reference value, 5 digits
    closed = 2 * a**2 * b**2 * c**2 / (a**2 * b**2 * np.cos(ph) ** 2
                                       + c**2 * (b**2 * np.cos(th) ** 2 + a**2 * np.sin(th) ** 2)
                                       * np.sin(ph) ** 2) ** 2
    assert s == pytest.approx(closed, rel=RTOL)


def test_tilted_graph_is_not_the_hessian_only_value():
    # f = x + 0.5 x^2 + 0.7 y^2 at 0: grad f = (1, 0), H = diag(1, 1.4)
    # K = det H / (1 + |grad f|^2)^2 = 1.4 / 4 = 0.35  ->  S = 0.70   (Hessian-only: 2 det H = 2.8)
    s = float(geometry.scalar_curvature(surface_graph(lambda x, y: x + 0.5 * x * x + 0.7 * y * y),
                                        np.zeros(2)))
    assert s == pytest.approx(0.70, rel=RTOL)
    assert abs(s - 2.8) > 1.0


def test_general_surface_graph_formula_at_tilted_points():
    # S = 2 (f_xx f_yy - f_xy^2) / (1 + f_x^2 + f_y^2)^2 for f = x + 0.5 x^2 + 0.7 y^2 + 0.3 x y
    u = np.array([[0.0, 0.0], [0.4, -0.2], [-0.6, 0.9]])
    s = geometry.scalar_curvature(surface_graph(lambda x, y: x + 0.5 * x * x + 0.7 * y * y + 0.3 * x * y), u)
    x, y = u[:, 0], u[:, 1]
    fx, fy = 1 + x + 0.3 * y, 1.4 * y + 0.3 * x
    expect = 2 * (1.0 * 1.4 - 0.3**2) / (1 + fx**2 + fy**2) ** 2
    np.testing.assert_allclose(s, expect, rtol=RTOL)


def test_codim_two_graph_at_zero_gradient():
    # F(x, y) = (x, y, x^2 + y^2, x y) at 0: S = sum_k (tr H_k)^2 - |H_k|_F^2
    #   H_1 = diag(2, 2):        16 - 8 = 8
    #   H_2 = [[0, 1], [1, 0]]:   0 - 2 = -2          -> S = 6
    def emb(u):
        x, y = u[0], u[1]
        return jnp.stack([x, y, x * x + y * y, x * y])
    assert float(geometry.scalar_curvature(emb, np.zeros(2))) == pytest.approx(6.0, rel=RTOL)

    # d = 3, c = 2: f_1 = x^2 + y^2 - z^2 (H = diag(2, 2, -2): 4 - 12 = -8)
    #               f_2 = 2xy + yz     (H has off-diagonals 2 and 1: 0 - 2(4 + 1) = -10) -> S = -18
    def emb3(u):
        x, y, z = u[0], u[1], u[2]
        return jnp.stack([x, y, z, x * x + y * y - z * z, 2 * x * y + y * z])
    assert float(geometry.scalar_curvature(emb3, np.zeros(3))) == pytest.approx(-18.0, rel=RTOL)


def test_codim_two_products_of_spheres():
    # Clifford-type torus S^1(a) x S^1(b) in R^4 is flat
    a, b = 1.3, 0.6

    def flat_torus(u):
        return jnp.stack([a * jnp.cos(u[0]), a * jnp.sin(u[0]), b * jnp.cos(u[1]), b * jnp.sin(u[1])])
    u = rng(1).uniform(-3, 3, size=(5, 2))
    np.testing.assert_allclose(geometry.scalar_curvature(flat_torus, u), 0.0, atol=1e-12)

    # S^2(r1) x S^2(r2) in R^6 (codim 2): S = 2/r1^2 + 2/r2^2
    r1, r2 = 1.5, 0.8
    s2a, s2b = round_sphere_angles(r1), round_sphere_angles(r2)

    def product(v):
        return jnp.concatenate([s2a(v[:2]), s2b(v[2:])])
    v = np.array([[0.7, 0.1, 1.2, -2.0], [2.0, 3.0, 0.5, 0.4]])
    np.testing.assert_allclose(geometry.scalar_curvature(product, v), 2 / r1**2 + 2 / r2**2, rtol=RTOL)


# ----------------------------------------------------------------------------- shapes and dtypes

def test_output_shape_and_dtype():
    emb = sphere_graph(2.0)
    single = geometry.scalar_curvature(emb, np.array([0.1, 0.2]))
    assert np.shape(single) == () and single.dtype == np.float64
    batch = geometry.scalar_curvature(emb, np.zeros((4, 2)))
    assert batch.shape == (4,) and batch.dtype == np.float64
    # float32 input is accepted and computed in float64
    s32 = geometry.scalar_curvature(emb, np.array([0.1, 0.2], dtype=np.float32))
    assert s32.dtype == np.float64 and float(s32) == pytest.approx(0.5, rel=RTOL)


def test_batch_equals_pointwise():
    u = rng(2).uniform(-0.5, 0.5, size=(3, 3))
    batch = geometry.scalar_curvature(generic_3fold, u)
    single = float(geometry.scalar_curvature(generic_3fold, u[1]))
    assert batch[1] == pytest.approx(single, rel=1e-12)


def test_bad_u_rank_raises():
    with pytest.raises(ValueError, match=r"u must have shape \(d,\) or \(m, d\)"):
        geometry.scalar_curvature(sphere_graph(1.0), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"u must have shape"):
        geometry.scalar_curvature(sphere_graph(1.0), 0.0)


# ----------------------------------------------------------------------------- invariances

U3 = rng(3).uniform(-0.6, 0.6, size=(6, 3))


@pytest.fixture(scope="module")
def base_s():
    s = geometry.scalar_curvature(generic_3fold, U3)
    assert np.all(np.abs(s) > 0.05)  # a non-trivial test subject: curved, not near zero
    return s


def test_invariant_under_rotation_and_translation(base_s):
    q = sampling.random_rotation(5, rng(4))
    t = rng(5).standard_normal(5) * 10

    def moved(u):
        return q @ generic_3fold(u) + t
    np.testing.assert_allclose(geometry.scalar_curvature(moved, U3), base_s, rtol=RTOL)
    # an improper rotation (reflection) too
    refl = q.copy()
    refl[:, 0] *= -1
    np.testing.assert_allclose(geometry.scalar_curvature(lambda u: refl @ generic_3fold(u), U3), base_s,
                               rtol=RTOL)


def test_invariant_under_padding_into_higher_ambient_dimension(base_s):
    q = sampling.random_rotation(9, rng(6))

    def padded(u):
        return q @ jnp.concatenate([generic_3fold(u), jnp.zeros(4)])
    np.testing.assert_allclose(geometry.scalar_curvature(padded, U3), base_s, rtol=RTOL)


@pytest.mark.parametrize("lam", [0.3, -2.5])
def test_scaling_divides_by_lambda_squared(base_s, lam):
    s = geometry.scalar_curvature(lambda u: lam * generic_3fold(u), U3)
    np.testing.assert_allclose(s, base_s / lam**2, rtol=RTOL)


def test_invariant_under_affine_reparametrization(base_s):
    g = rng(7)
    a = g.standard_normal((3, 3)) + 2 * np.eye(3)
    assert abs(np.linalg.det(a)) > 0.5
    b = g.standard_normal(3)
    v = np.linalg.solve(a, (U3 - b).T).T  # A v + b = u

    def reparam(w):
        return generic_3fold(a @ w + b)
    np.testing.assert_allclose(geometry.scalar_curvature(reparam, v), base_s, rtol=RTOL)


def test_invariant_under_nonlinear_reparametrization():
    # phi(v) = v + 0.2 v^3 (componentwise, a diffeomorphism): S_{F o phi}(v) = S_F(phi(v))
    v = rng(8).uniform(-0.5, 0.5, size=(5, 3))
    u = v + 0.2 * v**3
    s_f = geometry.scalar_curvature(generic_3fold, u)
    s_g = geometry.scalar_curvature(lambda w: generic_3fold(w + 0.2 * w**3), v)
    np.testing.assert_allclose(s_g, s_f, rtol=RTOL)


def test_sphere_via_stereographic_chart_matches_graph():
    # two different charts of S^2(r): stereographic (the sphere_cap dataset's) and spherical angles
    r = 1.9
    v = np.array([[0.5, 0.2], [1.3, -2.0]])
    np.testing.assert_allclose(geometry.scalar_curvature(round_sphere_angles(r), v), 2 / r**2, rtol=RTOL)


def test_volume_element_of_the_saddle():
    u = np.array([[0.0, 0.0], [0.5, -0.25], [1.0, 1.0]])
    vol = geometry.volume_element(surface_graph(lambda x, y: x * x - y * y), u)
    np.testing.assert_allclose(vol, np.sqrt(1 + 4 * u[:, 0] ** 2 + 4 * u[:, 1] ** 2), rtol=RTOL)


# ----------------------------------------------------------------------------- sampling

def _within_4_sigma(hits: int, n: int, p: float) -> None:
    sigma = np.sqrt(p * (1 - p) / n)
    share = hits / n
    assert abs(share - p) <= 4 * sigma, f"share {share:.5f} vs expected {p:.5f} (4 sigma = {4 * sigma:.5f})"


@pytest.mark.parametrize("angle", [1.0, 2.5])
def test_geodesic_cap_is_area_uniform_on_s2(angle):
    n = 40_000
    direction, psi = sampling.geodesic_cap(2, angle, n, rng(11))
    assert direction.shape == (n, 2) and psi.shape == (n,)
    np.testing.assert_allclose(np.linalg.norm(direction, axis=1), 1.0, rtol=1e-12)
    assert psi.min() >= 0 and psi.max() <= angle
    for frac in (0.25, 0.5, 0.8):
        psi0 = frac * angle
        p = (1 - np.cos(psi0)) / (1 - np.cos(angle))  # cap area below psi0 over the whole cap
        _within_4_sigma(int(np.sum(psi < psi0)), n, p)
    # the direction is uniform on the circle: share in the first quadrant is 1/4
    _within_4_sigma(int(np.sum((direction[:, 0] > 0) & (direction[:, 1] > 0))), n, 0.25)


def test_geodesic_cap_is_volume_uniform_on_s3():
    # on S^3 the polar angle has density sin^2 psi: CDF(psi) = (psi - sin psi cos psi) / 2
    n, angle = 40_000, 1.2
    _, psi = sampling.geodesic_cap(3, angle, n, rng(12))
    cdf = lambda x: (x - np.sin(x) * np.cos(x)) / 2  # noqa: E731
    for psi0 in (0.4, 0.8, 1.0):
        _within_4_sigma(int(np.sum(psi < psi0)), n, cdf(psi0) / cdf(angle))


def test_geodesic_cap_rejects_bad_angles():
    for angle in (0.0, -1.0, 4.0):
        with pytest.raises(ValueError, match="cap angle must be in"):
            sampling.geodesic_cap(2, angle, 10, rng())


SADDLE = surface_graph(lambda x, y: x * x - y * y)
SUB_BOX = ((-0.5, 0.5), (-0.5, 0.5))  # the middle, where sqrt(det g) is well below its average


def _area_share_of_sub_box(cells: int = 2000) -> tuple[float, float]:
    """Share of the saddle's area over SUB_BOX among [-1, 1]^2 by the midpoint rule on a fine grid,
    and the share of parameter area (what a non-volume-uniform sampler would give)."""
    h = 2.0 / cells
    mid = -1 + h * (np.arange(cells) + 0.5)
    x, y = np.meshgrid(mid, mid, indexing="ij")
    dens = np.sqrt(1 + 4 * x**2 + 4 * y**2)  # sqrt(det g) = sqrt(1 + |grad f|^2)
    (x0, x1), (y0, y1) = SUB_BOX
    inside = (x > x0) & (x < x1) & (y > y0) & (y < y1)
    return float(dens[inside].sum() / dens.sum()), float(inside.mean())


@pytest.mark.parametrize("bound", [None, 3.0, 1.5])
def test_volume_uniform_on_the_saddle(bound):
    # bound None: dense-grid bound; 3.0 = sqrt(1 + 8), the exact maximum at the vertices;
    # 1.5 is not a bound: the sampler must notice, enlarge it and stay unbiased
    n = 20_000
    u, info = sampling.volume_uniform(SADDLE, domains.Box(2, 1.0), n, rng(13), bound=bound)
    assert u.shape == (n, 2) and np.all(np.abs(u) <= 1.0)
    p, flat = _area_share_of_sub_box()
    assert abs(p - flat) > 10 * np.sqrt(p * (1 - p) / n)  # the test can tell volume from parameter area
    (x0, x1), (y0, y1) = SUB_BOX
    hits = int(np.sum((u[:, 0] > x0) & (u[:, 0] < x1) & (u[:, 1] > y0) & (u[:, 1] < y1)))
    _within_4_sigma(hits, n, p)
    if bound == 1.5:
        assert info["bound_violations"] >= 1 and info["density_bound"] > 1.5  # grown past the bad bound
    else:
        assert info["bound_violations"] == 0
        assert info["density_bound"] >= 3.0 - 1e-12


# ----------------------------------------------------------------------------- datasets

SMALL = {"n_points": 300, "n_eval": 5}


@pytest.mark.parametrize("name", ["sphere_cap", "saddle"])
def test_dataset_is_deterministic_for_a_seed_and_varies_with_it(name):
    a = registry.make_dataset(name, seed=7, **SMALL)
    b = registry.make_dataset(name, seed=7, **SMALL)
    c = registry.make_dataset(name, seed=8, **SMALL)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.eval_idx, b.eval_idx)
    np.testing.assert_array_equal(a.curvature, b.curvature)
    assert a.points.shape == c.points.shape == (300, 3)
    assert not np.allclose(a.points, c.points)
    assert a.eval_idx.shape == a.curvature.shape == (5,) and a.eval_idx[0] == 0
    assert a.curvature.dtype == np.float64 and a.dim == 2
    # truth at the centre row 0 (defaults: d = 2, radius 1 / scale 1): sphere d(d-1)/r^2 = 2, saddle -8
    assert a.curvature[0] == pytest.approx(2.0 if name == "sphere_cap" else -8.0, rel=RTOL)
    # noise: the same seed draws the same parameters and rotation, then adds N(0, 0.05^2 I) to every row
    noisy = registry.make_dataset(name, seed=7, noise=0.05, **SMALL)
    assert noisy.meta["eval_rows_noised"] is True and a.meta["eval_rows_noised"] is False
    np.testing.assert_array_equal(noisy.eval_idx, a.eval_idx)
    np.testing.assert_array_equal(noisy.curvature, a.curvature)  # truth is at the clean parameter
    resid = noisy.points - a.points
    assert np.std(resid) == pytest.approx(0.05, rel=0.1)
    assert np.all(np.abs(resid[a.eval_idx]) > 0)  # evaluation rows are noised too


@pytest.mark.parametrize("dim, radius, ambient", [(2, 2.0, None), (4, 0.5, 6)])
def test_sphere_cap_truth_is_constant(dim, radius, ambient):
    s = registry.make_dataset("sphere_cap", seed=1, dim=dim, radius=radius, ambient_dim=ambient, **SMALL)
    np.testing.assert_allclose(s.curvature, dim * (dim - 1) / radius**2, rtol=RTOL)
    big_d = dim + 1 if ambient is None else ambient
    assert s.points.shape == (300, big_d) and s.meta["ambient_dim"] == big_d
    # noise-free points lie on a sphere of the given radius: fit |p|^2 = 2 p.c + k by least squares
    p = s.points
    sol, *_ = np.linalg.lstsq(np.c_[2 * p, np.ones(len(p))], np.sum(p * p, axis=1), rcond=None)
    centre, k = sol[:-1], sol[-1]
    np.testing.assert_allclose(np.linalg.norm(p - centre, axis=1), radius, rtol=1e-8)
    assert k + centre @ centre == pytest.approx(radius**2, rel=1e-8)
    # and within the cap: chord from the centre row at most 2 r sin(cap_angle / 2), cap_angle = 1.0
    chord = np.linalg.norm(p - p[0], axis=1)
    assert chord.max() <= 2 * radius * np.sin(0.5) + 1e-12


@pytest.mark.parametrize("dim, scale, centre, ambient", [(4, 1.0, -16.0, 7), (2, 0.5, -2.0, None)])
def test_saddle_truth_at_the_centre(dim, scale, centre, ambient):
    s = registry.make_dataset("saddle", seed=2, dim=dim, scale=scale, ambient_dim=ambient, **SMALL)
    big_d = dim + 1 if ambient is None else ambient
    assert s.points.shape == (300, big_d) and s.meta["ambient_dim"] == big_d
    assert s.eval_idx[0] == 0
    assert s.curvature[0] == pytest.approx(centre, rel=RTOL)
    # the centre row is the saddle point F(0) = 0, rotated: still the origin (no noise)
    np.testing.assert_allclose(s.points[0], 0.0, atol=1e-15)
    if dim == 2:
        # S = -8 s^2 / (1 + 4 s^2 |x|^2)^2 lies in [-8 s^2, 0) on the box
        assert np.all(s.curvature < 0) and np.all(s.curvature >= centre * (1 + 1e-12))


def test_saddle_truth_at_other_rows_matches_closed_form():
    # With ambient_dim = 3 and no noise the cloud is Q (x, y, x^2 - y^2) for an unknown rotation Q, so
    # every point satisfies one quadric p^T A p + b.p = 0 with A = Q diag(1, -1, 0) Q^T, b = -Q e3.
    # Fit it exactly (null vector of the design matrix); n = b / |b| is the normal at the centre,
    # z = p.n = +-(x^2 - y^2) and x^2 + y^2 = |p|^2 - z^2, so S = -8 / (1 + 4 (|p|^2 - z^2))^2 per row.
    s = registry.make_dataset("saddle", seed=3, n_points=400, n_eval=6)
    p = s.points
    design = np.column_stack([p[:, 0] ** 2, p[:, 1] ** 2, p[:, 2] ** 2, 2 * p[:, 0] * p[:, 1],
                              2 * p[:, 0] * p[:, 2], 2 * p[:, 1] * p[:, 2], p[:, 0], p[:, 1], p[:, 2]])
    _, sing, vt = np.linalg.svd(design, full_matrices=False)
    assert sing[-1] < 1e-10 * sing[0] < sing[-2]  # exactly one quadric through the cloud
    b = vt[-1, 6:]
    normal = b / np.linalg.norm(b)
    rows = p[s.eval_idx]
    r2 = np.sum(rows**2, axis=1) - (rows @ normal) ** 2
    assert np.ptp(r2) > 0.05  # the eval rows are not all at the centre: the check has teeth
    np.testing.assert_allclose(s.curvature, -8.0 / (1 + 4 * r2) ** 2, rtol=1e-8)


@pytest.mark.parametrize("name", ["sphere_cap", "saddle"])
@pytest.mark.parametrize("params, message", [
    ({"noise": -0.1}, "'noise' expects a finite number >= 0"),
    ({"ambient_dim": 2}, "ambient_dim must exceed the intrinsic dimension 2"),
    ({"eval_margin": 1.0}, "eval_margin"),
    ({"dim": 0}, "'dim' expects an integer >= "),
])
def test_dataset_bad_parameters_raise(name, params, message):
    with pytest.raises(ValueError, match=message):
        registry.make_dataset(name, seed=0, **{**SMALL, **params})


def test_dataset_specific_bad_parameters_raise():
    with pytest.raises(ValueError, match="'radius' expects a finite number > 0"):
        registry.make_dataset("sphere_cap", seed=0, radius=-1.0, **SMALL)
    with pytest.raises(ValueError, match=r"'cap_angle' expects a finite number in \(0, 3.14159\)"):
        registry.make_dataset("sphere_cap", seed=0, cap_angle=np.pi, **SMALL)
    with pytest.raises(ValueError, match="scale != 0"):
        registry.make_dataset("saddle", seed=0, scale=0.0, **SMALL)
    with pytest.raises(ValueError, match="'half_width' expects a finite number > 0"):
        registry.make_dataset("saddle", seed=0, half_width=0.0, **SMALL)
