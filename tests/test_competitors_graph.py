"""Graph-curvature competitors: ollivier_ricci, forman_ricci, diffusion_orc.

Sign tests use sizes where the mathematics says each method can see curvature, and assert on means:

- Ollivier-Ricci on a k-NN graph: the curvature term of kappa is about (1 - alpha) Ric(v, v) E|z - x|^2
  / (2n) ~ 0.01 at k = 40, N = 1000 on a unit sphere cap of angle 2.5, while one node's kappa has a
  standard deviation of ~0.03 (random neighbourhoods, heavy tails from near-duplicate points). One node
  cannot carry the sign; the mean over 96 interior nodes (48 evaluation rows x 2 seeds, standard error
  ~0.003) can.
- Forman-Ricci: the flat-subtracted node value moves by ~1-3 (edge-count units) with curvature at
  k = 40, against a per-node standard deviation of ~4: again a mean over many interior nodes.
  In d = 3 (N = 1500) the same k = 40 gives ~+0.03 (cap) and ~-0.02 (saddle) against a per-node
  standard deviation of ~0.02.
- Diffusion-ORC: kappa ~ Ric(v, v) sigma^2 / 2 with sigma the per-coordinate spread of P^t delta_i,
  ~0.05-0.1 for a unit cap at N = 1000, per-point standard deviation ~0.03-0.05: a mean over 8 rows
  (4 per seed) suffices. In d = 3 its spread is ~0.7 of a unit box at testable N, so the saddle and the
  plane are boundary-dominated there; only the cap (angle 2.5, far from its rim) is asserted.

Sphere caps use cap_angle = 2.5 (the unit sphere, S = d(d - 1)): constant curvature over a region
wide enough that graph neighbourhoods and diffusion supports of the evaluation rows stay inside it
(at cap_angle = 1 the rim is within reach of diffusion-ORC's measures and biases it).

"Plane close to zero relative to a unit sphere cap": on a plane the estimate should vanish (natively for
diffusion-ORC, after the flat subtraction for the other two), on the unit cap it is c S > 0 for some
calibration c > 0 of the method. A plane estimate nearer to 0 than to the cap's value is classified
as flat by the midpoint threshold, so the bound is |mean(plane)| < 1/2 mean(cap), both means over the
same number of rows and seeds, with the same parameters.

Clouds are built once per (dataset, dim, seed) and shared across the methods (dataset generation costs
about a second each).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from colosseum import registry
from colosseum.estimators import graph_curvature
from colosseum.estimators.knn import geodesic_distances, knn_graph

N2, N3 = 1000, 1500  # points in d = 2 and d = 3 clouds
SEEDS = (0, 1)


@functools.cache
def cloud(name: str, dim: int, seed: int):
    n = N2 if dim == 2 else N3
    extra = {"cap_angle": 2.5} if name == "sphere_cap" else {}
    return registry.make_dataset(name, seed=seed, dim=dim, n_points=n, n_eval=48, **extra)


def small_cloud(n: int = 300, dim: int = 2, seed: int = 0):
    return registry.make_dataset("sphere_cap", seed=seed, dim=dim, n_points=n, n_eval=4, cap_angle=2.0)


# ----------------------------------------------------------------------------- reference cross-check

REFERENCE = Path(__file__).parent / "data" / "grc_reference.npz"


def test_edge_curvatures_agree_with_graphriccicurvature():
    """GraphRicciCurvature 0.6.1's values on every edge of a small kNN graph, computed once by
    `python bench/bench_graph.py --write-fixture tests/data/grc_reference.npz` in the bench's own
    environment (GraphRicciCurvature pins scipy <= 1.13.1, which cannot live beside jax here).
    Exact EMD on both sides: agreement to 1e-10 (its own tests accept 1.5e-6)."""
    ref = np.load(REFERENCE)
    g = knn_graph(ref["points"], int(ref["k"]))
    u, v, kappa = graph_curvature.ollivier_ricci_all_edges(g, alpha=0.5)
    np.testing.assert_array_equal(u, ref["u"])
    np.testing.assert_array_equal(v, ref["v"])
    np.testing.assert_allclose(kappa, ref["kappa"], rtol=0, atol=1e-10)
    per_node = graph_curvature.forman_edges(g, np.arange(g.n), weighted=True)
    forman = {(a, int(b)): f for a, (nb, fs) in enumerate(per_node) for b, f in zip(nb, fs)}
    np.testing.assert_allclose([forman[(int(a), int(b))] for a, b in zip(u, v)], ref["forman"], rtol=0, atol=1e-10)
    # node values: GraphRicciCurvature's node curvature is the plain mean over the node's edges
    node = np.zeros(g.n)
    count = np.zeros(g.n)
    np.add.at(node, u, kappa)
    np.add.at(node, v, kappa)
    np.add.at(count, u, 1)
    np.add.at(count, v, 1)
    est = registry.make_method("ollivier_ricci", knn=int(ref["k"]), output="kappa").estimate(ref["points"], np.arange(10), 2)
    np.testing.assert_allclose(est.values, (node / count)[:10], atol=1e-10)


def test_knn_graph_is_symmetric_union_with_lengths():
    points = np.random.default_rng(1).normal(size=(200, 3))
    g = knn_graph(points, 5)
    L = g.lengths
    assert (L != L.T).nnz == 0
    i, j = L.nonzero()
    np.testing.assert_allclose(np.asarray(L[i, j]).ravel(), np.linalg.norm(points[i] - points[j], axis=1))
    assert min(g.degree(u) for u in range(200)) >= 5


def test_knn_graph_of_some_rows_and_geodesics_of_a_disconnected_cloud():
    points = np.random.default_rng(2).normal(size=(200, 3))
    full, rows = knn_graph(points, 5), np.arange(0, 200, 7)
    part = knn_graph(points, 5, rows=rows)  # only these rows' neighbour lists (symmetrised)
    for u in rows:
        nb, ln = part.neighbours(int(u))
        nb_full, ln_full = full.neighbours(int(u))
        assert len(nb) >= 5 and set(nb) <= set(nb_full)
        np.testing.assert_array_equal(ln, ln_full[np.isin(nb_full, nb)])
    # two far-apart blobs: k is doubled until the graph connects them, so every geodesic is finite
    blobs = np.concatenate([points[:100], points[100:] + 100.0])
    d = geodesic_distances(blobs, k=3, sources=[0, 150])
    assert np.isfinite(d).all() and d[0, 150] > 90


# ----------------------------------------------------------------------------- ollivier_ricci

def _orc_minus_flat(name: str, dim: int, knn: int = 40, seeds=SEEDS, rows: int = 48, flat_nodes: int = 64) -> float:
    """Mean of kappa - kappa_flat over the first `rows` evaluation rows of each seed: what the method
    returns with output="kappa_minus_flat" (checked below), with kappa_flat computed once per seed
    instead of once per call."""
    m = registry.make_method("ollivier_ricci", knn=knn, output="kappa")
    vals = []
    for seed in seeds:
        s = cloud(name, dim, seed)
        flat = _orc_flat(dim, knn, seed, len(s.points), flat_nodes)
        vals.append(m(s.points, s.eval_idx[:rows], dim, seed=seed) - flat)
    return float(np.mean(vals))


@functools.cache
def _orc_flat(dim: int, knn: int, seed: int, n: int, flat_nodes: int) -> float:
    return graph_curvature.orc_flat_reference(n, dim, knn, 0.5, "plain", flat_nodes, 1, seed)


def test_ollivier_ricci_signs_and_plane_d2():
    cap, saddle, plane = (_orc_minus_flat(n, 2) for n in ("sphere_cap", "saddle", "plane"))
    print(f"ORC kappa - kappa_flat, d=2, k=40: cap {cap:+.4f} saddle {saddle:+.4f} plane {plane:+.4f}")
    assert cap > 0
    assert saddle < 0
    assert abs(plane) < 0.5 * cap


def test_ollivier_ricci_signs_d3():
    # one seed, 24 rows, a 32-node flat reference: measured margins are ~5 standard errors
    cap, saddle = (_orc_minus_flat(n, 3, seeds=(0,), rows=24, flat_nodes=32) for n in ("sphere_cap", "saddle"))
    print(f"ORC kappa - kappa_flat, d=3, k=40: cap {cap:+.4f} saddle {saddle:+.4f}")
    assert cap > 0
    assert saddle < 0


def test_ollivier_ricci_outputs_diagnostics_and_determinism():
    s = small_cloud()
    outs = {o: registry.make_method("ollivier_ricci", knn=10, flat_nodes=16, output=o).estimate(
        s.points, s.eval_idx, 2, seed=3) for o in ("scalar", "kappa", "kappa_minus_flat", "scalar_minus_flat")}
    kappa, d = outs["kappa"].values, outs["kappa"].diagnostics
    flat = outs["kappa_minus_flat"].diagnostics["kappa_flat"]
    assert set(d) == {"kappa", "eps", "degree"}
    for e in outs.values():
        for v in e.diagnostics.values():
            assert v.shape == s.eval_idx.shape and np.isfinite(v).all()
    assert (d["degree"] >= 10).all() and (d["eps"] > 0).all()
    np.testing.assert_array_equal(d["kappa"], kappa)
    np.testing.assert_allclose(outs["kappa_minus_flat"].values, kappa - flat)
    np.testing.assert_allclose(outs["scalar"].values, 2 * 2 * 4 * kappa / d["eps"] ** 2)
    np.testing.assert_allclose(outs["scalar_minus_flat"].values, 2 * 2 * 4 * (kappa - flat) / d["eps"] ** 2)
    want = graph_curvature.orc_flat_reference(len(s.points), 2, 10, 0.5, "plain", 16, 1, 3)
    assert flat[0] == want
    again = registry.make_method("ollivier_ricci", knn=10, flat_nodes=16, output="kappa_minus_flat").estimate(
        s.points, s.eval_idx, 2, seed=3)
    np.testing.assert_array_equal(again.values, outs["kappa_minus_flat"].values)
    other = registry.make_method("ollivier_ricci", knn=10, flat_nodes=16, output="kappa_minus_flat").estimate(
        s.points, s.eval_idx, 2, seed=4)
    np.testing.assert_array_equal(other.diagnostics["kappa"], kappa)  # only the flat sample depends on seed
    assert other.diagnostics["kappa_flat"][0] != flat[0]
    with pytest.raises(ValueError, match="output"):
        registry.make_method("ollivier_ricci", output="nope")(s.points, s.eval_idx, 2)


# ----------------------------------------------------------------------------- forman_ricci

def _forman(name: str, dim: int, seeds=SEEDS, knn: int = 40) -> float:
    m = registry.make_method("forman_ricci", knn=knn)
    return float(np.mean([m(cloud(name, dim, s).points, cloud(name, dim, s).eval_idx, dim, seed=s) for s in seeds]))


def test_forman_ricci_signs_and_plane_d2():
    cap, saddle, plane = (_forman(n, 2) for n in ("sphere_cap", "saddle", "plane"))
    print(f"Forman F - F_flat, d=2, k=40: cap {cap:+.3f} saddle {saddle:+.3f} plane {plane:+.3f}")
    assert cap > 0
    assert saddle < 0
    assert abs(plane) < 0.5 * cap


def test_forman_ricci_signs_d3():
    cap, saddle = (_forman(n, 3, seeds=(0,)) for n in ("sphere_cap", "saddle"))
    print(f"Forman F - F_flat, d=3, k=40: cap {cap:+.3f} saddle {saddle:+.3f}")
    assert cap > 0
    assert saddle < 0


def test_forman_ricci_outputs_diagnostics_and_determinism():
    s = small_cloud()
    m = registry.make_method("forman_ricci", knn=10)
    e = m.estimate(s.points, s.eval_idx, 2, seed=5)
    assert set(e.diagnostics) == {"forman", "degree", "triangles", "forman_flat"}
    for v in e.diagnostics.values():
        assert v.shape == s.eval_idx.shape and np.isfinite(v).all()
    np.testing.assert_allclose(e.values, e.diagnostics["forman"] - e.diagnostics["forman_flat"])
    raw = registry.make_method("forman_ricci", knn=10, output="raw").estimate(s.points, s.eval_idx, 2, seed=5)
    np.testing.assert_array_equal(raw.values, e.diagnostics["forman"])
    # unweighted augmented Forman from its closed form 4 - deg u - deg v + 3 #triangles
    g = knn_graph(s.points, 10)
    for u, F in zip(s.eval_idx, raw.values):
        nb, _ = g.neighbours(int(u))
        tri = [np.isin(g.neighbours(int(v))[0], nb).sum() for v in nb]
        want = np.mean([4 - g.degree(int(u)) - g.degree(int(v)) + 3 * t for v, t in zip(nb, tri)])
        assert F == pytest.approx(want)
    again = m.estimate(s.points, s.eval_idx, 2, seed=5)
    np.testing.assert_array_equal(again.values, e.values)
    assert (raw.values < 0).all()  # "strongly negative on any k-NN graph": why the flat subtraction


# ----------------------------------------------------------------------------- diffusion_orc

def _dorc(name: str, dim: int, seeds=SEEDS, rows: int = 4) -> float:
    """Mean over the first `rows` evaluation rows (the centre first) of each seed."""
    m = registry.make_method("diffusion_orc")
    vals = [m(cloud(name, dim, s).points, cloud(name, dim, s).eval_idx[:rows], dim, seed=s) for s in seeds]
    return float(np.mean(vals))


def test_diffusion_orc_signs_and_plane_d2():
    cap, saddle, plane = (_dorc(n, 2) for n in ("sphere_cap", "saddle", "plane"))
    print(f"diffusion-ORC kappa, d=2: cap {cap:+.4f} saddle {saddle:+.4f} plane {plane:+.4f}")
    assert cap > 0
    assert saddle < 0
    assert abs(plane) < 0.5 * cap


def test_diffusion_orc_sign_d3_cap():
    cap = _dorc("sphere_cap", 3, seeds=(0,))
    print(f"diffusion-ORC kappa, d=3 cap: {cap:+.4f}")
    assert cap > 0


def test_diffusion_orc_diagnostics_determinism_and_row_independence():
    s = small_cloud(n=400)
    m = registry.make_method("diffusion_orc", t=4)  # wiring only: short walks keep it cheap
    e = m.estimate(s.points, s.eval_idx, 2, seed=7)
    assert set(e.diagnostics) == {"kappa", "spread", "m2", "partners", "partner_distance", "support"}
    for v in e.diagnostics.values():
        assert v.shape == s.eval_idx.shape and np.isfinite(v).all()
    d = e.diagnostics
    assert (d["partners"] == 8).all() and (d["support"] <= 384).all() and (d["support"] > 1).all()
    # partners come from the band [0.75, 1.25] x spread (never widened here)
    assert ((d["partner_distance"] >= 0.75 * d["spread"]) & (d["partner_distance"] <= 1.25 * d["spread"])).all()
    np.testing.assert_array_equal(e.values, d["kappa"])
    again = m.estimate(s.points, s.eval_idx, 2, seed=7)
    np.testing.assert_array_equal(again.values, e.values)
    # the estimate at a row does not depend on which other rows are evaluated (same partners; P^t rows
    # agree to float32 rounding, which differs with the batch shape of the matrix products)
    alone = m(s.points, s.eval_idx[2:3], 2, seed=7)
    np.testing.assert_allclose(alone, e.values[2:3], rtol=1e-5)
    scalar = registry.make_method("diffusion_orc", t=4, output="scalar")(s.points, s.eval_idx[2:3], 2, seed=7)
    np.testing.assert_allclose(scalar, 2 * 2 ** 2 * d["kappa"][2:3] / d["m2"][2:3], rtol=1e-5)
