"""Every experiment preset composes into valid cells and runs when shrunk to its first values."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from colosseum import paths, registry, results
from colosseum.runner import spec_from_config
from conftest import run_cli

PRESETS = sorted(p.stem for p in (paths.CONFIGS / "experiment").glob("*.yaml"))


def _params(name: str) -> dict[str, list[str]]:
    node = yaml.safe_load((paths.CONFIGS / "experiment" / f"{name}.yaml").read_text())
    params = node["hydra"]["sweeper"]["params"]
    return {k: [v.strip() for v in str(val).split(",")] for k, val in params.items()}


def test_presets_exist():
    assert {"quick", "colosseum", "sadspheres", "toy2d", "klein"} <= set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_composes_to_valid_cells(name):
    params = _params(name)
    methods = params.pop("method")
    assert set(methods) <= set(registry.list_methods())
    flatteners = {"dc_rfae", "dc_mioflattener"}
    if name == "quick":  # the default run stays at a few minutes: no neural flatteners
        assert set(methods) == set(registry.list_methods()) - flatteners
    elif name != "flattening":  # the flattening study compares the diffusion methods only
        assert set(methods) == set(registry.list_methods()), "a preset lists every registered method"
    for dataset in params.pop("dataset", [None]):
        with initialize_config_dir(config_dir=str(paths.CONFIGS), version_base="1.3"):
            overrides = [f"+experiment={name}", *([f"dataset={dataset}"] if dataset else [])]
            overrides += [f"{k}={v[-1]}" for k, v in params.items()]
            for method in methods:
                cfg = compose(config_name="config", overrides=[*overrides, f"method={method}"])
                spec = spec_from_config(cfg)
                assert spec.method == method


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_preset_runs_tiny(name, tmp_path):
    params = _params(name)
    params.pop("method")
    shrink = [f"{k}={v[0]}" for k, v in params.items()]
    out = run_cli(f"+experiment={name}", *shrink, "method=oracle,sritharan", f"run_dir={tmp_path / 'r'}",
                  cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    df = results.load(tmp_path / "r")
    assert df["cell_id"].nunique() == 2 and set(df["status"]) == {"ok"}
    assert Path(tmp_path / "r" / "scores.csv").exists()
