"""The report answers "which method, where, and how sure" with values that can be checked."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from colosseum import results
from colosseum.report import stats
from colosseum.scoring import metric_values

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    out = run_cli("-m", "dataset=sphere_cap,saddle,cylinder,torus", "dataset.n_points=400,800", "dataset.n_eval=6",
                  "method=oracle,constant,random_sign,sritharan", "seed=0,1", f"run_dir={tmp / 'r'}",
                  "isolation=inline", cwd=tmp)
    assert out.returncode == 0, out.stderr
    rep = run_cli(str(tmp / "r"), "--n-boot", "100", cwd=tmp, script="colosseum-report")
    assert rep.returncode == 0, rep.stderr
    return tmp / "r"


def test_the_page_shows_every_section_and_its_figures(run):
    folder = run / "report"
    page, md = (folder / "report.html").read_text(), (folder / "report.md").read_text()
    images = set(re.findall(r'src="([^"]+\.png)"', page))
    assert {"leaderboard.png", "heatmap.png", "critical_difference.png", "flat_leak.png", "calibration.png",
            "cloud_torus.png"} <= images
    assert images == set(re.findall(r"\]\(([^)]+\.png)\)", md))
    for name in images:
        assert (folder / name).stat().st_size > 5000, name
    assert "max-width:560px" not in page  # figures are shown at their own size
    for title in ("Leaderboard", "Where", "Sample complexity", "How sure", "Flat leak", "Calibration",
                  "Code versions"):
        assert title in page and title in md
    for csv in re.findall(r'href="([^"]+\.csv)"', page):
        assert (folder / csv).exists(), csv


def test_blocks_hold_both_signs_so_a_constant_scores_one_half(run):
    blocks = pd.read_csv(run / "report" / "blocks.csv")
    assert list(blocks.columns) == ["block", "method", "metric", "value"]
    assert set(blocks["metric"]) == {"balanced_sign_accuracy"}
    by = blocks.groupby("method")["value"]
    assert (by.get_group("oracle") == 1.0).all() and (by.get_group("constant") == 0.5).all()
    assert blocks["block"].nunique() == 2 * 2  # (n 400, 800) x (seed 0, 1); caps and saddles pair up


def test_the_heatmap_csv_equals_scores_recomputed_from_the_table(run):
    heat = pd.read_csv(run / "report" / "heatmap.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = results.load(run)
    df = df.assign(condition=stats.condition_labels(df))
    assert set(heat["condition"]) == set(df["condition"]) == {"n=400", "n=800"}
    for _, row in heat.iterrows():
        cells = df[(df["variant"] == row["method"]) & (df["condition"] == row["condition"]) & df["status"].eq("ok")]
        want = metric_values(cells, ("balanced_sign_accuracy",))["balanced_sign_accuracy"]
        assert (np.isnan(want) and np.isnan(row["value"])) or row["value"] == pytest.approx(want, abs=1e-12)
    assert set(heat.loc[heat["method"] == "constant", "value"].dropna()) == {0.5}


def test_flat_leak_and_calibration_are_measured(run):
    leak = pd.read_csv(run / "report" / "flat_leak.csv").set_index("method")
    assert leak.loc["oracle", "leak"] == 0.0 and leak.loc["constant", "leak"] == 1.0
    calib = pd.read_csv(run / "report" / "calibration.csv").set_index("method")
    assert calib.loc["oracle", "slope"] == pytest.approx(1.0) and "constant" not in calib.index


def test_sample_complexity_reads_the_smallest_size_that_reaches_the_target():
    heat = pd.DataFrame({"method": ["m"] * 3 + ["k"] * 3, "condition": ["a", "b", "c"] * 2,
                         "d": ["2"] * 6, "n": ["250", "500", "2000"] * 2,
                         "value": [0.6, 0.92, 0.95, 0.5, 0.7, np.nan]})
    table = stats.sample_complexity(heat).set_index("method")
    assert table.loc["m", "smallest_n"] == "500" and table.loc["k", "smallest_n"] == "–"
    assert table.loc["m", "sizes"] == "250, 500, 2000"


def test_calibration_covers_exactly_the_methods_that_declare_scalar_units():
    """Whether a method's output is scalar curvature is declared by its plugin (register_method's
    scalar_units), recorded per cell, and read by the report: no list of method names in the report."""
    from colosseum import registry

    n = 4
    df = pd.DataFrame({"status": "ok", "point": list(range(n)) * 2, "variant": ["new_plugin"] * n + ["other"] * n,
                       "true_curvature": [1.0, 2.0, 3.0, 4.0] * 2, "estimate": [2.0, 4.0, 6.0, 8.0] * 2,
                       "scalar_units": [True] * n + [False] * n})
    table = stats.calibration(df)
    assert list(table["method"]) == ["new_plugin"] and table["slope"].iloc[0] == pytest.approx(2.0)
    orc = registry.entry("method", "ollivier_ricci")
    assert orc.in_scalar_units({"output": "scalar_minus_flat"}) and not orc.in_scalar_units({"output": "kappa"})
    assert registry.entry("method", "sritharan").in_scalar_units({})
    assert not registry.entry("method", "dc_entropy").in_scalar_units({})
