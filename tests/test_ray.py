"""The Ray path run for real: a local Ray cluster on 127.0.0.1, a sweep through hydra/launcher=ray, and the
table of a serial run. Needs the `ray` extra (`.ci/run` installs it)."""
from __future__ import annotations

import socket
import subprocess

import numpy as np
import pytest
from conftest import BIN, run_cli

from colosseum import results

pytestmark = pytest.mark.slow
pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e .[ray])")
SWEEP = ("-m", "dataset=sphere_cap,saddle", "method=random_sign,sritharan", "seed=0,1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _table(run):
    df = results.load(run)
    return df.sort_values(["cell_id", "point"])[["cell_id", "point", "estimate", "true_curvature", "status"]]


@pytest.fixture
def cluster():
    import tempfile

    port = _free_port()
    env_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    start = subprocess.run([str(BIN / "ray"), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                            "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                            f"--temp-dir={env_tmp}"], capture_output=True, text=True, timeout=180)
    try:
        assert start.returncode == 0, start.stderr[-2000:]
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, timeout=120)
        import shutil

        shutil.rmtree(env_tmp, ignore_errors=True)


def test_a_sweep_on_a_ray_cluster_equals_a_serial_run(cluster, tmp_path):
    serial = run_cli(*SWEEP, f"run_dir={tmp_path / 'serial'}", cwd=tmp_path)
    assert serial.returncode == 0, serial.stderr
    out = run_cli(*SWEEP, "hydra/launcher=ray", f"hydra.launcher.ray.init.address={cluster}",
                  f"run_dir={tmp_path / 'ray'}", cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "8 ok" in out.stderr and "8/8" in out.stderr
    a, b = _table(tmp_path / "serial"), _table(tmp_path / "ray")
    assert list(a["cell_id"]) == list(b["cell_id"])
    np.testing.assert_array_equal(a["estimate"].to_numpy(), b["estimate"].to_numpy())
    np.testing.assert_array_equal(a["true_curvature"].to_numpy(), b["true_curvature"].to_numpy())
