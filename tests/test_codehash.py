"""Code identity: a cell's id sees every project file its dataset and method import, and nothing else."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from colosseum import codehash, paths, registry
from colosseum.cells import CellSpec

METHODS = ("dc_entropy", "dc_rfae", "dc_mioflattener", "dc_wasserstein", "sritharan", "ollivier_ricci", "oracle")
PRESENTATION = ("colosseum/report/writer.py", "colosseum/report/plots.py", "colosseum/compare.py", "colosseum/cli.py",
                "colosseum/results.py", "colosseum/runner.py", "colosseum/display.py")


@pytest.fixture
def edit(monkeypatch):
    """edit(path): the hash now reads `path` with one more line, as if a developer had changed it."""
    edited: set[Path] = set()
    original = codehash.read_source

    def read(path: Path) -> bytes:
        data = original(path)
        return data + b"\n# edited\n" if path.resolve() in edited else data

    monkeypatch.setattr(codehash, "read_source", read)

    def do(rel: str) -> None:
        edited.add((codehash.PACKAGE_DIR.parent / rel).resolve())
        codehash.clear_cache()

    yield do
    codehash.clear_cache()


def _ids(methods=METHODS) -> dict[str, str]:
    return {m: CellSpec.create("sphere_cap", {"n_points": 300}, m, {}, 0).cell_id for m in methods}


def _closure(method: str) -> set[str]:
    return set(registry.entry(registry.METHOD, method).code_files())


def test_a_core_module_shared_by_two_methods_changes_exactly_their_cells(edit):
    shared = (_closure("dc_entropy") & _closure("dc_rfae")) - _closure("dc_wasserstein") - _closure("sritharan")
    core = sorted(f for f in shared if f.startswith("colosseum/estimators/"))
    assert core, f"no estimator core shared by dc_entropy and dc_rfae alone: {sorted(shared)}"
    before = _ids()
    edit(core[0])
    after = _ids()
    changed = {m for m in METHODS if before[m] != after[m]}
    assert {"dc_entropy", "dc_rfae", "dc_mioflattener"} <= changed, core[0]
    assert not changed & {"dc_wasserstein", "sritharan", "ollivier_ricci", "oracle"}, core[0]


def test_editing_a_method_file_changes_only_that_methods_cells(edit):
    before = _ids()
    edit("methods/sritharan.py")
    after = _ids()
    assert {m for m in METHODS if before[m] != after[m]} == {"sritharan"}


def test_editing_the_dataset_code_changes_every_cell_on_that_dataset(edit):
    before = _ids()
    edit("colosseum/geometry.py")
    assert all(before[m] != v for m, v in _ids().items())


@pytest.mark.parametrize("rel", PRESENTATION)
def test_editing_a_presentation_module_recomputes_nothing(edit, rel):
    assert (codehash.PACKAGE_DIR.parent / rel).is_file(), rel
    before = _ids()
    edit(rel)
    assert _ids() == before
    for kind in (registry.DATASET, registry.METHOD):
        for name in (registry.list_datasets() if kind == registry.DATASET else registry.list_methods()):
            assert rel not in registry.entry(kind, name).code_files(), (kind, name, rel)


def test_imports_inside_functions_and_relative_imports_are_followed(tmp_path):
    plugin = tmp_path / "late.py"
    plugin.write_text("def f():\n    from colosseum.estimators import kernels\n    import colosseum.geometry as g\n")
    files = [codehash.label(p) for p in codehash.closure(plugin)]
    assert "colosseum/geometry.py" in files and "colosseum/estimators/kernels.py" in files
    # a package's __init__ runs before any module below it is imported: it is in the closure
    assert "colosseum/__init__.py" in files and "colosseum/estimators/__init__.py" in files


def _plugin_files() -> list[Path]:
    return sorted(paths.METHODS.glob("*.py")) + sorted(paths.DATASETS.glob("*.py"))


@pytest.mark.parametrize("path", _plugin_files(), ids=lambda p: p.name)
def test_no_plugin_imports_or_calls_another_plugin(path):
    tree = ast.parse(path.read_text())
    stems = {p.stem for p in _plugin_files()} - {path.stem}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module
                                                     else [])
            for name in names:
                assert not name.startswith("colosseum_plugins"), f"{path.name} imports plugin module {name}"
                assert name.split(".")[0] not in stems, f"{path.name} imports plugin {name}"
        if isinstance(node, ast.Call):
            fn = node.func
            called = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            assert called not in ("entry", "make_method", "make_dataset"), \
                f"{path.name}:{node.lineno} looks up a plugin through the registry ({called})"
