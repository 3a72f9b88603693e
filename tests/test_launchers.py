"""Parallel and cluster launchers produce exactly the cells of a serial run, merged by file."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli

from colosseum import results

pytestmark = pytest.mark.slow
SWEEP = ("-m", "dataset=sphere_cap,saddle", "method=random_sign", "seed=0")


def _table(run):
    df = results.load(run)
    return df.sort_values(["cell_id", "point"])[["cell_id", "point", "estimate", "true_curvature", "status"]]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serial")
    out = run_cli(*SWEEP, f"run_dir={tmp / 'r'}", cwd=tmp)
    assert out.returncode == 0, out.stderr
    return _table(tmp / "r")


@pytest.mark.parametrize("launcher", [["hydra/launcher=local_parallel", "threads_per_cell=1"],
                                      ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"]],
                         ids=["joblib", "submitit_local"])
def test_launcher_matches_serial(serial, tmp_path, launcher):
    out = run_cli(*SWEEP, f"run_dir={tmp_path / 'r'}", *launcher, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2 ok" in out.stderr and "2/2" in out.stderr  # progress counted from cell files
    table = _table(tmp_path / "r")
    assert list(table["cell_id"]) == list(serial["cell_id"])
    np.testing.assert_array_equal(table["estimate"].to_numpy(), serial["estimate"].to_numpy())
    np.testing.assert_array_equal(table["true_curvature"].to_numpy(), serial["true_curvature"].to_numpy())
