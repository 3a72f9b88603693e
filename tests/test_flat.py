"""Flat references (colosseum.estimators.flat, .balls, .local_dimension): the seeding rule, the samplers,
the comparison spaces and their draws per row. Small clouds, fast."""
from __future__ import annotations

import numpy as np
import pytest

from colosseum.estimators import balls, flat, local_dimension


def _cloud(n: int = 400, seed: int = 0) -> np.ndarray:
    """A curved 2-d sheet in R^3 (the graph of a saddle), uniform in its parameters."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, size=(n, 2))
    return np.column_stack([u, 0.5 * (u[:, 0] ** 2 - u[:, 1] ** 2)])


# ----------------------------------------------------------------------------- samplers and the seeding rule

def test_centred_samples_are_the_origin_then_the_uncentred_draw_of_one_point_less():
    """centre=True is today's flat-reference stream: the origin as row 0, then n - 1 points drawn exactly as
    an uncentred sample of n - 1 points (so every former copy of the sampler draws the same numbers)."""
    for draw in (balls.uniform_ball, balls.uniform_cube):
        E = draw(50, 3, np.random.default_rng(1), centre=True)
        assert E.shape == (50, 3)
        np.testing.assert_array_equal(E[0], 0.0)
        np.testing.assert_array_equal(E[1:], draw(49, 3, np.random.default_rng(1)))
    big = balls.uniform_ball(20, 2, np.random.default_rng(2), radius=2.5)
    np.testing.assert_allclose(big, 2.5 * balls.uniform_ball(20, 2, np.random.default_rng(2)), rtol=1e-15)


def test_the_jax_twin_is_volume_uniform_in_the_unit_ball():
    import jax

    B = np.asarray(balls.uniform_ball_jax(jax.random.PRNGKey(0), 4000, 3))
    r = np.linalg.norm(B, axis=1)
    assert B.dtype == np.float32 and r.max() <= 1.0 + 1e-6
    assert abs(np.mean(r <= 0.5) - 0.5 ** 3) < 0.03


def test_flat_rng_is_the_shared_or_the_per_row_stream():
    a = flat.flat_rng(5, 2).standard_normal(3)
    np.testing.assert_array_equal(a, np.random.default_rng([5, 2]).standard_normal(3))
    b = flat.flat_rng(5, 2, 9).standard_normal(3)
    np.testing.assert_array_equal(b, np.random.default_rng([5, 2, 9]).standard_normal(3))
    assert not np.array_equal(a, b)


def test_reference_rows_stay_clear_of_the_boundary():
    rng = np.random.default_rng(3)
    ball = balls.uniform_ball(2000, 2, rng, centre=True)
    rows = flat.reference_rows(ball, 64, 0.3, rng)
    assert len(np.unique(rows)) == 64 and (np.linalg.norm(ball[rows], axis=1) <= 0.7).all()
    few = flat.reference_rows(ball, 64, 0.999, rng)  # almost no row qualifies: the most central ones
    np.testing.assert_array_equal(few, np.argsort(np.linalg.norm(ball, axis=1), kind="stable")[:64])


# ----------------------------------------------------------------------------- comparison spaces

def test_uniform_comparison_is_a_ball_sample_centred_at_row_0():
    E = flat.flat_space("uniform").draw(np.zeros((5, 3)), 0, 3, 2000, np.random.default_rng(0))
    assert E.shape == (2000, 3)
    np.testing.assert_array_equal(E[0], 0.0)
    r = np.linalg.norm(E, axis=1)
    assert r.max() <= 1.0
    assert abs(np.mean(r <= 0.5) - 0.5 ** 3) < 0.03  # volume-uniform: P(r <= 1/2) = 1/8 in 3-d


def test_unknown_comparison_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown comparison space 'nope'; known: .*uniform"):
        flat.flat_space("nope")


def test_comparison_stats_depend_only_on_seed_dim_and_row():
    calls = []

    def local(points, eval_row, dim, n, rng):  # a point-dependent space, like a neural flattener
        calls.append(eval_row)
        return points[eval_row] + rng.standard_normal((n, dim))

    space = flat.ComparisonSpace("test_local", local, point_independent=False)
    pts = _cloud(30)
    stat = lambda E: E[1].copy()  # noqa: E731
    both = flat.comparison_stats(space, pts, np.array([4, 9]), np.array([3, 3]), trials=2, seed=5, stat=stat)
    alone = flat.comparison_stats(space, pts, np.array([9]), np.array([3]), trials=2, seed=5, stat=stat)
    assert calls == [4, 4, 9, 9, 9, 9]
    np.testing.assert_array_equal(both[1], alone[0])
    assert not np.array_equal(both[0][0], both[0][1])  # the trials are different draws
    # a point-independent space is drawn once per trial and dimension, shared by the rows
    uniform = flat.flat_space("uniform")
    shared = flat.comparison_stats(uniform, pts, np.array([4, 9]), np.array([2, 2]), trials=3, seed=5, stat=stat)
    assert shared[0] is shared[1] and len(shared[0]) == 3


def test_point_dimensions_given_and_local_pca():
    pts = _cloud(500)
    idx = np.array([0, 10, 20])
    np.testing.assert_array_equal(local_dimension.point_dimensions(pts, idx, 2, "given"), [2, 2, 2])
    np.testing.assert_array_equal(local_dimension.point_dimensions(pts, idx, 1, "local_pca"), [2, 2, 2])
    with pytest.raises(ValueError, match="dim_source"):
        local_dimension.point_dimensions(pts, idx, 2, "guess")
