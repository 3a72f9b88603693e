"""Identity that cannot lie: a cell's id names the code and data that actually computed it.

Each test reproduces a defect measured on main 623b906 (issue 18): a cell filed under the hash of code
that did not compute it, files a method read that were outside its identity, recency decided by local
time, a cell file holding another cell, malformed manifests, values that hash differently for one
computation, a plugin shadowing a built-in, and results that depend on the cells run before.
"""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from colosseum import check, codehash, registry, results, store
from colosseum.cells import CellSpec

pytestmark = pytest.mark.slow


def _plugin_dir(tmp_path: Path, name: str, source: str, config: str | None = None) -> tuple[Path, list[str]]:
    folder = tmp_path / "plugins"
    (folder / "configs" / "method").mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(source)
    (folder / "configs" / "method" / f"{name}.yaml").write_text(config or f"name: {name}\n")
    return folder, [f"plugin_dirs=[{folder}]", f"hydra.searchpath=[file://{folder / 'configs'}]"]


def _estimates(run: Path) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = results.load(run)
    return df.groupby("cell_key")["estimate"].first().to_dict()


# ----------------------------------------------------------------------------- row 1: code edited mid-sweep

DRIFTING = '''
import time
from pathlib import Path

import numpy as np
from colosseum.registry import register_method

VALUE = 1.0


@register_method("drifting")
def drifting(points, eval_idx, dim, *, seed: int, hang: bool = False):
    if hang:  # a developer edits this very file while the sweep runs, and this cell then hangs past its limit
        path = Path(__file__)
        path.write_text(path.read_text().replace("VALUE = 1.0", "VALUE = -1.0"))
        time.sleep(120)
    return np.full(eval_idx.shape, VALUE)
'''


@pytest.mark.parametrize("launcher", ["basic", "cells"])
def test_a_worker_restarted_after_an_edit_never_files_new_code_under_the_planned_id(tmp_path, launcher):
    folder, args = _plugin_dir(tmp_path, "drifting", DRIFTING, "name: drifting\nhang: false  # edit and hang\n")
    run = tmp_path / "r"
    extra = ["hydra/launcher=cells", "hydra.launcher.n_jobs=1"] if launcher == "cells" else []
    out = run_cli("-m", "method=drifting", "method.hang=true,false", "dataset=saddle", "timeout_s=4",
                  f"run_dir={run}", *args, *extra, cwd=tmp_path, timeout=300)
    # the hanging cell times out; the worker restarted for the next cell loads the edited file
    new_hash = codehash.code_hash(folder / "drifting.py")
    for path in store.cell_files(run):
        row = store.read_table(path).slice(0, 1).to_pylist()[0]
        if row["status"] == "ok":
            assert row["estimate"] == -1.0 and row["code.method"] == new_hash, \
                "a value of the edited code was filed under the hash of the code planned before the edit"
    assert out.returncode == 1 and "changed while the sweep ran" in out.stderr, out.stderr
    found = check.check(run)
    assert found.missing, "the refused cell must be reported missing, not hidden"
    again = run_cli("-m", "method=drifting", "method.hang=false", "dataset=saddle", f"run_dir={run}", *args,
                    *extra, cwd=tmp_path, timeout=300)
    assert again.returncode == 0 and "1 ok" in again.stderr, again.stderr
    assert -1.0 in _estimates(run).values()


# ----------------------------------------------------------------------------- row 2: what a cell really read

READS_DATA = '''
from pathlib import Path

import numpy as np
from colosseum.registry import register_method


@register_method("reads_data")
def reads_data(points, eval_idx, dim, *, seed: int):
    scale = float(Path(__file__).with_name("scale.txt").read_text())
    return np.full(eval_idx.shape, scale)
'''

READS_SIBLING = '''
import importlib.util
from pathlib import Path

import numpy as np
from colosseum.registry import register_method


@register_method("reads_sibling")
def reads_sibling(points, eval_idx, dim, *, seed: int):
    spec = importlib.util.spec_from_file_location("sibling_helper", Path(__file__).parent / "helper" / "sibling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return np.full(eval_idx.shape, module.VALUE)
'''


