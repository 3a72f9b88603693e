"""What a new user trips over (issue 22): a default run with settings, declined cells, where CPU went."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from colosseum import results, runner

pytestmark = pytest.mark.slow


def test_settings_alone_run_the_default_benchmark(tmp_path):
    plan = run_cli("dry_run=true", "run_name=first", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    cells = [json.loads(line) for line in plan.stdout.splitlines() if line.startswith("{")]
    assert len(cells) > 50 and {"sphere_cap", "saddle"} <= {c["dataset"] for c in cells}
    assert len({c["method"] for c in cells}) >= 15, "every registered method, as `colosseum` alone runs"
    assert "results/first" in plan.stderr


def test_methods_that_cannot_be_smoothed_are_declined_before_any_work(tmp_path):
    run = tmp_path / "r"
    out = run_cli("-m", "method=sritharan,dc_rfae", "smooth_t=0,2", "dataset=saddle", "dataset.n_eval=1",
                  "dataset.n_points=600", f"run_dir={run}", cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    cells = results.load(run).drop_duplicates("cell_id").set_index(["method", "smooth_t"])
    declined = cells.loc[("dc_rfae", 2)]
    assert declined["status"] == "skipped" and "declines result smoothing" in declined["error"]
    assert np.isnan(declined["dataset_s"]) and np.isnan(declined["runtime_s"]), "declined before any work"
    assert cells.loc[("sritharan", 2), "status"] == "ok" and cells.loc[("dc_rfae", 0), "status"] == "ok"


def test_cpu_is_charged_to_methods_apart_from_draws_and_first_calls():
    """A worker's first call of a method compiles it and its first draw compiles the geometry: neither is
    charged to the method that happened to run first; a timed-out cell's burned seconds count."""
    cells = pd.DataFrame({
        "cell_id": list("abcdef"), "method": ["constant", "constant", "constant", "slow", "slow", "slow"],
        "runtime_s": [7.0, 0.1, 0.1, 2.0, 2.0, 30.0], "first_call": [True, False, False, True, False, False],
        "dataset_s": [5.0, 0.0, 0.0, 0.0, 0.0, 0.0], "denoise_s": [np.nan] * 6,
        "draw_cached": [False, True, True, True, True, True], "status": ["ok"] * 5 + ["timeout"]})
    line = runner.cpu_by_method(cells)
    assert line.startswith("CPU by method: slow 34 s, constant 0 s (total 34 s)"), line
    assert "dataset draws and denoising 5 s (1 computed)" in line and "(JIT compilation) 7 s" in line


def test_help_names_the_default_preset_and_the_other_commands(tmp_path):
    out = run_cli("--help", cwd=tmp_path)
    assert out.returncode == 0
    assert "+experiment=quick" in out.stdout and "dry_run=true" in out.stdout
    for command in ("colosseum-check", "colosseum-report", "colosseum-compare", "colosseum-tune", "colosseum-preview"):
        assert command in out.stdout, command
    assert "tune:" not in out.stdout, "search spaces are not a config group to choose"


def test_every_report_section_shows_something_or_says_what_the_run_lacks(tmp_path):
    run = tmp_path / "r"
    out = run_cli("-m", "dataset=sphere_cap,saddle", "dataset.n_points=300", "dataset.n_eval=4",
                  "method=oracle,constant,random_sign,ollivier_ricci", "seed=0,1", f"run_dir={run}",
                  "isolation=inline", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rep = run_cli(str(run), "--n-boot", "50", cwd=tmp_path, script="colosseum-report")
    assert rep.returncode == 0, rep.stderr
    md = (run / "report" / "report.md").read_text()
    sections = md.split("\n## ")[1:]
    for section in sections:
        title, _, body = section.partition("\n")
        assert body.strip(), f"section {title!r} is a bare heading"
    assert "This run varies no cloud size" in md and "This run has no flat controls" in md
    assert "This run has no closed (pointwise) dataset" in md
    # ties in the bar chart come in the table's order (constant and random_sign may tie)
    board = pd.read_csv(run / "report" / "leaderboard.csv")
    assert list(board["method"]) == list(board.sort_values("balanced_sign_accuracy", ascending=False,
                                                           kind="stable")["method"])


def test_calibration_axes_fit_the_data_not_a_few_wild_estimates():
    from colosseum.report.plots import robust_limits

    rng = np.random.default_rng(0)
    estimates = np.concatenate([rng.normal(2.0, 0.3, 500), [1500.0, -900.0]])
    lo, hi = robust_limits(estimates)
    assert -0.5 < lo <= 0.0 and 2.5 < hi < 4.0, (lo, hi)
