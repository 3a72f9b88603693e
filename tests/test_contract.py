"""The public contract of docs/DESIGN.md holds for every registered dataset and method (`make contract`)."""
from __future__ import annotations

import pytest
from conftest import run_cli

pytestmark = pytest.mark.slow


def test_the_contract_checker_finds_no_problem(tmp_path):
    out = run_cli(cwd=tmp_path, script="colosseum-contract", timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "contract: 0 problems" in out.stdout
    assert "methods run" in out.stdout and "0/" not in out.stdout.split("contract:")[1].split("datasets")[0]


def test_the_contract_checker_reports_a_broken_plugin(tmp_path, plugin_args):
    slow = "sleeper,dc_mioflattener,dc_rfae,dc_peer,dc_entropy,dc_laziness,dc_wasserstein,diffusion_orc"
    out = run_cli("--n-points", "300", "--skip", slow, cwd=tmp_path, script="colosseum-contract", timeout=600,
                  env_extra={"COLOSSEUM_PLUGIN_DIRS": plugin_args[0].split("[")[1].rstrip("]")})
    assert out.returncode == 1
    assert "PROBLEM: method always_fails: raised RuntimeError" in out.stdout
    assert "PROBLEM: method wrong_shape" in out.stdout
