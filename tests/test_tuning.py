"""The tuned track: settings are chosen on dev seeds alone and scored on test seeds (colosseum-tune)."""
from __future__ import annotations

import warnings

import pytest
import yaml
from conftest import run_cli

from colosseum import paths, registry, results, tuning

PLANTED = '''
import numpy as np
from colosseum import registry
from colosseum.registry import register_method


@register_method("planted")
def planted(points, eval_idx, dim, *, seed: int, knob: int = 0):
    """Reads the sign (a local quadratic fit) only when knob == 2; otherwise guesses negative."""
    if knob == 2:
        return registry.make_method("sritharan")(points, eval_idx, dim, seed=seed)
    return np.full(eval_idx.shape, -1.0)
'''


def test_every_search_space_names_a_method_and_settings_it_accepts():
    files = sorted((paths.CONFIGS / "tune").glob("*.yaml"))
    assert len(files) >= 10
    for f in files:
        assert f.stem in registry.list_methods(), f"{f.name}: no method {f.stem!r}"
        space = tuning.read_space(f)
        settings = tuning.grid(space)
        assert 2 <= len(settings) <= 6, f"{f.name}: {len(settings)} settings"
        for setting in settings:
            registry.entry("method", f.stem).bind(setting)  # raises on a value the method refuses


@pytest.mark.slow
def test_the_setting_is_found_on_dev_seeds_and_no_other_setting_touches_a_test_seed(tmp_path):
    plugins = tmp_path / "plugins"
    (plugins / "configs" / "method").mkdir(parents=True)
    (plugins / "configs" / "tune").mkdir(parents=True)
    (plugins / "planted.py").write_text(PLANTED)
    (plugins / "configs" / "method" / "planted.yaml").write_text("name: planted\nknob: 0  # 2 reads the sign\n")
    (plugins / "configs" / "tune" / "planted.yaml").write_text("knob: 0,1,2,3\n")
    run = tmp_path / "r"
    out = run_cli("method=planted,constant", "dataset=sphere_cap,saddle", "dataset.n_points=400", "dataset.n_eval=4",
                  "seed=0,1", f"run_dir={run}", f"plugin_dirs=[{plugins}]",
                  f"hydra.searchpath=[file://{plugins / 'configs'}]", cwd=tmp_path, script="colosseum-tune",
                  timeout=600)
    assert out.returncode == 0, out.stderr
    sel = yaml.safe_load((run / "tuning" / "selected.yaml").read_text())
    planted = sel["methods"]["planted"]
    assert planted["setting"] == {"knob": 2} and planted["tuned"] and planted["dev_score"] == 1.0
    assert planted["default_dev_score"] == 0.5 and planted["space"] == {"knob": [0, 1, 2, 3]}
    assert sel["dev_seeds"] == [1000, 1001] and sel["test_seeds"] == [0, 1]
    assert "constant" not in sel["methods"]  # no space: run at its default only

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = results.load(run)
    cells = df.drop_duplicates("cell_id")
    knob = cells[cells["method"] == "planted"].groupby("seed")["method.knob"].apply(set).to_dict()
    assert knob[0] == knob[1] == {0, 2}, "a test seed ran only the default and the chosen setting"
    assert knob[1000] == knob[1001] == {0, 1, 2, 3}, "every setting ran on every dev seed"
    assert set(cells.loc[cells["method"] == "constant", "seed"]) == {0, 1}

    view = tuning.tuned_view(df, sel)
    assert set(view["seed"]) == {0, 1}, "dev cells choose; they do not score"
    assert set(view["variant"]) == {"planted", "planted tuned (knob=2; dev 1.00)", "constant"}

    again = run_cli("method=planted,constant", "dataset=sphere_cap,saddle", "dataset.n_points=400",
                    "dataset.n_eval=4", "seed=0,1", f"run_dir={run}", f"plugin_dirs=[{plugins}]",
                    f"hydra.searchpath=[file://{plugins / 'configs'}]", cwd=tmp_path, script="colosseum-tune")
    assert again.returncode == 0 and " 0 ok" in again.stderr, "a tuned run resumes like any run"
    report = run_cli(str(run), "--n-boot", "50", cwd=tmp_path, script="colosseum-report")
    assert report.returncode == 0, report.stderr
    page = (run / "report" / "report.md").read_text()
    assert "planted tuned (knob=2; dev 1.00)" in page
