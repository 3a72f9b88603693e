"""A cell's identity (typed parameters, code hashes) and its computation in this process (no Hydra, no worker)."""
from __future__ import annotations

import numpy as np
import pytest

from colosseum import compute as cells
from colosseum.cells import CellSpec
from colosseum.compute import compute_cell
from colosseum.params import ParamError


def _spec(seed: int = 0, method: str = "oracle") -> CellSpec:
    return CellSpec.create("sphere_cap", {"n_points": 300, "n_eval": 3}, method, {}, seed)


def test_identity_ignores_code_for_the_key_but_not_for_the_id():
    a, b = _spec(0), _spec(1)
    assert a.key != b.key and a.cell_id != b.cell_id
    assert _spec(0).key == a.key and _spec(0).cell_id == a.cell_id


def test_cells_sharing_a_draw_reuse_it_and_cannot_change_it():
    first = cells.draw_sample(_spec(0, "oracle"))
    again = cells.draw_sample(_spec(0, "constant"))  # another method, the same draw
    other = cells.draw_sample(_spec(1, "oracle"))
    assert again is first and other is not first
    assert not np.array_equal(first.points, other.points)
    with pytest.raises(ValueError, match="read-only"):
        first.points[0, 0] = 1.0


def test_a_reused_draw_scores_as_a_fresh_one():
    cells._SAMPLES.clear()
    fresh = compute_cell(_spec(2, "oracle"))
    reused = compute_cell(_spec(2, "oracle"))
    np.testing.assert_array_equal(fresh["true_curvature"], reused["true_curvature"])
    np.testing.assert_array_equal(fresh["estimate"], reused["estimate"])
    assert fresh["status"] == reused["status"] == "ok"


def test_method_seed_varies_with_the_dataset_configuration_not_only_the_seed():
    """Truth is fixed by the dataset seed (quadric: its parity); the method's random choices must
    not repeat across the configurations that share a seed, or they line up with the truth."""
    seeds = {CellSpec.create("quadric", {"noise": noise}, "dc_peer", {}, 0).method_seed
             for noise in (0.0, 0.01, 0.02, 0.03)}
    assert len(seeds) == 4
    a = CellSpec.create("quadric", {"noise": 0.01}, "dc_peer", {}, 1)
    b = CellSpec.create("quadric", {"noise": 0.01}, "sritharan", {}, 1)
    assert a.method_seed == b.method_seed  # every method gets the same seed on the same draw
    assert a.method_seed != a.seed and 0 <= a.method_seed < 2**31


def test_the_method_gets_the_cells_method_seed():
    spec = CellSpec.create("sphere_cap", {"n_points": 300, "n_eval": 3}, "random_sign", {}, 0)
    payload = compute_cell(spec)
    sample = cells.draw_sample(spec)
    from colosseum import registry
    direct = registry.make_method("random_sign")(sample.points, sample.eval_idx, sample.dim, seed=spec.method_seed)
    np.testing.assert_array_equal(payload["estimate"], direct)


def test_an_integer_given_as_a_float_is_the_same_cell():
    a = CellSpec.create("saddle", {"n_points": 300}, "oracle", {}, 0)
    b = CellSpec.create("saddle", {"n_points": 300.0}, "oracle", {}, 0.0)
    assert a.cell_id == b.cell_id and a.key == b.key
    assert type(b.dataset_params["n_points"]) is int and type(b.seed) is int
    c = CellSpec.create("saddle", {"noise": 0}, "oracle", {}, 0)  # an int for a float: coerced, same cell
    assert c.dataset_params["noise"] == 0.0 and type(c.dataset_params["noise"]) is float
    assert c.cell_id == CellSpec.create("saddle", {}, "oracle", {}, 0).cell_id


@pytest.mark.parametrize("dataset_params, method_params, seed, words", [
    ({}, {"sign": True}, 0, ["'sign'", "one of -1, 1", "True (bool)"]),
    ({"n_points": "abc"}, {}, 0, ["'n_points'", "an integer", "'abc' (str)"]),
    ({"n_points": 300.5}, {}, 0, ["'n_points'", "an integer", "300.5"]),
    ({"n_points": -5}, {}, 0, ["'n_points'", ">= 10", "-5"]),
    ({"noise": float("nan")}, {}, 0, ["'noise'", "finite", "nan"]),
    ({"noise": -1}, {}, 0, ["'noise'", ">= 0", "-1"]),
    ({}, {}, "abc", ["seed", "an integer", "'abc'"]),
    ({}, {}, 10**20, ["seed", "an integer in [0, ", "100000000000000000000"]),
    ({}, {}, -1, ["seed", "-1"]),
])
def test_bad_values_are_rejected_before_hashing_with_one_line(dataset_params, method_params, seed, words):
    with pytest.raises(ParamError) as info:
        CellSpec.create("saddle", dataset_params, "constant", method_params, seed)
    text = str(info.value)
    assert "\n" not in text
    for w in words:
        assert w in text, (w, text)


def test_every_bad_value_of_a_cell_is_named_at_once():
    with pytest.raises(ParamError) as info:
        CellSpec.create("saddle", {"n_points": 300.5, "noise": float("nan")}, "constant", {}, 0)
    assert "'n_points'" in str(info.value) and "'noise'" in str(info.value)
