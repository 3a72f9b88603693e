"""Faults and bad input, each injected: nothing lost, nothing unreadable, nothing hidden."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import BIN, PLUGINS, run_cli

from colosseum import compare, report, results, scoring, settings, store
from colosseum.params import ParamError

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


# ----------------------------------------------------------------------------- files

def test_corrupt_cell_files_are_skipped_checked_fixed_and_recomputed(tmp_path):
    run = tmp_path / "r"
    sweep = ["-m", "dataset=saddle", "method=oracle,constant,random_sign", f"run_dir={run}", "isolation=inline"]
    assert run_cli(*sweep, cwd=tmp_path).returncode == 0
    files = store.cell_files(run)
    files[0].write_bytes(files[0].read_bytes()[:200])       # truncated
    files[1].write_bytes(b"this is not a parquet file")      # garbage
    (run / "cells" / ".abc.123.deadbe.tmp").write_bytes(b"half")
    with pytest.warns(UserWarning, match=f"skipped 2 corrupt cell file.*{files[0].name}"):
        df = results.load(run)
    assert df["cell_id"].nunique() == 1 and len(df.attrs["missing_cells"]) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert results.scores(run)["cell_id"].nunique() == 1
        assert compare.compare(run, run, n_boot=10)["n_cells"].max() == 1
        assert report.build(run, n_boot=10)["html"].exists()

    check = run_cli(str(run), cwd=tmp_path, script="colosseum-check")
    assert check.returncode == 1
    assert "corrupt" in check.stdout and files[0].name in check.stdout and files[1].name in check.stdout
    assert ".abc.123.deadbe.tmp" in check.stdout and "NOT complete and clean" in check.stdout
    fixed = run_cli(str(run), "--fix", cwd=tmp_path, script="colosseum-check")
    assert fixed.returncode == 1 and "2 missing" in fixed.stdout  # moved aside: now missing, not corrupt
    assert {p.name for p in (run / "corrupt").iterdir()} == {files[0].name, files[1].name, "abc.123.deadbe.tmp"}

    again = run_cli(*sweep, cwd=tmp_path)
    assert again.returncode == 0 and "2 ok, 1 already done" in again.stderr
    assert run_cli(str(run), cwd=tmp_path, script="colosseum-check").returncode == 0


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    """Disk full: the write raises, and neither a cell file nor a temporary file is left behind."""
    import errno

    import pyarrow as pa
    import pyarrow.parquet as pq

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    with pytest.raises(OSError, match="No space"):
        store.write_cell(tmp_path, "abc", pa.table({"cell_id": ["abc"]}))
    assert list((tmp_path / "cells").iterdir()) == []


# ----------------------------------------------------------------------------- sweeps

def test_failed_cells_fail_the_sweep_whether_computed_now_or_found_on_disk(tmp_path, plugin_args):
    sweep = ["-m", "method=oracle,always_fails,string_diag,infinite", "dataset=saddle", f"run_dir={tmp_path / 'r'}",
             *plugin_args]
    first = run_cli(*sweep, cwd=tmp_path)
    assert first.returncode == 1 and "2 error" in first.stderr
    df = results.load(tmp_path / "r").groupby("method").first()
    assert df.loc["string_diag", "status"] == "error" and "diagnostic 'note' holds" in df.loc["string_diag", "error"]
    assert df.loc["infinite", "status"] == "ok"
    again = run_cli(*sweep, cwd=tmp_path)
    assert again.returncode == 1, again.stderr
    assert "4 already done (2 of them failed)" in again.stderr and "2 cell(s) of this sweep failed" in again.stderr


def test_infinite_estimates_are_abstentions_everywhere():
    truth, est = np.array([1.0, -1.0, 2.0, -2.0]), np.array([np.inf, -np.inf, 1.0, -1.0])
    assert scoring.sign_accuracy(truth, est) == 0.5
    assert scoring.balanced_sign_accuracy(truth, est) == 0.5
    assert scoring.coverage(truth, est) == 0.5
    assert scoring.sign_accuracy(truth, np.full(4, np.inf)) == 0.0


def test_an_invalid_sweep_computes_nothing_and_lists_every_problem(tmp_path):
    run = tmp_path / "r"
    out = run_cli("-m", "dataset=saddle", "method=oracle,constant,no_such_method", "seed=0,abc", "+method.typo=1",
                  f"run_dir={run}", cwd=tmp_path)
    assert out.returncode == 2
    assert "no_such_method" in out.stderr and "'typo'" in out.stderr and "'abc'" in out.stderr
    assert "6 of 6 cell(s) of the sweep are invalid" in out.stderr and "nothing was computed" in out.stderr
    assert not (run / "cells").exists() and not (run / "manifests").exists()
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("override, words", [
    ("rerun=fail", "setting 'rerun' expects one of 'none', 'failed', 'all', got 'fail'"),
    ("timeout_s=abc", "setting 'timeout_s' expects a finite number in (0, 2592000], got 'abc'"),
    ("seed=100000000000000000000", "'seed' expects an integer in [0, 9223372036854775807]"),
    ("run_name=../../x", "setting 'run_name' expects a folder name"),
    ("+experiment=../../elsewhere", "a preset is a name inside the config tree"),
    ("timeout_s=1e300", "setting 'timeout_s' expects a finite number in (0, 2592000], got 1e+300"),
    ("memory_gb=1e12", "setting 'memory_gb' expects a finite number in [0.5, 65536] or null, got 1000000000000.0"),
    ("memory_gb=1e-12", "setting 'memory_gb' expects a finite number in [0.5, 65536] or null, got 1e-12"),
    ("hydra.job.chdir=true", "hydra.job.chdir=true moves every job into its log folder"),
    ("method.sign=2", "'sign' expects one of -1, 1, got 2"),
    ("dataset.nosuch=1", "invalid override: Could not override 'dataset.nosuch': Key 'nosuch' is not in struct"),
    ("method=sritharn", "invalid override: Could not find 'method/sritharn'; Available options in 'method': "),
    ("run_name=résultats", "invalid override 'run_name=résultats': not in Hydra's override grammar"),
])
def test_bad_settings_are_rejected_up_front_in_one_line(tmp_path, override, words):
    method = ["method=constant"] if override.startswith("method.") else []
    for multirun in ([], ["-m"]):
        out = run_cli(*multirun, "dataset=saddle", *method, override, cwd=tmp_path)
        assert out.returncode == 2, out.stderr
        assert words in out.stderr and "Traceback" not in out.stderr
        assert len([line for line in out.stderr.splitlines() if line.startswith("colosseum:")]) == 1, out.stderr
        assert not (tmp_path / "results").exists()


def test_settings_reject_a_path_as_run_name():
    with pytest.raises(ParamError, match="run_name"):
        settings.check_run_name("a/b")
    assert settings.check_run_name("battery-2.1_x") == "battery-2.1_x"


def test_a_failure_of_the_sweep_machinery_fails_the_command_loudly(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "manifests").write_text("a file where the manifests folder should be")
    out = run_cli("-m", "dataset=saddle", "method=oracle", f"run_dir={run}", cwd=tmp_path)
    assert out.returncode == 1
    assert "colosseum: FileExistsError" in out.stderr or "colosseum: NotADirectoryError" in out.stderr
    assert "UserWarning" not in out.stderr and "Traceback" not in out.stderr


# ----------------------------------------------------------------------------- workers

def test_memory_limits_end_the_cell_not_the_sweep(tmp_path, plugin_args):
    out = run_cli("-m", "method=hog,oracle", "dataset=saddle", "dataset.n_points=300,100000000", "memory_gb=0.75",
                  f"run_dir={tmp_path / 'r'}", *plugin_args, cwd=tmp_path, timeout=300)
    assert out.returncode == 1
    df = results.load(tmp_path / "r").groupby(["method", "dataset.n_points"]).first()
    assert df.loc[("oracle", 300), "status"] == "ok"
    for cell in [("hog", 300), ("hog", 100000000), ("oracle", 100000000)]:
        assert df.loc[cell, "status"] == "error" and df.loc[cell, "error_type"] == "MemoryError", cell
        assert "out of memory" in df.loc[cell, "error"] and "memory_gb=0.75" in df.loc[cell, "error"]


def test_a_timeout_ends_the_cells_whole_process_group(tmp_path, plugin_args):
    pid_file = tmp_path / "child.pid"
    out = run_cli("method=spawner", f"method.pid_file={pid_file}", "dataset=saddle", "timeout_s=6",
                  f"run_dir={tmp_path / 'r'}", *plugin_args, cwd=tmp_path, timeout=120)
    assert out.returncode == 1
    cell = results.load(tmp_path / "r").iloc[0]
    assert cell["status"] == "timeout"
    assert 5.0 < cell["runtime_s"] < 30.0, "the seconds a timed-out cell burned count in the CPU table"
    child = int(pid_file.read_text())
    for _ in range(20):
        if not _alive(child):
            break
        time.sleep(0.25)
    assert not _alive(child), "the method's child process outlived the cell"


def test_a_grandchild_in_a_session_of_its_own_dies_with_the_cell(tmp_path, plugin_args):
    pid_file = tmp_path / "child.pid"
    out = run_cli("method=spawner", f"method.pid_file={pid_file}", "method.setsid=true", "dataset=saddle",
                  "timeout_s=6", f"run_dir={tmp_path / 'r'}", *plugin_args, cwd=tmp_path, timeout=120)
    assert out.returncode == 1
    child = int(pid_file.read_text())
    for _ in range(20):
        if not _alive(child):
            break
        time.sleep(0.25)
    assert not _alive(child), "a child that left the worker's process group (setsid) outlived the cell"


def test_the_launcher_keeps_a_bounded_tail_of_what_a_worker_prints(isolated_registry):
    """300 MB on stderr without a newline: the launching process holds at most STDERR_BYTES of it."""
    import threading

    import psutil

    from colosseum import isolation, registry
    from colosseum.cells import CellSpec

    registry.add_plugin_dirs([PLUGINS])
    spec = CellSpec.create("saddle", {"n_points": 100}, "chatty", {"megabytes": 300, "newlines": False}, 0)
    worker = isolation.CellWorker([str(PLUGINS)])
    me, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.01)

    try:
        worker.run(CellSpec.create("saddle", {"n_points": 100}, "oracle", {}, 0), 120)  # started, JAX loaded
        base = me.memory_info().rss
        watcher = threading.Thread(target=sample)
        watcher.start()
        payload = worker.run(spec, 120)
        done.set()
        watcher.join()
    finally:
        worker.close()
    assert payload["status"] == "ok"
    assert peak[0] - base < 50 * 2**20, f"the launcher grew by {(peak[0] - base) / 2**20:.0f} MB"
    assert len(worker.stderr_tail()) <= isolation.STDERR_BYTES


def test_a_dead_worker_is_named_with_its_signal_and_last_words(tmp_path, plugin_args):
    out = run_cli("-m", "method=crasher", "method.how=segv,kill,exit", "dataset=saddle", f"run_dir={tmp_path / 'r'}",
                  *plugin_args, cwd=tmp_path, timeout=200)
    assert out.returncode == 1
    df = results.load(tmp_path / "r").groupby("method.how").first()
    assert "killed by SIGSEGV" in df.loc["segv", "error"] and "crasher: about to segv" in df.loc["segv", "traceback"]
    assert "killed by SIGKILL" in df.loc["kill", "error"] and "crasher: about to kill" in df.loc["kill", "traceback"]
    assert df.loc["exit", "error"] == "the method called sys.exit(3)"
    assert (df["status"] == "error").all() and df["true_curvature"].notna().all()


def test_a_method_that_prints_megabytes_is_fine(tmp_path, plugin_args):
    out = run_cli("method=chatty", "dataset=saddle", f"run_dir={tmp_path / 'r'}", *plugin_args, cwd=tmp_path,
                  timeout=200)
    assert out.returncode == 0
    assert set(results.load(tmp_path / "r")["status"]) == {"ok"}


# ----------------------------------------------------------------------------- kills and concurrency

SWEEP = ["-m", "dataset=sphere_cap,saddle", "method=random_sign,constant,oracle", "seed=0,1"]


def _table(run) -> pd.DataFrame:
    df = results.load(run)
    return df.sort_values(["cell_key", "point"])[["cell_key", "point", "estimate", "true_curvature", "status"]] \
        .reset_index(drop=True)


def test_kill_9_mid_sweep_then_rerun_gives_exactly_a_clean_runs_table(tmp_path, plugin_args):
    clean = tmp_path / "clean"
    run = tmp_path / "killed"
    proc = subprocess.Popen([str(BIN / "colosseum"), *SWEEP, f"run_dir={run}", "dataset.n_points=3000"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(store.cell_files(run)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert 0 < len(store.cell_files(run)) < 12
    resumed = run_cli(*SWEEP, f"run_dir={run}", "dataset.n_points=3000", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert run_cli(str(run), cwd=tmp_path, script="colosseum-check").returncode == 0
    again = run_cli(*SWEEP, f"run_dir={clean}", "dataset.n_points=3000", cwd=tmp_path)
    assert again.returncode == 0
    a, b = _table(run), _table(clean)
    pd.testing.assert_frame_equal(a, b)


def test_two_overlapping_concurrent_sweeps_write_no_duplicate_or_torn_rows(tmp_path):
    run = tmp_path / "r"
    one = subprocess.Popen([str(BIN / "colosseum"), *SWEEP, f"run_dir={run}"], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    two = subprocess.Popen([str(BIN / "colosseum"), "-m", "dataset=saddle", "method=random_sign,constant,oracle",
                            "seed=1,2", f"run_dir={run}"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    assert one.wait(300) == 0 and two.wait(300) == 0, (one.stderr.read(), two.stderr.read())
    df = results.load(run)
    assert df["cell_id"].nunique() == 15  # 12 + 6, of which saddle x seed 1 (3 cells) overlap
    assert not df.duplicated(["cell_id", "point"]).any()
    assert (df.groupby("cell_id")["point"].nunique() == df.groupby("cell_id").size()).all()
    assert run_cli(str(run), cwd=tmp_path, script="colosseum-check").returncode == 0


def test_a_stopped_sweep_files_no_error_for_the_cells_it_ended(tmp_path):
    """Ctrl-C or SIGTERM while the cells launcher runs ends the workers from the main thread; a cell thread
    then sees its worker die. That death is the stop's doing: the cell is left unfiled, so the same command
    computes it. On main it was filed as "the worker process died: killed by SIGKILL" (seen in a recorded
    battery stopped with kill) and every later run called it done."""
    from colosseum import runner, store
    from colosseum.cells import CellSpec
    from colosseum.isolation import CellWorker
    from colosseum.settings import Settings

    class EndedByTheStop(CellWorker):
        def __init__(self) -> None:
            super().__init__([])

        def run(self, spec, timeout_s):
            return self._died({})  # what run() returns when another thread killed this worker

    spec = CellSpec.create("saddle", {"n_points": 100}, "oracle", {}, 0)
    opts = Settings(run_dir=tmp_path / "r")
    runner.STOPPING.set()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run_spec(spec, opts, EndedByTheStop())
    finally:
        runner.STOPPING.clear()
    assert store.cell_outcome(opts.run_dir, spec.cell_id) is None
    runner.run_spec(spec, opts, EndedByTheStop())  # not stopping: a worker that dies is this cell's error
    assert store.cell_outcome(opts.run_dir, spec.cell_id)[0] == "error"
