"""Comparing runs: cells line up by identity; a planted change is flagged, an unchanged run is not."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from colosseum import compare, results, store


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    out = run_cli("-m", "dataset=sphere_cap,saddle", "method=random_sign", "seed=0,1,2,3,4,5",
                  f"run_dir={tmp / 'a'}", cwd=tmp)
    assert out.returncode == 0, out.stderr
    return tmp / "a"


def _plant(src, dst, fn):
    shutil.copytree(src, dst)
    for f in (dst / "cells").glob("*.parquet"):
        df = pd.read_parquet(f)
        fn(df).to_parquet(f, index=False)


def test_unchanged_run_is_not_flagged(base_run, tmp_path):
    same = tmp_path / "same"
    shutil.copytree(base_run, same)
    with pytest.warns(UserWarning, match="fewer than 10 matched cells"):
        table = compare.compare(base_run, same, n_boot=200)
    defined = table[~table["metric"].isin(["auroc", "balanced_sign_accuracy"])]
    assert (defined["diff"] == 0).all()
    # each dataset here has one true sign, so AUROC and balanced sign accuracy are undefined, not 0.5
    assert table.loc[table["metric"].isin(["auroc", "balanced_sign_accuracy"]), "diff"].isna().all()
    assert not table["significant"].any()
    assert (table["n_cells"] == 6).all()


def test_planted_improvement_is_flagged(base_run, tmp_path):
    better = tmp_path / "better"
    _plant(base_run, better, lambda df: df.assign(estimate=df["true_curvature"]))  # perfect estimates
    table = compare.compare(base_run, better, n_boot=300).set_index(["dataset", "metric"])
    row = table.loc[("saddle", "sign_accuracy")]
    a = results.leaderboard(results.load(base_run), by=("dataset",)).set_index("dataset")
    assert row["a"] == pytest.approx(a.loc["saddle", "sign_accuracy"])
    assert row["b"] == 1.0 and row["diff"] == pytest.approx(1.0 - row["a"])
    assert row["significant"] and row["ci_low"] > 0


def test_cells_match_by_identity_not_by_run(base_run, tmp_path):
    # a run holding only half the seeds compares on the matched half, and says what is unmatched
    half = tmp_path / "half"
    shutil.copytree(base_run, half)
    df = results.load(half)
    for cid in df.loc[df["seed"] >= 3, "cell_id"].unique():
        store.cell_path(half, cid).unlink()
    with pytest.warns(UserWarning, match="missing"):
        table = compare.compare(base_run, half, n_boot=50)
    assert (table["n_cells"] == 3).all() and (table["only_a"] == 3).all()


def test_compare_cli_writes_csv_and_markdown(base_run, tmp_path):
    better = tmp_path / "better"
    _plant(base_run, better, lambda df: df.assign(estimate=np.sign(df["true_curvature"]),
                                                  **{"prov.git_commit": "planted"}))
    out = run_cli(str(base_run), str(better), "--n-boot", "200", "--csv", str(tmp_path / "c.csv"),
                  "--markdown", str(tmp_path / "c.md"), cwd=tmp_path, script="colosseum-compare")
    assert out.returncode == 0, out.stderr
    csv = pd.read_csv(tmp_path / "c.csv")
    assert set(csv["metric"]) == set(compare.DEFAULT_METRICS)
    assert csv.loc[csv["metric"] == "sign_accuracy", "significant"].all()
    md = (tmp_path / "c.md").read_text()
    assert "| dataset |" in md and "git_commit" in md and "planted" in md


def test_compare_cli_rejects_a_non_run(tmp_path):
    out = run_cli(str(tmp_path), str(tmp_path), cwd=tmp_path, script="colosseum-compare")
    assert out.returncode == 2 and "not a run directory" in out.stderr


def test_compare_cli_takes_several_runs_against_the_first(base_run, tmp_path):
    same, better = tmp_path / "same", tmp_path / "better"
    shutil.copytree(base_run, same)
    _plant(base_run, better, lambda df: df.assign(estimate=df["true_curvature"]))
    out = run_cli(str(base_run), str(same), str(better), "--n-boot", "200", "--csv", str(tmp_path / "c.csv"),
                  cwd=tmp_path, script="colosseum-compare")
    assert out.returncode == 0, out.stderr
    csv = pd.read_csv(tmp_path / "c.csv")
    sign = csv[csv["metric"] == "sign_accuracy"].set_index(["run_b", "dataset"])["significant"]
    assert not sign.loc["same"].any() and sign.loc["better"].all()


def test_identical_metrics_get_identical_intervals_and_verdicts(base_run, tmp_path):
    """A metric's interval does not depend on which other metrics are computed beside it (each resamples the
    same cells from the same seed), and a planted improvement of every cell is flagged by both tests."""
    better = tmp_path / "better"
    _plant(base_run, better, lambda df: df.assign(estimate=df["true_curvature"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = compare.compare(base_run, better, metrics=("sign_accuracy",), by=("method",), n_boot=300)
        two = compare.compare(base_run, better, metrics=("coverage", "sign_accuracy"), by=("method",), n_boot=300)
    a, b = one.iloc[0], two[two["metric"] == "sign_accuracy"].iloc[0]
    assert (a["ci_low"], a["ci_high"]) == (b["ci_low"], b["ci_high"])  # not shifted by another metric
    assert a["significant"] and b["significant"] and a["n_cells"] == 12 and not a["few_cells"]
    assert 0 < a["p_wilcoxon"] < 0.05  # every cell improved


def test_the_provenance_diff_lists_a_changed_code_hash(base_run, tmp_path):
    other = tmp_path / "other"
    _plant(base_run, other, lambda df: df.assign(**{"code.method": "0123456789abcdef"}))
    prov = compare.provenance_diff(results.load(base_run), results.load(other))
    row = prov[prov["field"] == "code of method random_sign"]
    assert len(row) == 1 and row.iloc[0]["b"] == "0123456789abcdef"


def test_runs_that_differ_in_a_parameter_align_ignoring_it_and_say_so(tmp_path):
    """The same sweep once with dataset.n_points=500: by default cells align without n_points (named in one
    line); --match on n_points aligns nothing, loudly; a method absent from one run is one line."""
    sweep = ["-m", "dataset=sphere_cap,saddle", "method=random_sign", "seed=0,1,2"]
    a, b = tmp_path / "small", tmp_path / "small_n500"
    assert run_cli(*sweep, "dataset.n_points=300", f"run_dir={a}", cwd=tmp_path).returncode == 0
    assert run_cli(*sweep[:2], "method=random_sign,oracle", *sweep[3:], "dataset.n_points=500", f"run_dir={b}",
                   cwd=tmp_path).returncode == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = compare.compare(a, b, n_boot=50)
    assert table.attrs["alignment"].describe() == "aligned ignoring dataset.n_points: 300 vs 500"
    assert set(table["n_cells"]) == {3} and set(table["method"]) == {"random_sign"}
    assert table.attrs["only_b"] == {"saddle/oracle": 3, "sphere_cap/oracle": 3}
    out = run_cli(str(a), str(b), "--csv", str(tmp_path / "c.csv"), cwd=tmp_path, script="colosseum-compare")
    assert out.returncode == 0, out.stderr
    assert "aligned ignoring dataset.n_points: 300 vs 500" in out.stderr
    assert "only in small_n500: saddle/oracle (3 cells), sphere_cap/oracle (3 cells)" in out.stderr
    assert set(pd.read_csv(tmp_path / "c.csv")["n_cells"]) == {3}
    strict = run_cli(str(a), str(b), "--match", "dataset.n_points", cwd=tmp_path, script="colosseum-compare")
    assert strict.returncode == 1 and "NOTHING MATCHES" in strict.stderr
    wrong = run_cli(str(a), str(b), "--ignore", "dataset.nosuch", cwd=tmp_path, script="colosseum-compare")
    assert wrong.returncode == 2 and "no parameter column(s) ['dataset.nosuch']" in wrong.stderr
