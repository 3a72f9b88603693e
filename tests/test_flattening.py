"""Neural flattening (colosseum.estimators.flattening) and the DC2 methods built on it (dc_rfae, dc_mioflattener).

What must hold:
- metrics: an isometric copy of a flat cloud has radial distortion 0 and keeps every neighbour; two
  large uniform d-ball samples have MMD^2 ~ 0 and a centre-heavy sample a clearly larger one;
- RFAE on a sphere cap: the linear chart (orthogonal projection onto the tangent plane) maps geodesic
  radius theta to sin(theta), a relative radial error 1 - sin(theta)/theta that grows to ~0.34 at the rim
  of a 1.5-rad cap; the RFAE must do better than half of that error (averaged over the cap's points),
  measured against the TRUE geodesic distances (so the Dijkstra estimate of d_M is part of the test);
- MIOFlattener lowers the MMD^2 to the uniform ball of a non-uniform input embedding;
- its flow's solver error is small next to its training noise: the default Heun and Tsit5 (3x the field
  evaluations) give nearly the same flow for one seed, much nearer than two seeds give each other; and
  storing the solver steps for the backward pass trains the very same flow as recomputing them;
- both are deterministic for a seed;
- dc_rfae gets the sign of a unit sphere cap (S = 2) and a saddle (S(0) = -8) right in d = 2.

Sizes are tiny (neighbourhoods of 300 points, small step budgets) and shared between tests so that
each trainer compiles once per session.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect

import numpy as np
import pytest
from omegaconf import OmegaConf

from colosseum import paths, registry
from colosseum.estimators.balls import uniform_ball
from colosseum.estimators.flattening import flattened, metrics, mioflow, neighbourhood, rfae
from colosseum.estimators.knn import geodesic_distances

N_NB = 300                                   # neighbourhood size of every flattening in this file
RFAE = rfae.RFAEConfig(steps=200)
MIO = mioflow.MIOConfig(steps=100, batch=128)
SETTINGS = flattened.FlattenSettings(neighbourhood=N_NB)


@functools.cache
def cap(angle: float = 1.5, n: int = N_NB, seed: int = 0):
    return registry.make_dataset("sphere_cap", seed=seed, dim=2, cap_angle=angle, n_points=n, n_eval=1)


# ----------------------------------------------------------------------------- metrics

def test_metrics_on_exact_copies():
    rng = np.random.default_rng(0)
    flat = uniform_ball(400, 2, rng)
    flat[0] = 0.0
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    moved = np.c_[flat, np.zeros(400)] @ Q.T + rng.standard_normal(3)   # isometric copy in R^3
    radial = np.linalg.norm(moved - moved[0], axis=1)
    assert metrics.radial_distortion(flat, radial) < 1e-12
    assert metrics.knn_overlap(moved, flat, k=10) == 1.0
    assert metrics.knn_overlap(flat, flat, k=10) == 1.0
    assert metrics.radial_w1(flat, radial) < 1e-12
    D = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    assert metrics.knn_overlap(D, flat, k=10) == 1.0                          # distance-matrix input
    assert metrics.knn_overlap(flat, rng.permutation(flat), k=10) < 0.2       # broken correspondence


def test_mmd_zero_for_equal_laws_and_positive_otherwise():
    rng = np.random.default_rng(1)
    a, b = uniform_ball(1000, 2, rng), uniform_ball(1000, 2, rng)
    same = metrics.mmd2(a, b)
    heavy = b * np.linalg.norm(b, axis=1, keepdims=True)                 # radius U^(1/2) -> U: centre-heavy
    other = metrics.mmd2(a, heavy)
    assert abs(same) < 2e-3
    assert other > 10 * max(abs(same), 1e-4)
    a[0], heavy[0] = 0.0, 0.0                                            # flatness: the centre is row 0
    assert abs(metrics.flatness(a)) < 5e-3 < metrics.flatness(heavy)
    assert metrics.flatness(a * 3.7) == pytest.approx(metrics.flatness(a), abs=1e-6)  # scale-free


def test_geodesic_distances_on_a_line_are_exact():
    x = np.linspace(0, 1, 50)[:, None] * np.array([[1.0, 2.0, 2.0]]) / 3.0
    d = geodesic_distances(x, k=3, sources=[0])
    np.testing.assert_allclose(d[0], np.linspace(0, 1, 50), atol=1e-9)


# ----------------------------------------------------------------------------- RFAE

@functools.cache
def rfae_on_cap(seed: int = 0):
    s = cap()
    nb = neighbourhood.make_neighbourhood(s.points, 0, N_NB, SETTINGS.graph_knn)
    return nb, rfae.fit_rfae(nb, 2, RFAE, seed=seed)


def test_rfae_radial_distortion_on_a_sphere_cap_is_below_the_linear_charts():
    s = cap()
    nb, res = rfae_on_cap()
    pts = s.points[nb.rows]
    assert np.allclose(np.linalg.norm(pts, axis=1), 1.0)                 # unit sphere about the origin
    theta = np.arccos(np.clip(pts @ pts[0], -1, 1))                      # true geodesic distance from the centre
    linear_chart = float(np.mean(1 - np.sin(theta[1:]) / theta[1:]))    # relative radial error of the tangent projection
    assert linear_chart > 0.1
    got = metrics.radial_distortion(res.Z, theta)
    assert got < 0.5 * linear_chart, (got, linear_chart)
    assert metrics.knn_overlap(nb.X, res.Z) > 0.8
    assert res.Z.shape == (N_NB, 2) and np.all(res.Z[0] == 0)


def test_rfae_is_deterministic_for_a_seed():
    nb, res = rfae_on_cap(0)
    again = rfae.fit_rfae(nb, 2, RFAE, seed=0)
    np.testing.assert_array_equal(res.Z, again.Z)
    other = rfae.fit_rfae(nb, 2, RFAE, seed=1)
    assert not np.array_equal(res.Z, other.Z)


# ----------------------------------------------------------------------------- MIOFlattener

@functools.cache
def mio_on_centre_heavy(seed: int = 0):
    rng = np.random.default_rng(3)
    u = uniform_ball(N_NB, 2, rng)
    Z0 = u * np.linalg.norm(u, axis=1, keepdims=True) ** 1.5             # radius U^(1/2) -> U^(5/4): centre-heavy
    Z0[0] = 0.0
    radial = np.linalg.norm(Z0, axis=1)
    scale = float(np.quantile(radial[1:], MIO.quantile))
    return Z0, mioflow.fit_mioflattener(Z0, radial, scale, MIO, seed=seed)


def test_mioflattener_lowers_the_mmd_to_uniform():
    Z0, res = mio_on_centre_heavy()
    before, after = metrics.flatness(Z0), metrics.flatness(res.Z)
    assert before > 0.02
    assert after < 0.5 * before, (before, after)
    assert res.Z.shape == Z0.shape and np.all(res.Z[0] == 0)
    assert res.extra["energy"] > 0                                        # the path energy is integrated


def test_mioflattener_is_deterministic_for_a_seed():
    Z0, res = mio_on_centre_heavy(0)
    radial = np.linalg.norm(Z0, axis=1)
    again = mioflow.fit_mioflattener(Z0, radial, float(np.quantile(radial[1:], MIO.quantile)), MIO, seed=0)
    np.testing.assert_array_equal(res.Z, again.Z)


def test_mioflattener_solver_error_is_far_below_its_training_noise():
    Z0, res = mio_on_centre_heavy(0)
    radial = np.linalg.norm(Z0, axis=1)
    scale = float(np.quantile(radial[1:], MIO.quantile))
    assert MIO.solver == "heun" and MIO.store_steps
    tsit5 = mioflow.fit_mioflattener(Z0, radial, scale, dataclasses.replace(MIO, solver="tsit5"), seed=0)
    reseeded = mioflow.fit_mioflattener(Z0, radial, scale, MIO, seed=1)
    solver, retrain = np.abs(tsit5.Z - res.Z).max(), np.abs(reseeded.Z - res.Z).max()
    assert solver < 0.1 * retrain, (solver, retrain)
    recomputed = mioflow.fit_mioflattener(Z0, radial, scale, dataclasses.replace(MIO, store_steps=False), seed=0)
    np.testing.assert_array_equal(recomputed.Z, res.Z)


def test_flattened_comparison_spaces_centre_first():
    s = cap(1.0, 400)
    record: list = []
    space = flattened.flattened_space(rfae.RFAEFlattener(RFAE), SETTINGS, record)
    assert not space.point_independent
    E = space.draw(s.points, 5, 2, len(s.points), np.random.default_rng(0))
    assert E.shape == (N_NB, 2) and np.all(E[0] == 0)
    assert record and record[0][0] == 5
    assert set(record[0][1]) >= {"radial_distortion", "knn_overlap", "mmd"}


# ----------------------------------------------------------------------------- dc_rfae

@pytest.mark.parametrize("method", ["dc_rfae", "dc_mioflattener"])
def test_config_mirrors_signature_defaults(method):
    cfg = OmegaConf.to_container(OmegaConf.load(paths.CONFIGS / "method" / f"{method}.yaml"))
    assert cfg.pop("name") == method
    sig = inspect.signature(registry.entry("method", method).func)
    defaults = {k: p.default for k, p in sig.parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and k != "seed"}
    assert cfg == defaults
    assert all(type(cfg[k]) is type(v) for k, v in defaults.items())


def test_dc_rfae_signs_of_a_cap_and_a_saddle_in_d2():
    kw = {"knn": 60, "neighbourhood": N_NB, "steps": RFAE.steps}
    method = registry.make_method("dc_rfae", **kw)
    out = {}
    for name in ("sphere_cap", "saddle"):
        s = registry.make_dataset(name, seed=0, dim=2, n_points=600, n_eval=2)
        est = method.estimate(s.points, s.eval_idx, s.dim, seed=0)
        out[name] = est.values
        for key in ("radial_distortion", "knn_overlap", "mmd", "uniform_radial_w1"):
            assert est.diagnostics[key].shape == s.eval_idx.shape
        assert np.all(est.diagnostics["radial_distortion"] < 0.1)
    assert np.all(out["sphere_cap"] > 0), out
    assert np.all(out["saddle"] < 0), out
