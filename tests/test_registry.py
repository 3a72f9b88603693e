"""The registry: built-ins, lookup errors, plugin discovery from extra folders, and config coverage."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from colosseum import paths, registry
from colosseum.registry import DATASET, METHOD

BUILTIN_METHODS = {"oracle", "constant", "random_sign"}
BUILTIN_DATASETS = {"sphere_cap", "saddle"}
KINDS = (DATASET, METHOD)


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _cloud(n: int = 20, big_d: int = 3) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, big_d))


# ----------------------------------------------------------------------------- built-ins and lookup

def test_builtins_are_listed():
    methods, datasets = registry.list_methods(), registry.list_datasets()
    assert BUILTIN_METHODS <= set(methods)
    assert BUILTIN_DATASETS <= set(datasets)
    assert methods == sorted(methods) and datasets == sorted(datasets)


def test_builtins_come_from_the_builtin_plugin_folders():
    for name in BUILTIN_METHODS:
        assert registry.entry(METHOD, name).source == (paths.METHODS / "baselines.py").resolve()
    for name in BUILTIN_DATASETS:
        assert registry.entry(DATASET, name).source == (paths.DATASETS / f"{name}.py").resolve()


def test_unknown_method_raises_listing_known_names():
    with pytest.raises(ValueError, match=r"unknown method 'no_such_method'; known methods: ") as info:
        registry.make_method("no_such_method")
    for name in BUILTIN_METHODS:
        assert name in str(info.value)


def test_unknown_dataset_raises_listing_known_names():
    with pytest.raises(ValueError, match=r"unknown dataset 'no_such_dataset'; known datasets: ") as info:
        registry.make_dataset("no_such_dataset", seed=0)
    for name in BUILTIN_DATASETS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="unknown dataset 'oracle'"):  # a method is not a dataset
        registry.entry(DATASET, "oracle")


def test_unknown_parameters_raise():
    with pytest.raises(ValueError, match=r"method 'constant' has no parameter\(s\) \['bogus'\].*takes \['sign'\]"):
        registry.make_method("constant", bogus=1)
    with pytest.raises(ValueError, match=r"method 'random_sign' has no parameter\(s\) \['sign'\]"):
        registry.make_method("random_sign", sign=1)
    with pytest.raises(ValueError, match=r"dataset 'saddle' has no parameter\(s\) \['radius'\]"):
        registry.make_dataset("saddle", seed=0, radius=1.0)
    with pytest.raises(ValueError, match=r"dataset 'sphere_cap' has no parameter\(s\) \['a', 'b'\]"):
        registry.make_dataset("sphere_cap", seed=0, b=1, a=2)


def test_oracle_needs_truth():
    with pytest.raises(ValueError, match=r"method 'oracle' needs \['truth'\]"):
        registry.make_method("oracle")
    assert "truth" not in registry.entry(METHOD, "oracle").defaults


def test_oracle_returns_the_truth_and_checks_its_shape():
    truth = np.array([0.5, -2.0, 3.0])
    out = registry.make_method("oracle", truth=truth)(_cloud(), [0, 4, 9], 2)
    np.testing.assert_array_equal(out, truth)
    with pytest.raises(ValueError, match=r"oracle got truth of shape \(2,\) for \(3,\) eval rows"):
        registry.make_method("oracle", truth=truth[:2])(_cloud(), [0, 4, 9], 2)


def test_baselines_constant_and_random_sign():
    idx = np.arange(0, 20, 2)
    np.testing.assert_array_equal(registry.make_method("constant")(_cloud(), idx, 2), -np.ones(10))
    rs = registry.make_method("random_sign")
    a, b = rs(_cloud(), idx, 2, seed=5), rs(_cloud(), idx, 2, seed=5)
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {-1.0, 1.0}
    # different seeds give different signs somewhere (10 coin flips each, over 5 seeds)
    assert any(not np.array_equal(a, rs(_cloud(), idx, 2, seed=s)) for s in range(6, 11))


def test_make_dataset_meta_names_the_draw():
    sample = registry.make_dataset("saddle", seed=3, n_points=50, n_eval=2)
    assert sample.meta["name"] == "saddle" and sample.meta["seed"] == 3
    assert sample.meta["params"] == {**registry.entry(DATASET, "saddle").defaults, "n_points": 50, "n_eval": 2}
    assert sample.meta["zero_tol"] == registry.entry(DATASET, "saddle").defaults["zero_tol"]


# ----------------------------------------------------------------------------- plugins from extra folders

PLUGIN = """
import numpy as np

