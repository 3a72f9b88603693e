"""A cell's identity and its computation in this process (no Hydra, no worker)."""
from __future__ import annotations

import numpy as np
import pytest

from colosseum import cells
from colosseum.cells import CellSpec, compute_cell


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
