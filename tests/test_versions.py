"""Every number belongs to the code and inputs it is labelled with: one version per cell in every reader,
no cache poisoning by equivalent or invalid overrides, and tables that always merge."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_cli

from colosseum import compare, results, store
from colosseum.report import stats

pytestmark = pytest.mark.slow

PLUGIN = '''
import numpy as np
from colosseum.registry import register_method


@register_method("versioned")
def versioned(points, eval_idx, dim, *, seed: int):
    return np.full(eval_idx.shape, {value})
'''


def _plugin(folder, value: float) -> None:
    (folder / "versioned.py").write_text(PLUGIN.format(value=value))


def test_an_edited_plugin_is_recomputed_and_read_alone(tmp_path):
    plugins, run = tmp_path / "plugins", tmp_path / "r"
    (plugins / "configs" / "method").mkdir(parents=True)
    (plugins / "configs" / "method" / "versioned.yaml").write_text("name: versioned\n")
    _plugin(plugins, 1.0)
    sweep = ["-m", "method=versioned", "dataset=sphere_cap,saddle", "seed=0,1,2", f"plugin_dirs=[{plugins}]",
             f"hydra.searchpath=[file://{plugins / 'configs'}]", f"run_dir={run}"]
    assert run_cli(*sweep, cwd=tmp_path).returncode == 0

    _plugin(plugins, -1.0)  # a developer edits the method
    plan = run_cli(*sweep, "dry_run=true", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    states = [json.loads(line)["state"] for line in plan.stdout.splitlines() if line.startswith("{")]
    assert states == ["todo"] * 6 and "6 to compute" in plan.stderr
    with pytest.warns(UserWarning, match="6 cell.s. were computed by code that has changed"):
        stale = results.load(run)  # not rerun yet: the last sweep's cells, flagged as stale
    assert len(stale.attrs["stale_cells"]) == 6 and set(stale["estimate"]) == {1.0}

    again = run_cli(*sweep, cwd=tmp_path)
    assert again.returncode == 0 and "6 ok, 0 already done" in again.stderr
    df = results.load(run)
    assert df["cell_id"].nunique() == 6 and set(df["estimate"]) == {-1.0}
    assert df.attrs["superseded"] == 6 and not df.attrs["stale_cells"]
    assert results.load(run, versions="all")["cell_id"].nunique() == 12
    assert pd.read_csv(run / "scores.csv")["cell_id"].nunique() == 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert compare.compare(run, run, n_boot=20)["n_cells"].max() == 3  # per dataset, not 6
    assert int(stats.bootstrap_leaderboard(df, n_boot=20)["cells"].iloc[0]) == 6

    # a sweep of the next version that did not finish: its missing cell is missing, never an old one
    _plugin(plugins, 0.5)
    assert run_cli(*sweep, cwd=tmp_path).returncode == 0
    newest = results.load(run)
    gone = newest["cell_id"].iloc[0]
    store.cell_path(run, gone).unlink()
    with pytest.warns(UserWarning, match="1 of 6 expected cells are missing"):
        partial = results.load(run)
    assert partial["cell_id"].nunique() == 5 and set(partial["estimate"]) == {0.5}


def test_equivalent_overrides_share_a_cell_and_invalid_ones_compute_nothing(tmp_path):
    run = tmp_path / "r"
    first = run_cli("dataset=saddle", "dataset.n_points=300.0", "method=oracle", f"run_dir={run}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_cli("dataset=saddle", "dataset.n_points=300", "method=oracle", f"run_dir={run}", cwd=tmp_path)
    assert second.returncode == 0 and "1 already done" in second.stderr
    assert set(results.load(run)["status"]) == {"ok"}

    bad = tmp_path / "bad"
    out = run_cli("-m", "dataset=saddle", "method=constant", "method.sign=true,1", "dataset.noise=nan,0.0",
                  f"run_dir={bad}", cwd=tmp_path)
    assert out.returncode == 2
    assert "'sign' expects one of -1, 1" in out.stderr and "'noise' expects a finite number" in out.stderr
    assert "nothing was computed" in out.stderr and not (bad / "cells").exists()


def _cell(path, **cols) -> None:
    pq.write_table(pa.table(cols), path)


def test_columns_whose_types_drift_across_files_still_merge(tmp_path):
    """Cells written by other code (or before the declared schema) may disagree on a column's type."""
    (tmp_path / "cells").mkdir()
    base = {"run_id": ["r"], "dataset": ["saddle"], "method": ["constant"], "point": [0], "row": [0],
            "true_curvature": [-1.0], "estimate": [-1.0], "status": ["ok"], "zero_tol": [0.0],
            "finished_at": ["2026"]}
    _cell(tmp_path / "cells" / "a.parquet", cell_id=["a"], cell_key=["ka"], **base,
          **{"method.sign": [-1], "meta.note": [1.5]})
    _cell(tmp_path / "cells" / "b.parquet", cell_id=["b"], cell_key=["kb"], **base,
          **{"method.sign": [True], "meta.note": ["text"]})
    df = results.load(tmp_path)
    assert sorted(df["cell_id"]) == ["a", "b"]
    assert set(df.attrs["retyped"]) == {"method.sign", "meta.note"}
    np.testing.assert_array_equal(df.sort_values("cell_id")["method.sign"].to_numpy(float), [-1.0, 1.0])