from colosseum.contract import Sample
from colosseum.registry import register_dataset, register_method


@register_method("{method}")
def estimate(points, eval_idx, dim, *, seed: int, scale: float = 2.0):
    return np.full(eval_idx.shape, scale * dim + seed)


@register_dataset("{dataset}")
def make(*, seed: int, n: int = 12):
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((n, 3))
    return Sample(points=points, eval_idx=np.array([0, 1]), curvature=np.array([1.0, -1.0]), dim=2)
"""


def _write_plugin(folder: Path, stem: str, method: str, dataset: str) -> Path:
    path = folder / f"{stem}.py"
    path.write_text(PLUGIN.format(method=method, dataset=dataset))
    return path


def test_plugin_from_an_extra_folder_is_discovered_and_runs(tmp_path, isolated_registry):
    method, dataset = _unique("plugin_method"), _unique("plugin_dataset")
    path = _write_plugin(tmp_path, _unique("my_plugin"), method, dataset)
    assert method not in registry.list_methods()
    registry.add_plugin_dirs([tmp_path])
    assert tmp_path.resolve() in registry.plugin_dirs()
    assert method in registry.list_methods()
    assert dataset in registry.list_datasets()
    e = registry.entry(METHOD, method)
    assert e.source == path.resolve()
    assert dict(e.defaults) == {"scale": 2.0}
    # scale * dim + seed = 2 * 2 + 1 = 5, then 3 * 2 + 1 = 7
    assert registry.make_method(method)(_cloud(), [0, 1], 2, seed=1).tolist() == [5.0, 5.0]
    assert registry.make_method(method, scale=3.0)(_cloud(), [0, 1], 2, seed=1).tolist() == [7.0, 7.0]
    sample = registry.make_dataset(dataset, seed=4, n=15)
    assert sample.points.shape == (15, 3) and sample.curvature.tolist() == [1.0, -1.0]
    # its own parameter and the corruptions every dataset takes (colosseum.corruptions), at their defaults
    assert sample.meta["name"] == dataset and sample.meta["params"] == {"n": 15, "outliers": 0.0, "noise_spread": 0.0}
    # the built-ins are still there
    assert BUILTIN_METHODS <= set(registry.list_methods())


def test_plugin_in_a_methods_subfolder_is_discovered(tmp_path, isolated_registry):
    method, dataset = _unique("sub_method"), _unique("sub_dataset")
    (tmp_path / "methods").mkdir()
    _write_plugin(tmp_path / "methods", _unique("nested"), method, dataset)
    registry.add_plugin_dirs([tmp_path])
    assert method in registry.list_methods()


def test_private_and_test_files_are_not_plugins(tmp_path, isolated_registry):
    names = {}
    for prefix in ("_", "test_", "template_"):
        names[prefix] = (_unique("hidden_method"), _unique("hidden_dataset"))
        _write_plugin(tmp_path, prefix + _unique("file"), *names[prefix])
    registry.add_plugin_dirs([tmp_path])
    listed = set(registry.list_methods())
    for method, _ in names.values():
        assert method not in listed
    assert registry.failed_plugins() == []


def test_missing_plugin_folder_is_rejected(tmp_path, isolated_registry):
    with pytest.raises(ValueError, match="plugin folder .* does not exist"):
        registry.add_plugin_dirs([tmp_path / "nowhere"])


def test_a_single_folder_is_accepted_and_nothing_is_added_on_error(tmp_path, isolated_registry):
    method, dataset = _unique("single_method"), _unique("single_dataset")
    _write_plugin(tmp_path, _unique("single"), method, dataset)
    before = list(registry._EXTRA_DIRS)
    with pytest.raises(ValueError, match="does not exist"):
        registry.add_plugin_dirs([tmp_path, tmp_path / "nowhere"])
    assert registry._EXTRA_DIRS == before
    registry.add_plugin_dirs(str(tmp_path))
    assert method in registry.list_methods()


def test_broken_plugin_is_reported_and_listing_still_works(tmp_path, isolated_registry):
    good_method, good_dataset = _unique("good_method"), _unique("good_dataset")
    _write_plugin(tmp_path, _unique("good"), good_method, good_dataset)
    broken = tmp_path / f"{_unique('broken')}.py"
    marker = uuid.uuid4().hex
    broken.write_text(f"import numpy\nraise RuntimeError('plugin exploded {marker}')\n")
    registry.add_plugin_dirs([tmp_path])

    methods = registry.list_methods()  # must not raise
    assert BUILTIN_METHODS <= set(methods) and good_method in methods
    failed = {f.path: f.error for f in registry.failed_plugins()}
    assert broken.resolve() in failed
    assert f"RuntimeError: plugin exploded {marker}" in failed[broken.resolve()]
    # an unknown name's error points at the file that failed to import
    with pytest.raises(ValueError, match=rf"failed to import: {re.escape(broken.name)} "):
        registry.make_method(_unique("missing"))


def test_two_files_registering_one_name_is_a_failure(tmp_path, isolated_registry):
    method = _unique("dup_method")
    _write_plugin(tmp_path, "a_" + _unique("first"), method, _unique("d1"))
    second = _write_plugin(tmp_path, "b_" + _unique("second"), method, _unique("d2"))
    registry.add_plugin_dirs([tmp_path])
    assert method in registry.list_methods()
    failed = {f.path: f.error for f in registry.failed_plugins()}
    assert second.resolve() in failed and "registered twice" in failed[second.resolve()]


def test_schema_rules_for_registered_functions(isolated_registry):
    with pytest.raises(TypeError, match="needs a default"):
        @registry.register_method(_unique("no_default"))
        def f1(points, eval_idx, dim, *, seed: int, k):
            return None
    with pytest.raises(TypeError, match="must take a keyword argument `seed`"):
        @registry.register_method(_unique("no_seed"))
        def f2(points, eval_idx, dim, *, k: int = 3):
            return None
    with pytest.raises(TypeError, match=r"must take \(points, eval_idx, dim"):
        @registry.register_method(_unique("bad_positional"))
        def f3(x, eval_idx, dim, *, seed: int):
            return None
    with pytest.raises(TypeError, match="must be keyword-only"):
        @registry.register_dataset(_unique("positional_param"))
        def f4(n=3, *, seed: int):
            return None


# ----------------------------------------------------------------------------- config coverage

def _builtin_entries(kind: str) -> list[str]:
    """Entries registered by the built-in plugin folders (test plugins have no configs)."""
    folders = {paths.DATASETS.resolve(), paths.METHODS.resolve()}
    names = registry.list_datasets() if kind == DATASET else registry.list_methods()
    return [n for n in names if registry.entry(kind, n).source.parent in folders]


def _config_files(kind: str) -> list[Path]:
    """The configs of registered entries (variants, which inherit one through `defaults`, are checked apart)."""
    return sorted(p for p in (paths.CONFIGS / kind).glob("*.yaml") if "defaults" not in OmegaConf.load(p))


def _variant_files(kind: str) -> list[Path]:
    return sorted(p for p in (paths.CONFIGS / kind).glob("*.yaml") if "defaults" in OmegaConf.load(p))


@pytest.mark.parametrize("kind", KINDS)
def test_every_variant_config_sets_parameters_of_the_entry_it_inherits(kind):
    problems = []
    for path in _variant_files(kind):
        cfg = OmegaConf.to_container(OmegaConf.load(path))
        bases = [d for d in cfg.pop("defaults") if d != "_self_"]
        base = paths.CONFIGS / kind / f"{bases[0]}.yaml" if len(bases) == 1 else None
        if base is None or not base.is_file() or "defaults" in OmegaConf.load(base):
            problems.append(f"{path.name}: a variant inherits exactly one entry's config, got {bases}")
            continue
        name = OmegaConf.load(base)["name"]
        entry = registry.entry(kind, name)
        if "name" in cfg or not cfg:
            problems.append(f"{path.name}: a variant keeps its entry's name and sets some parameters")
        for key, value in cfg.items():
            try:
                entry.bind({key: value})
            except ValueError as exc:
                problems.append(f"{path.name}: {exc}")
    assert not problems, "\n".join(problems)


def test_builtin_entries_found_for_config_checks():
    assert BUILTIN_DATASETS <= set(_builtin_entries(DATASET))
    assert BUILTIN_METHODS <= set(_builtin_entries(METHOD))
    assert {p.stem for p in _config_files(DATASET)} >= BUILTIN_DATASETS
    assert {p.stem for p in _config_files(METHOD)} >= BUILTIN_METHODS


@pytest.mark.parametrize("kind", KINDS)
def test_every_registered_entry_has_a_matching_config(kind):
    problems = []
    for name in _builtin_entries(kind):
        path = paths.CONFIGS / kind / f"{name}.yaml"
        if not path.is_file():
            problems.append(f"{kind} {name!r}: no {path}")
            continue
        cfg = OmegaConf.to_container(OmegaConf.load(path))
        if cfg.get("name") != name:
            problems.append(f"{path.name}: name is {cfg.get('name')!r}, expected {name!r}")
        params = {k: v for k, v in cfg.items() if k != "name"}
        defaults = dict(registry.entry(kind, name).defaults)
        if set(params) != set(defaults):
            problems.append(f"{path.name}: keys {sorted(params)} != registered parameters {sorted(defaults)}")
        for key in set(params) & set(defaults):
            got, want = params[key], defaults[key]
            if got != want or type(got) is not type(want):
                problems.append(f"{path.name}: {key} = {got!r} ({type(got).__name__}), "
                                f"registered default {want!r} ({type(want).__name__})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", KINDS)
def test_every_config_names_a_registered_entry(kind):
    registered = set(registry.list_datasets() if kind == DATASET else registry.list_methods())
    problems = []
    for path in _config_files(kind):
        cfg = OmegaConf.to_container(OmegaConf.load(path))
        name = cfg.get("name")
        if name != path.stem:
            problems.append(f"{path}: name {name!r} differs from the file name")
        if name not in registered:
            problems.append(f"{path}: {kind} {name!r} is not registered")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", KINDS)
def test_every_parameter_line_carries_a_comment(kind):
    problems = []
    for path in _config_files(kind):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            m = re.match(r"^([A-Za-z_]\w*)\s*:", line)
            if m and m.group(1) != "name" and "#" not in line.split(":", 1)[1]:
                problems.append(f"{path.name}:{lineno}: {line.strip()!r} has no # comment")
    assert not problems, "\n".join(problems)


def test_random_sign_is_not_a_function_of_the_seed_alone():
    """Batteries tie the true sign to the seed (quadric: seed parity), so chance must not repeat
    across the clouds of one seed: over 400 clouds with seed 0 the share of +1 is 1/2 within 4
    binomial standard deviations (0.1)."""
    rs = registry.make_method("random_sign")
    rng = np.random.default_rng(0)
    signs = [rs(rng.normal(size=(30, 3)), np.array([0]), 2, seed=0)[0] for _ in range(400)]
    assert abs(np.mean(np.asarray(signs) > 0) - 0.5) < 0.1