@pytest.mark.parametrize("plugin, edit", [
    ("reads_data", lambda folder, v: (folder / "scale.txt").write_text(str(v))),
    ("reads_sibling", lambda folder, v: (folder / "helper" / "sibling.py").write_text(f"VALUE = {v}\n")),
])
def test_a_file_a_method_read_outside_its_imports_is_part_of_its_identity(tmp_path, plugin, edit):
    folder, args = _plugin_dir(tmp_path, plugin, READS_DATA if plugin == "reads_data" else READS_SIBLING)
    (folder / "helper").mkdir()
    edit(folder, 1.5)
    run = tmp_path / "r"
    sweep = ["-m", f"method={plugin}", "dataset=saddle,sphere_cap", f"run_dir={run}", *args]
    first = run_cli(*sweep, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert set(_estimates(run).values()) == {1.5}
    read = json.loads(results.load(run)["code.reads"].iloc[0])
    assert any(label.endswith(("scale.txt", "sibling.py")) for label in read), read
    same = run_cli(*sweep, cwd=tmp_path)
    assert "2 already done" in same.stderr, "an unchanged file must not recompute anything"

    edit(folder, -2.5)  # the data file (or the sibling module) changes: the cells are stale
    assert len(check.check(run).stale) == 2
    again = run_cli(*sweep, cwd=tmp_path)
    assert again.returncode == 0 and "2 ok" in again.stderr, again.stderr
    assert set(_estimates(run).values()) == {-2.5}
    assert not check.check(run).stale


def test_a_package_init_is_in_the_closure_of_every_module_below_it(monkeypatch):
    """`colosseum/estimators/__init__.py` runs whenever any core is imported: editing it must change the
    id of every method that imports a core."""
    edited = (codehash.PACKAGE_DIR / "estimators" / "__init__.py").resolve()
    original = codehash.read_source
    through = [m for m in registry.list_methods()
               if any(f.startswith("colosseum/estimators/") for f in registry.entry("method", m).code_files()[1:])]
    assert len(through) >= 10, through
    before = {m: CellSpec.create("saddle", {}, m, {}, 0).cell_id for m in through}
    monkeypatch.setattr(codehash, "read_source", lambda p: original(p) + (b"\n# edited\n" if p == edited else b""))
    codehash.clear_cache()
    try:
        after = {m: CellSpec.create("saddle", {}, m, {}, 0).cell_id for m in through}
    finally:
        codehash.clear_cache()
    assert [m for m in through if before[m] == after[m]] == []


REACHES_ATTRIBUTE = '''
import numpy as np
from colosseum.registry import register_method


@register_method("reaches_attribute")
def reaches_attribute(points, eval_idx, dim, *, seed: int):
    import colosseum.estimators.balls  # noqa: F401  (only a neighbour module is named in an import)
    import colosseum
    # the core used is reached as an attribute of a package, which no import statement names
    return np.full(eval_idx.shape, float(colosseum.estimators.local_dimension.local_pca_dimension(points, eval_idx)))
'''


def test_a_core_reached_as_a_package_attribute_is_traced(tmp_path, isolated_registry):
    import colosseum.estimators.local_dimension  # noqa: F401  (loaded, as in a worker that warmed up)
    from colosseum import trace

    folder, _ = _plugin_dir(tmp_path, "reaches_attribute", REACHES_ATTRIBUTE)
    registry.add_plugin_dirs([folder])
    static = set(registry.entry("method", "reaches_attribute").code_files())
    assert "colosseum/estimators/local_dimension.py" not in static
    sample = registry.make_dataset("saddle", seed=0, n_points=200, n_eval=2)
    method = registry.make_method("reaches_attribute")
    with trace.Recorder([folder]) as rec:
        method(sample.points, sample.eval_idx, sample.dim, seed=0)
    assert "colosseum/estimators/local_dimension.py" in rec.labels(), rec.labels()


# ----------------------------------------------------------------------------- row 3: recency by UTC

VERSIONED = '''
import numpy as np
from colosseum.registry import register_method


@register_method("versioned")
def versioned(points, eval_idx, dim, *, seed: int):
    return np.full(eval_idx.shape, {value})
'''


def test_the_newest_run_wins_whatever_the_time_zone(tmp_path):
    folder, args = _plugin_dir(tmp_path, "versioned", VERSIONED.format(value=1.0))
    run = tmp_path / "r"
    sweep = ["-m", "method=versioned", "dataset=saddle", f"run_dir={run}", *args]
    assert run_cli(*sweep, cwd=tmp_path, env_extra={"TZ": "Asia/Tokyo"}).returncode == 0
    (folder / "versioned.py").write_text(VERSIONED.format(value=-1.0))
    second = run_cli(*sweep, cwd=tmp_path, env_extra={"TZ": "UTC"})
    assert second.returncode == 0, second.stderr
    assert set(_estimates(run).values()) == {-1.0}
    found = check.check(run)
    assert found.clean and len(found.superseded) == 1 and not found.stale


def test_manifests_are_ordered_by_utc_time_then_by_a_sequence(tmp_path):
    (tmp_path / store.MANIFESTS).mkdir(parents=True)
    old = {"cell_id": "old", "cell_key": "k", "label": "x"}
    new = {"cell_id": "new", "cell_key": "k", "label": "x"}
    # a manifest written at 09:00 in Tokyo is older than one written at 01:00 UTC the same day
    (tmp_path / store.MANIFESTS / "b.json").write_text(json.dumps(
        {"created": "2026-12-03T09:00:00+0900", "cells": [old]}))
    (tmp_path / store.MANIFESTS / "a.json").write_text(json.dumps(
        {"created": "2026-12-03T01:00:00+0000", "cells": [new]}))
    assert store.expected_versions(tmp_path).current == {"k": "new"}


# ----------------------------------------------------------------------------- row 4: a file holding another cell

def test_a_cell_file_overwritten_by_another_cells_file_is_corrupt_and_recomputed(tmp_path):
    run = tmp_path / "r"
    sweep = ["-m", "method=oracle,constant", "dataset=saddle", f"run_dir={run}"]
    assert run_cli(*sweep, cwd=tmp_path).returncode == 0
    a, b = store.cell_files(run)
    shutil.copyfile(a, b)
    with pytest.warns(UserWarning, match=b.stem):
        df = results.load(run)
    assert df["cell_id"].nunique() == 1 and len(df.attrs["missing_cells"]) == 1
    assert b.name in check.check(run).corrupt
    again = run_cli(*sweep, cwd=tmp_path)
    assert again.returncode == 0 and "1 ok" in again.stderr, again.stderr
    assert results.load(run)["cell_id"].nunique() == 2


# ----------------------------------------------------------------------------- row 5: malformed manifests

@pytest.mark.parametrize("body", ["null", "5", '{"cells": 7}', '{"cells": [1, "x", null]}', '"text"'])
def test_a_manifest_of_the_wrong_shape_is_skipped_with_one_warning(tmp_path, body):
    run = tmp_path / "r"
    assert run_cli("method=oracle", "dataset=saddle", f"run_dir={run}", cwd=tmp_path).returncode == 0
    (run / store.MANIFESTS / "zz-broken.json").write_text(body)
    with pytest.warns(UserWarning, match="zz-broken.json"):
        df = results.load(run)
    assert df["cell_id"].nunique() == 1
    out = run_cli(str(run), script="colosseum-check", cwd=tmp_path)
    assert out.returncode == 1 and "zz-broken.json" in out.stdout and "Traceback" not in out.stderr
    fixed = run_cli(str(run), "--fix", script="colosseum-check", cwd=tmp_path)
    assert fixed.returncode == 0 and (run / "corrupt" / "zz-broken.json").exists(), fixed.stdout


# ----------------------------------------------------------------------------- row 7: the report says what readers warn

def test_the_report_names_stale_corrupt_and_missing_cells_and_never_pools_code_versions(tmp_path):
    from colosseum.report import writer

    folder, args = _plugin_dir(tmp_path, "versioned", VERSIONED.format(value=1.0))
    run = tmp_path / "r"
    sweep = ["-m", "method=versioned,oracle", "dataset=saddle,sphere_cap", "seed=0,1", f"run_dir={run}", *args]
    assert run_cli(*sweep, cwd=tmp_path).returncode == 0
    (folder / "versioned.py").write_text(VERSIONED.format(value=-1.0))
    subset = ["-m", "method=versioned", "dataset=saddle", "seed=0", f"run_dir={run}", *args]
    assert run_cli(*subset, cwd=tmp_path).returncode == 0  # one cell of four recomputed with the new code
    oracle = [p for p in store.cell_files(run) if store.read_table(p).column("method")[0].as_py() == "oracle"]
    oracle[0].write_bytes(b"not parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = writer.build(run, n_boot=20)
    text = files["markdown"].read_text()
    assert "3 stale cell" in text, "three versioned cells were computed by code changed since"
    assert oracle[0].name in text, "a corrupt file is named"
    assert "missing" in text
    board = (files["markdown"].parent / "leaderboard.csv").read_text()
    assert board.count("versioned") >= 2, "two code versions of one method are two rows, never pooled"


# ----------------------------------------------------------------------------- row 10: one canonical value

def test_negative_zero_and_integral_floats_in_lists_hash_as_one_value():
    assert CellSpec.create("saddle", {"noise": -0.0}, "oracle", {}, 0).key == \
        CellSpec.create("saddle", {"noise": 0}, "oracle", {}, 0).key
    from colosseum.params import param_type

    floats = param_type(list[float], [1.0, 2.0])
    assert floats.coerce([1, 2]) == floats.coerce([1.0, 2]) == [1.0, 2.0]
    ints = param_type(None, [2, 1])  # a list default of integers: a list of integers
    assert ints.coerce([2.0, 1]) == [2, 1]
    with pytest.raises(ValueError, match="expects a list of integers"):
        ints.coerce([2.5, 1])
    from colosseum.cells import digest

    assert digest({"x": [1, 2]}) == digest({"x": [1.0, 2.0]}) and digest({"x": -0.0}) == digest({"x": 0.0})


# ----------------------------------------------------------------------------- row 11: a plugin shadowing a built-in

SHADOW = '''
import numpy as np
from colosseum.registry import register_method


@register_method("my_own")
def my_own(points, eval_idx, dim, *, seed: int):
    return np.zeros(eval_idx.shape)


@register_method("sritharan")
def my_sritharan(points, eval_idx, dim, *, seed: int):
    return np.zeros(eval_idx.shape)
'''


def test_a_plugin_registering_an_existing_name_is_an_error_naming_both_files(tmp_path):
    folder, args = _plugin_dir(tmp_path, "shadow", SHADOW)
    (folder / "configs" / "method" / "my_own.yaml").write_text("name: my_own\n")
    out = run_cli("method=sritharan", "dataset=saddle", f"run_dir={tmp_path / 'r'}", *args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "shadow.py" in out.stderr and "methods/sritharan.py" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "r" / "cells").exists()
    other = run_cli("method=my_own", "dataset=saddle", f"run_dir={tmp_path / 'r'}", *args, cwd=tmp_path)
    assert other.returncode == 2 and "shadow.py" in other.stderr


# ----------------------------------------------------------------------------- row 13: global random state

GLOBAL_RNG = '''
import random

import numpy as np
from colosseum.registry import register_method


@register_method("global_rng")
def global_rng(points, eval_idx, dim, *, seed: int, draws: int = 1):
    for _ in range(draws - 1):
        np.random.rand(); random.random()
    return np.random.rand(len(eval_idx)) + random.random()
'''


def test_a_cell_starts_from_a_fixed_global_random_state(tmp_path):
    folder, args = _plugin_dir(tmp_path, "global_rng", GLOBAL_RNG, "name: global_rng\ndraws: 1  # draws\n")
    both, alone = tmp_path / "both", tmp_path / "alone"
    # the same cell after another cell in one worker, and alone
    assert run_cli("-m", "method=global_rng", "method.draws=5,1", "dataset=saddle", f"run_dir={both}", *args,
                   cwd=tmp_path).returncode == 0
    assert run_cli("-m", "method=global_rng", "method.draws=1", "dataset=saddle", f"run_dir={alone}", *args,
                   cwd=tmp_path).returncode == 0
    b, a = results.load(both), results.load(alone)
    np.testing.assert_array_equal(b[b["method.draws"] == 1].sort_values("point")["estimate"].to_numpy(),
                                  a.sort_values("point")["estimate"].to_numpy())


def test_the_contract_checker_flags_a_method_whose_two_runs_differ(tmp_path, isolated_registry):
    from colosseum import contract_check

    folder, _ = _plugin_dir(tmp_path, "unseeded", '''
import os

import numpy as np
from colosseum.registry import register_method


@register_method("unseeded")
def unseeded(points, eval_idx, dim, *, seed: int):
    return np.random.default_rng(int.from_bytes(os.urandom(4), "little")).normal(size=eval_idx.shape)
''')
    registry.add_plugin_dirs([folder])
    probe = registry.make_dataset("saddle", seed=0, n_points=200, n_eval=2)
    assert any("two runs of one cell gave different estimates" in p
               for p in contract_check.check_method(registry, "unseeded", probe))
    g, _ = _plugin_dir(tmp_path / "g", "global_rng", GLOBAL_RNG)
    registry.add_plugin_dirs([g])
    assert contract_check.check_method(registry, "global_rng", probe) == []


# ----------------------------------------------------------------------------- CellSpec equality

def test_cell_specs_compare_and_hash_by_identity():
    a = CellSpec.create("saddle", {}, "oracle", {}, 0)
    b = CellSpec(a.dataset, a.dataset_params, a.method, a.method_params, a.seed, {**a.code, "method": "x" * 16})
    assert a != b and a == CellSpec.from_dict(a.to_dict())
    assert len({a, b, CellSpec.from_dict(a.to_dict())}) == 2
