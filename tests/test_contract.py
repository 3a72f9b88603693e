"""The public contract of docs/DESIGN.md holds for every registered dataset and method (`make contract`)."""
from __future__ import annotations

import re

import pytest
from conftest import run_cli

pytestmark = pytest.mark.slow


def test_the_contract_checker_finds_no_problem(tmp_path):
    # every registered dataset, method and denoiser, on smaller draws than the command's defaults (the
    # contract does not depend on the size; the neural flatteners then train on 300 points, not 500)
    out = run_cli("--n-points", "300", "--n-eval", "1", cwd=tmp_path, script="colosseum-contract", timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "contract: 0 problems" in out.stdout
    summary = re.search(r"(\d+)/(\d+) datasets drawn, (\d+)/(\d+) methods and (\d+) denoisers run", out.stdout)
    assert summary, out.stdout[-2000:]
    drawn, datasets, ran, methods, denoisers = map(int, summary.groups())
    assert drawn == datasets > 0 and ran == methods > 0 and denoisers > 0


BROKEN = """
import numpy as np
from colosseum.registry import register_method


@register_method("contract_raises")
def contract_raises(points, eval_idx, dim, *, seed: int):
    raise RuntimeError("planted")


@register_method("contract_wrong_shape")
def contract_wrong_shape(points, eval_idx, dim, *, seed: int):
    return np.zeros(len(eval_idx) + 1)


@register_method("contract_nondeterministic")
def contract_nondeterministic(points, eval_idx, dim, *, seed: int):
    return np.random.default_rng().normal(size=eval_idx.shape)
"""


def test_the_contract_checker_reports_a_broken_plugin(tmp_path):
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "exploding.py").write_text("raise ImportError('planted import failure')\n")
    planted = "contract_raises,contract_wrong_shape,contract_nondeterministic,oracle"
    out = run_cli("--n-points", "300", "--only", planted, "--datasets", "saddle", cwd=tmp_path,
                  script="colosseum-contract", timeout=600, env_extra={"COLOSSEUM_PLUGIN_DIRS": str(tmp_path)})
    assert out.returncode == 1, out.stdout[-2000:]
    assert "PROBLEM: method contract_raises: raised RuntimeError: planted" in out.stdout
    assert "PROBLEM: method contract_wrong_shape: raised ValueError" in out.stdout and "expected (2,)" in out.stdout
    assert "PROBLEM: method contract_nondeterministic: two runs of one cell gave different estimates" in out.stdout
    assert "PROBLEM: plugin exploding.py failed to import: ImportError: planted import failure" in out.stdout
