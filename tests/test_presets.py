"""Every experiment preset composes into valid cells and runs when shrunk to its first values."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import run_cli
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from colosseum import paths, registry, results
from colosseum.runner import spec_from_config

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
    if name != "flattening":  # the flattening study compares the diffusion methods only
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


@pytest.mark.parametrize("name", ["quick", "sadspheres"])
def test_sweep_expansion_matches_hydra_composing_every_job(name):
    """The manifest's shortcut (compose once per group choice, then apply value overrides) gives the
    cells Hydra gives by composing each job in full."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from colosseum.runner import expand_sweep

    with initialize_config_dir(config_dir=str(paths.CONFIGS), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+experiment={name}"], return_hydra_config=True)
        with open_dict(cfg):
            cfg.hydra.sweeper.params.seed = "0,3"
            cfg.hydra.sweeper.params.method = "oracle,dc_entropy,sritharan"  # a few groups, fast to compose
        fast = [spec_from_config(c).cell_id for c in expand_sweep(cfg)]
        loader = GlobalHydra.instance().config_loader()
        params = [f"{k}={v}" for k, v in cfg.hydra.sweeper.params.items()]
        jobs = BasicSweeper.split_arguments(OverridesParser.create(config_loader=loader).parse_overrides(params), None)
        full = [spec_from_config(loader.load_sweep_config(cfg, list(job))).cell_id for batch in jobs for job in batch]
    assert len(fast) == len(set(fast)) == len(full) > 1
    assert fast == full


def test_sweep_expansion_rejects_a_misspelt_key_as_hydra_does():
    from colosseum.runner import expand_sweep

    with initialize_config_dir(config_dir=str(paths.CONFIGS), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+experiment=quick"], return_hydra_config=True)
        with open_dict(cfg):
            cfg.hydra.sweeper.params["dataset.n_pointz"] = "10,20"
        with pytest.raises(Exception, match="n_pointz"):
            expand_sweep(cfg)
