"""The runner end to end through Hydra: single cell, sweep, resume, failure isolation, timeouts."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import run_cli

from colosseum import results, store

pytestmark = pytest.mark.slow


def _cells(run_dir):
    return sorted((run_dir / "cells").glob("*.parquet"))


def test_single_cell_writes_tidy_rows(tmp_path):
    out = run_cli("dataset=saddle", "method=oracle", "seed=3", f"run_dir={tmp_path / 'r'}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    run = tmp_path / "r"
    assert len(_cells(run)) == 1
    df = results.load(run)
    assert len(df) == 8  # saddle's default n_eval
    for col in ("run_id", "cell_id", "dataset", "method", "seed", "point", "true_curvature", "estimate",
                "status", "error", "runtime_s", "dataset.dim", "dataset.noise", "prov.git_commit", "prov.jax",
                "started_at"):
        assert col in df.columns, col
    assert set(df["status"]) == {"ok"} and set(df["seed"]) == {3}
    np.testing.assert_array_equal(df["estimate"], df["true_curvature"])
    assert df.attrs["missing_cells"] == []
    scores = pd.read_csv(run / "scores.csv")
    acc = scores.loc[scores["metric"] == "sign_accuracy", "value"]
    assert list(acc) == [1.0]
    assert "Leaderboard" in out.stdout


def test_sweep_resumes_without_recomputing(tmp_path):
    args = ["-m", "dataset=sphere_cap,saddle", "method=oracle,constant", "seed=0,1", f"run_dir={tmp_path / 'r'}"]
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    files = _cells(tmp_path / "r")
    assert len(files) == 8
    stamps = {f: f.stat().st_mtime_ns for f in files}
    assert "8 ok" in first.stderr and "8/8" in first.stderr
    second = run_cli(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "0 ok, 8 already done" in second.stderr
    assert {f: f.stat().st_mtime_ns for f in _cells(tmp_path / "r")} == stamps
    # rerun=all recomputes every cell into the same files
    third = run_cli(*args, "rerun=all", cwd=tmp_path)
    assert "8 ok, 0 already done" in third.stderr
    df = results.load(tmp_path / "r")
    lb = results.leaderboard(df, by=("method",)).set_index("method")
    assert lb.loc["oracle", "sign_accuracy"] == 1.0
    assert lb.loc["constant", "balanced_sign_accuracy"] == 0.5  # caps positive, saddles negative


def test_failing_cell_is_isolated(tmp_path, plugin_args):
    run = tmp_path / "r"
    out = run_cli("-m", "method=oracle,always_fails,wrong_shape", "dataset=saddle", f"run_dir={run}",
                  *plugin_args, cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "2 error" in out.stderr
    df = results.load(run)
    status = df.groupby("method")["status"].first()
    assert status.to_dict() == {"always_fails": "error", "oracle": "ok", "wrong_shape": "error"}
    err = df[df["method"] == "always_fails"].iloc[0]
    assert err["error"] == "planted failure" and err["error_type"] == "RuntimeError"
    assert "RuntimeError" in err["traceback"]
    assert "shape" in df[df["method"] == "wrong_shape"].iloc[0]["error"]
    # failed cells keep their evaluation rows and truth; estimates are abstentions
    assert df[df["method"] == "always_fails"]["estimate"].isna().all()
    assert df[df["method"] == "always_fails"]["true_curvature"].notna().all()
    # rerun=failed recomputes only the two failed cells
    ok_file = store.cell_path(run, df[df["method"] == "oracle"]["cell_id"].iloc[0])
    stamp = ok_file.stat().st_mtime_ns
    again = run_cli("-m", "method=oracle,always_fails,wrong_shape", "dataset=saddle", f"run_dir={run}",
                    "rerun=failed", *plugin_args, cwd=tmp_path)
    assert "0 ok, 1 already done, 0 skipped, 2 error" in again.stderr
    assert ok_file.stat().st_mtime_ns == stamp


def test_timeout_kills_the_cell_and_the_sweep_goes_on(tmp_path, plugin_args):
    run = tmp_path / "r"
    out = run_cli("-m", "method=sleeper,oracle", "dataset=saddle", "timeout_s=8", f"run_dir={run}",
                  *plugin_args, cwd=tmp_path, timeout=120)
    assert out.returncode == 1
    df = results.load(run)
    status = df.groupby("method")["status"].first().to_dict()
    assert status == {"sleeper": "timeout", "oracle": "ok"}
    assert "timeout_s=8" in df[df["method"] == "sleeper"].iloc[0]["error"]


def test_partial_run_and_leftover_temp_file(tmp_path):
    run = tmp_path / "r"
    out = run_cli("-m", "dataset=saddle", "method=oracle,random_sign", f"run_dir={run}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    files = _cells(run)
    (run / "cells" / ".deadbeef.123.abc.tmp").write_bytes(b"half a parquet file")
    os.remove(files[0])
    with pytest.warns(UserWarning, match="1 of 2 expected cells are missing"):
        df = results.load(run)
    assert df["cell_id"].nunique() == 1
    assert len(df.attrs["missing_cells"]) == 1
    # rerunning the same command fills the hole and ignores the temp file
    again = run_cli("-m", "dataset=saddle", "method=oracle,random_sign", f"run_dir={run}", cwd=tmp_path)
    assert "1 ok, 1 already done" in again.stderr
    assert results.load(run)["cell_id"].nunique() == 2


def test_unknown_method_is_a_clear_error(tmp_path):
    out = run_cli("method=no_such_method", f"run_dir={tmp_path / 'r'}", cwd=tmp_path)
    assert out.returncode != 0
    assert "no_such_method" in out.stderr


def _family_once_a_method_has_a_child(pid: int, seconds: float = 120.0) -> list[int]:
    """Every descendant of `pid` as soon as one of them is the `sleep` a spawner method starts."""
    import time

    import psutil

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        family = []
        for p in psutil.Process(pid).children(recursive=True):
            try:
                family.append((p.pid, " ".join(p.cmdline())))
            except psutil.NoSuchProcess:
                pass
        if any(cmd.startswith("sleep") for _, cmd in family):
            return [p for p, _ in family]
        time.sleep(0.25)
    raise AssertionError("no method started its child process")


def _gone(pids, seconds: float = 20.0) -> list[int]:
    """The pids of `pids` still alive after waiting up to `seconds` (zombies count as gone)."""
    import time

    import psutil

    deadline = time.monotonic() + seconds
    while True:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.5)


@pytest.mark.parametrize("launcher", ["basic", "joblib", "cells"])
def test_sigterm_stops_the_sweep_and_every_worker(tmp_path, plugin_args, launcher):
    """kill (SIGTERM) on the launching process ends the sweep with a message and status 130, leaves no
    launcher process, cell worker or process a method started, and files no error for the cells the stop
    ended."""
    import signal
    import subprocess

    from conftest import BIN

    run = tmp_path / "r"
    proc = subprocess.Popen([str(BIN / "colosseum"), "-m", "method=spawner", "dataset=saddle", "seed=0,1",
                             f"hydra/launcher={launcher}", f"run_dir={run}", *plugin_args],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    family = _family_once_a_method_has_a_child(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    left = _gone(family)
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"processes of the killed sweep still running 20 s later: {left}"
    statuses = [pq.read_table(f, columns=["status"]).column("status")[0].as_py()
                for f in (run / "cells").glob("*.parquet")]
    assert "error" not in statuses, statuses


def test_kill_9_of_the_launching_process_ends_its_workers_and_their_children(tmp_path, plugin_args):
    import signal
    import subprocess

    from conftest import BIN

    proc = subprocess.Popen([str(BIN / "colosseum"), "method=spawner", "dataset=saddle", f"run_dir={tmp_path / 'r'}",
                             *plugin_args], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    family = _family_once_a_method_has_a_child(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    left = _gone(family)
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert family and not left, f"left running after kill -9 of the sweep: {left}"
