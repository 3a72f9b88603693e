"""The layout rules of colosseum.estimators: docstring-only package files, thin plugins that never reach
another plugin, and code identities that follow the true imports (an edit of a core recomputes exactly
the methods that use it)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from colosseum import codehash, paths, registry

ESTIMATORS = codehash.PACKAGE_DIR / "estimators"


def _closure_files(method: str) -> set[str]:
    return set(registry.entry("method", method).code_files()[1:])


@pytest.mark.parametrize("init", sorted(ESTIMATORS.rglob("__init__.py")), ids=lambda p: p.parent.name)
def test_package_files_hold_a_docstring_only(init: Path):
    body = ast.parse(init.read_text()).body
    assert len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value.value, str), init


@pytest.mark.parametrize("plugin", sorted(paths.METHODS.glob("*.py")), ids=lambda p: p.stem)
def test_plugins_import_no_other_plugin_and_look_none_up(plugin: Path):
    tree = ast.parse(plugin.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith(("methods", "colosseum_plugins")), plugin
            assert not (node.module == "colosseum.registry" and any(a.name == "entry" for a in node.names)), plugin
        if isinstance(node, ast.Attribute):
            assert node.attr != "entry", f"{plugin.name} looks a plugin up in the registry"


@pytest.mark.parametrize("core, users", [
    ("colosseum/estimators/dc2.py", {"dc_entropy", "dc_rfae", "dc_mioflattener"}),
    ("colosseum/estimators/spread.py", {"dc_wasserstein"}),
    ("colosseum/estimators/flattening/rfae.py", {"dc_rfae", "dc_mioflattener"}),
    ("colosseum/estimators/flattening/mioflow.py", {"dc_mioflattener"}),
    ("colosseum/estimators/graph_curvature.py", {"ollivier_ricci", "forman_ricci"}),
    ("colosseum/estimators/knn.py", {"ollivier_ricci", "forman_ricci", "diffusion_orc", "hickok_blumberg",
                                     "hickok_blumberg_calibrated",
                                     "dc_rfae", "dc_mioflattener"}),
    ("colosseum/estimators/quadratic_fit.py", {"sritharan", "sff_regressor"}),
    ("colosseum/estimators/sff_regression.py", {"sff_regressor"}),
    ("colosseum/estimators/adal_pca.py", {"adal_pca"}),
    ("colosseum/estimators/diffusion_geometry.py", {"diffusion_geometry"}),
])
def test_a_core_is_in_the_code_identity_of_exactly_its_methods(core, users):
    builtin = [m for m in registry.list_methods()
               if registry.entry("method", m).source.parent == paths.METHODS.resolve()]
    assert {m for m in builtin if core in _closure_files(m)} == users
