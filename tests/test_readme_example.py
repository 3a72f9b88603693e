"""The README's worked example of adding a method must work as printed."""
from __future__ import annotations

import re

import numpy as np
from conftest import ROOT, run_cli

from colosseum import results


def _block(text: str, first_line: str) -> str:
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S):
        if body.startswith(first_line):
            return body
    raise AssertionError(f"README has no code block starting with {first_line!r}")


def test_readme_method_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    plugins = tmp_path / "plugins"
    (plugins / "configs" / "method").mkdir(parents=True)
    (plugins / "mean_distance.py").write_text(_block(readme, "# methods/mean_distance.py"))
    (plugins / "configs" / "method" / "mean_distance.yaml").write_text(
        _block(readme, "# configs/method/mean_distance.yaml"))
    out = run_cli("-m", "method=mean_distance", "dataset=sphere_cap,saddle", "method.k=15",
                  f"plugin_dirs=[{plugins}]", f"hydra.searchpath=[file://{plugins / 'configs'}]",
                  f"run_dir={tmp_path / 'r'}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    df = results.load(tmp_path / "r")
    assert set(df["status"]) == {"ok"} and df["cell_id"].nunique() == 2
    assert set(df["method.k"]) == {15}
    assert np.isfinite(df["estimate"]).all()
