"""Every experiment preset expands into valid cells, selects its methods by rule, and runs when shrunk."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import run_cli
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from colosseum import paths, registry, results, sweep

PRESETS = sorted(p.stem for p in (paths.CONFIGS / "experiment").glob("*.yaml"))
#: Studies of a few methods name them; every battery takes every method with a config.
NAMED_METHODS = {"flattening", "denoise"}


def _params(name: str) -> dict[str, list[str]]:
    node = yaml.safe_load((paths.CONFIGS / "experiment" / f"{name}.yaml").read_text())
    params = node["hydra"]["sweeper"]["params"]
    return {k: [str(val).strip()] if str(val).strip().startswith("${") else [v.strip() for v in str(val).split(",")]
            for k, val in params.items()}


def _expand(name: str, **replace: str) -> list[sweep.Job]:
    with initialize_config_dir(config_dir=str(paths.CONFIGS), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+experiment={name}"], return_hydra_config=True)
        with open_dict(cfg):
            for k, v in replace.items():
                cfg.hydra.sweeper.params[k] = v
        return sweep.expand(cfg)


def test_presets_exist():
    assert {"quick", "colosseum", "sadspheres", "toy2d", "klein", "flattening"} <= set(PRESETS)


@pytest.mark.parametrize("name", sorted(set(PRESETS) - NAMED_METHODS))
def test_battery_presets_select_every_method_by_rule(name):
    methods = _params(name)["method"]
    assert len(methods) == 1 and methods[0].startswith("${colosseum.methods"), methods
    shrink = {k: v[-1] for k, v in _params(name).items() if k not in ("method", "dataset")}
    specs, problems = sweep.validate(_expand(name, **shrink))
    assert not problems, problems
    left_out = set(methods[0].removeprefix("${colosseum.methods_except:").rstrip("}").split(",")) \
        if methods[0].startswith("${colosseum.methods_except:") else set()
    assert {s.method for s in specs} == set(registry.list_methods()) - left_out


@pytest.mark.parametrize("name", sorted(NAMED_METHODS))
def test_study_presets_name_registered_methods_or_their_variants(name):
    methods = _params(name)["method"]
    configs = {p.stem for p in (paths.CONFIGS / "method").glob("*.yaml")}
    assert set(methods) <= configs
    specs, problems = sweep.validate(_expand(name, seed="0"))
    assert not problems, problems
    assert {s.method for s in specs} <= set(registry.list_methods())
    if name == "flattening":  # the RFAE stage is switched off by the variant
        assert {s.method_params["rfae_stage"] for s in specs if s.method == "dc_mioflattener"} == {True, False}


NEW_METHOD = '''
import numpy as np
from colosseum.registry import register_method


@register_method("{name}")
def estimate(points, eval_idx, dim, *, seed: int, scale: float = 1.0):
    return np.full(eval_idx.shape, scale)
'''


def test_a_new_method_file_and_config_join_the_presets_by_themselves(tmp_path):
    name = "brand_new_method"
    (tmp_path / "configs" / "method").mkdir(parents=True)
    (tmp_path / f"{name}.py").write_text(NEW_METHOD.format(name=name))
    (tmp_path / "configs" / "method" / f"{name}.yaml").write_text(f"name: {name}\nscale: 1.0   # the value\n")
    out = run_cli("+experiment=quick", f"plugin_dirs=[{tmp_path}]", f"hydra.searchpath=[file://{tmp_path / 'configs'}]",
                  "dry_run=true", f"run_dir={tmp_path / 'r'}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert {r["method"] for r in rows} >= {name, "oracle", "sritharan"}
    assert all(r["state"] == "todo" for r in rows) and not (tmp_path / "r" / "cells").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_preset_runs_tiny(name, tmp_path):
    params = _params(name)
    params.pop("method")
    shrink = [f"{k}={v[0]}" for k, v in params.items()]
    out = run_cli(f"+experiment={name}", *shrink, "method=oracle,sritharan", f"run_dir={tmp_path / 'r'}",
                  cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    df = results.load(tmp_path / "r")
    assert df["cell_id"].nunique() == 2 and set(df["status"]) == {"ok"}
    assert Path(tmp_path / "r" / "scores.csv").exists()


@pytest.mark.parametrize("name", ["quick", "sadspheres"])
def test_sweep_expansion_matches_hydra_composing_every_job(name):
    """The shortcut of `sweep.expand` (compose once per group choice, then apply value overrides) gives
    the cells Hydra gives by composing each job in full."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    with initialize_config_dir(config_dir=str(paths.CONFIGS), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+experiment={name}"], return_hydra_config=True)
        with open_dict(cfg):
            cfg.hydra.sweeper.params.seed = "0,3"
            cfg.hydra.sweeper.params.method = "oracle,dc_entropy,sritharan"  # a few groups, fast to compose
        fast = [sweep.spec_from_config(j.config).cell_id for j in sweep.expand(cfg)]
        loader = GlobalHydra.instance().config_loader()
        params = [f"{k}={v}" for k, v in cfg.hydra.sweeper.params.items()]
        jobs = BasicSweeper.split_arguments(OverridesParser.create(config_loader=loader).parse_overrides(params), None)
        full = [sweep.spec_from_config(loader.load_sweep_config(cfg, list(job))).cell_id
                for batch in jobs for job in batch]
    assert len(fast) == len(set(fast)) == len(full) > 1
    assert fast == full


def test_sweep_expansion_reports_a_misspelt_key_as_hydra_would():
    jobs = _expand("quick", **{"dataset.n_pointz": "10,20", "method": "oracle", "seed": "0"})
    assert jobs and all(j.config is None and "n_pointz" in j.error for j in jobs)
    specs, problems = sweep.validate(jobs)
    assert specs == [] and len(problems) == 1 and f"[{len(jobs)} cells" in problems[0]
